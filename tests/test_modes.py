"""Tutoring modes through the real pipeline: Socratic hints, quiz, learning path; and context notes."""

from __future__ import annotations

import re

import pytest

from core.types import Message
from tests.fake_backends import ScriptedGenerator
from tests.fakes import make_hit
from tutor.backends.extractive import ExtractiveGenerator
from tutor.teach.modes import is_more_request, ladder
from tutor.teach.outline import HANDBOOK_URL, load_outline, locate
from tutor.pipeline import MODES, Tutor
from tutor.citations.quotable import clean

LORA_PART, LORA_SECTION = "第四部分：LLM 的微调方法", "低秩适配器（LoRA）"


def make(settings, built_index, embedder, generator=None):
    return Tutor(settings, index=built_index, embedders=embedder, judge=embedder,
                 generator=generator or ScriptedGenerator("LoRA freezes the pretrained weights [1]."))


def reply(answer) -> Message:
    """The assistant message a chat UI keeps for an answer."""
    return Message("assistant", answer.text, tuple(c.chunk_id for c in answer.citations), answer.mode)


def test_modes_are_the_four_tutoring_modes():
    assert list(MODES) == ["explain", "socratic", "quiz", "path"]


@pytest.mark.parametrize("text,more", [
    ("hint", True), ("Another hint please", True), ("I don't know", True), ("show me the answer", True),
    ("再给我一个提示", True), ("继续", True),
    ("What does LoRA freeze?", False), ("How do I know which rank to pick for LoRA adapters?", False),
])
def test_more_requests(text, more):
    assert is_more_request(text) is more


def test_ladder_climbs_for_the_latest_question_and_restarts_on_a_new_one():
    q = "What does LoRA freeze?"
    h1 = [Message("user", q), Message("assistant", "Hint 1", ("a",), "socratic")]
    assert ladder("hint", h1) == (q, 1)
    h2 = h1 + [Message("user", "hint"), Message("assistant", "Hint 2", ("a",), "socratic")]
    assert ladder("more", h2) == (q, 2)
    assert ladder("What is attention?", h2) == ("What is attention?", 0)
    explain = [Message("user", q), Message("assistant", "An answer", ("a",), "explain")]
    assert ladder("hint", explain) == ("hint", 0)  # no Socratic question to climb


def test_socratic_ladder_where_then_quote_then_full_answer(settings, built_index, embedder):
    gen = ScriptedGenerator("LoRA freezes the pretrained weights [1].")
    tutor = make(settings, built_index, embedder, gen)
    q = "What does LoRA freeze and train?"
    first = tutor.ask(q, mode="socratic")
    assert first.text.startswith("**Hint 1 of 3") and "LoRA explained" in first.text and gen.turns == []
    quote = first.citations[0].quote
    assert quote in built_index.chunk(first.citations[0].chunk_id).text
    history = [Message("user", q), reply(first)]
    second = tutor.ask("hint", history, mode="socratic")
    assert second.text.startswith("**Hint 2 of 3") and gen.turns == []
    key = second.citations[0].quote
    assert "low-rank matrices" in key and f"“{clean(key)}” [1]" in second.text
    history += [Message("user", "hint"), reply(second)]
    third = tutor.ask("answer", history, mode="socratic")
    assert third.text.startswith("**Hint 3 of 3: the full answer.**") and "[1]" in third.text
    assert gen.turns[-1].question == q  # the full answer is to the question, not to "answer"
    assert gen.turns[-1].history == ()  # and the hints are not in its context


def test_socratic_hint_in_chinese(settings, built_index, embedder):
    answer = make(settings, built_index, embedder).ask("LoRA 训练时冻结了哪些 weights？", mode="socratic")
    assert answer.text.startswith("**提示 1/3")


def test_quiz_without_a_model_asks_a_cloze_and_grades_the_reply(settings, built_index, embedder):
    tutor = make(settings, built_index, embedder, ExtractiveGenerator())
    steps = list(tutor.stream("quiz me on LoRA", mode="quiz"))
    assert steps[0].kind == "sources" and len(steps[0].hits) == 1  # the passage the question comes from
    question = steps[-1].answer
    assert question.mode == "quiz" and question.model == "cloze" and "_____" in question.text
    passage = built_index.chunk(question.citations[0].chunk_id).text
    cited = question.citations[0].quote
    assert cited in passage
    cloze = question.text.split("): ", 1)[1].split("\n")[0]
    head, tail = cloze.split("_____")
    match = re.search(re.escape(head) + r"(\S+?)" + re.escape(tail), passage)
    assert match, "the cloze is a verbatim sentence of the passage with one term blanked"
    blank = match.group(1)
    assert cited != match.group(0)  # the citation does not give the answer away
    history = [Message("user", "quiz me on LoRA"), reply(question)]
    right = tutor.ask(f"It is {blank}", history, mode="quiz")
    assert right.mode == "quiz-feedback" and right.text.startswith("✅") and blank in right.text
    assert right.citations[0].quote in passage and right.citations[0].quote in right.text
    wrong = tutor.ask("no idea, bananas?", history, mode="quiz")
    assert wrong.text.startswith("❌")


