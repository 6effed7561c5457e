"""`tutor ask --interactive`: a terminal conversation that keeps the chat state modes need."""

from __future__ import annotations

import io

from tutor.cli import _print_answer
from tutor.backends.extractive import ExtractiveGenerator
from tutor.pipeline import Tutor
from tutor.repl import converse


def run(settings, built_index, embedder, lines: list[str]) -> tuple[int, str]:
    tutor = Tutor(settings, index=built_index, embedders=embedder, judge=embedder, generator=ExtractiveGenerator())
    out = io.StringIO()
    count = converse(tutor, io.StringIO("\n".join(lines) + "\n"), out, _print_answer)
    return count, out.getvalue()


def test_hints_climb_and_quiz_replies_are_graded(settings, built_index, embedder):
    count, out = run(settings, built_index, embedder, [
        "/mode socratic", "What does LoRA freeze and train?", "hint",
        "/mode quiz", "quiz me on LoRA", "bananas", "/quit", "never read"])
    assert count == 4
    assert out.index("Hint 1 of 3") < out.index("Hint 2 of 3") < out.index("Quiz question") < out.index("Not quite")
    assert "Sources:" in out and "https://example.org/lora" in out


def test_bad_command_shows_help_and_errors_do_not_end_the_chat(settings, built_index, embedder):
    count, out = run(settings, built_index, embedder, ["/mode dance", "   ", "/level expert", "What does LoRA freeze?"])
    assert out.count("Commands: /mode") == 3  # the banner, then once per bad command
    assert count == 1 and "first token" in out


def test_clear_forgets_the_conversation(settings, built_index, embedder):
    _, out = run(settings, built_index, embedder, ["/mode socratic", "What does LoRA freeze and train?", "/clear", "hint"])
    assert "(chat cleared)" in out and "Hint 2 of 3" not in out  # "hint" with no question starts over