def test_quiz_with_a_model_uses_its_question_and_moves_on_with_next(settings, built_index, embedder):
    gen = ScriptedGenerator("Which weights does LoRA keep unchanged?")
    tutor = make(settings, built_index, embedder, gen)
    first = tutor.ask("quiz me on LoRA", mode="quiz")
    assert "Which weights does LoRA keep unchanged?" in first.text and first.model == gen.model_id
    assert gen.turns[-1].mode == "quiz" and len(gen.turns[-1].hits) == 1
    history = [Message("user", "quiz me on LoRA"), reply(first)]
    graded = tutor.ask("The pretrained weights stay frozen; only low-rank matrices A and B train", history, mode="quiz")
    assert graded.text.startswith(("✅", "🟡")) and "You got:" in graded.text
    history += [Message("user", "The pretrained weights ..."), reply(graded), Message("user", "next")]
    nxt = tutor.ask("next", history[:-1], mode="quiz")
    assert nxt.mode == "quiz" and nxt.citations[0].chunk_id != first.citations[0].chunk_id


def test_quiz_question_that_quotes_its_answer_falls_back_to_a_cloze(settings, built_index, embedder):
    gen = ScriptedGenerator("LoRA freezes the pretrained weights and trains two small low-rank matrices A and B.")
    answer = make(settings, built_index, embedder, gen).ask("quiz me on LoRA", mode="quiz")
    assert answer.model == "cloze" and "_____" in answer.text


def test_learning_path_orders_sections_from_the_handbook():
    outline = load_outline()
    lora = next(s for s in outline if s.name == LORA_SECTION)
    hits = [make_hit(1, "https://example.org/x", "Some LoRA post", "LoRA trains low-rank adapters. It is cheap.",
                     LORA_PART, LORA_SECTION)]
    assert locate(hits, outline) == lora
    handbook = make_hit(1, HANDBOOK_URL, "The Generative AI Handbook", "Adapters are small.")
    handbook = type(handbook)(chunk=type(handbook.chunk)(**{**_fields(handbook.chunk),
                              "heading": "Section IV: Finetuning Methods for LLMs > Low-Rank Adapters (LoRA) > More"}),
                              score=1.0, rank=1)
    assert locate([handbook], outline) == lora  # the handbook page votes for the section it is under
    from tutor.teach.modes import learning_path

    text, citations = learning_path("What is LoRA?", hits, outline)
    i = outline.index(lora)
    assert "Low-Rank Adapters (LoRA)" in text.split("**Read first:**")[0]
    assert outline[i - 1].name_en in text.split("**Read first:**")[1].split("**Then read next:**")[0]
    assert outline[i + 1].name_en in text.split("**Then read next:**")[1]
    assert text.count("](https://") >= 5 and citations[0].quote == "LoRA trains low-rank adapters."
    zh, _ = learning_path("LoRA 是什么？", hits, outline, lang="zh")
    assert "先读" in zh and LORA_SECTION in zh


def test_learning_path_by_section_name_and_fallback(settings, built_index, embedder):
    outline = load_outline()
    flash = next(s for s in outline if s.name_en == "FlashAttention")
    from index.bm25 import tokenize

    assert locate([], outline, {t: 5.0 for t in tokenize("How does FlashAttention work?")}) == flash
    assert locate([], outline, topic="讲讲位置编码") == next(s for s in outline if s.name == "位置编码")
    # The test corpus is not in the handbook, but "LoRA" names a section.
    answer = make(settings, built_index, embedder).ask("What does LoRA freeze?", mode="path")
    assert answer.model == "outline" and "Low-Rank Adapters (LoRA)" in answer.text.split("\n")[2]
    assert answer.citations[0].url == "https://example.org/lora"


def test_learning_path_for_sources_outside_the_handbook_lists_them(settings, built_index, embedder):
    answer = make(settings, built_index, embedder).ask("Why does denoising begin from pure Gaussian noise?", mode="path")
    assert "not placed in a handbook section" in answer.text and "https://example.org/diffusion" in answer.text
    assert not answer.refused and answer.citations[0].url == "https://example.org/diffusion"


def test_trimmed_context_is_reported_in_the_answer(settings, built_index, embedder):
    from core.language import estimate_tokens
    from tutor.backends.prompt import SYSTEM_PROMPT

    class Budgeted(ScriptedGenerator):
        # A little short of what the prompt needs: the system prompt plus ~255 tokens of sources and question.
        max_prompt_tokens = estimate_tokens(SYSTEM_PROMPT) + 240

    answer = make(settings, built_index, embedder, Budgeted("LoRA freezes the pretrained weights [1].")).ask(
        "What does LoRA freeze?")
    assert any(note.startswith("Shortened sources") for note in answer.notes)


def _fields(chunk) -> dict:
    import dataclasses

    return {f.name: getattr(chunk, f.name) for f in dataclasses.fields(chunk)}
