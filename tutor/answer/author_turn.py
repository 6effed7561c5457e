"""The model-authored answer (`TUTOR_ANSWER=author`): the model writes from the passages, then every citation is checked.

For a strong model (`TUTOR_LLM=openai`, a bigger `.gguf`); with the packaged 1.5B model evidence first
(tutor/answer/evidence_turn.py) is the default. Under a first-token deadline the passages sent are cut to what the
model reads in time at its measured speed (tutor/backends/latency.py).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Iterator

from core.language import zh_or_en
from core.types import Answer, Step, Turn
from tutor.answer.checker import AnswerChecker, note, term_note
from tutor.answer.compress import compress
from tutor.answer.refusal import declined
from tutor.answer.replies import reply
from tutor.backends.latency import Budget, latency_budget
from tutor.backends.model_queue import QueueFull, busy_text, waiting_text
from tutor.backends.prompt import HISTORY_TOKENS, fit_budget, overhead_tokens

# The fewest passage tokens sent under a first-token deadline: about two sentences. Below this an
# answer has too little to stand on, and a late answer beats an empty one.
MIN_CONTEXT_TOKENS = 80


def authored_answer(tutor, question: str, turn: Turn, mode: str, started: float, prefix: str = "") -> Iterator[Step]:
    """The token and answer steps of the model's answer to a turn, its citations verified (the sources step is the caller's)."""
    try:  # a model writes in line with other learners' turns (the extractive backend needs no place)
        ticket = tutor.queue.ticket() if tutor.generator.can_translate else None
    except QueueFull:
        yield from reply(question, prefix + busy_text(tutor.queue.waiting, zh_or_en(question)).strip("_()（）"), (),
                         turn.hits, mode, started, model="busy")
        return
    with ticket or nullcontext():
        for place in ticket.wait() if ticket else ():
            yield Step("status", text=waiting_text(place, zh_or_en(question)))
        slot = time.perf_counter()
        generator = tutor.generator
        notes: tuple[str, ...] = ()
        shown = turn.hits
        budget = generator.max_prompt_tokens
        if budget:
            deadline = _deadline(tutor, generator, turn, slot)  # (the wait in line is no reading time)
            # Prompt tokens are the CPU's bottleneck: passages are cut to their best sentences.
            turn = compress(turn, tutor.judge, tutor.settings.passage_tokens, deadline.passages if deadline else 0)
            # Trimmed here, not silently inside the generator, so the learner is told.
            turn, trimmed = fit_budget(turn, budget, **({"history_tokens": deadline.history} if deadline else {}))
            rushed = deadline is not None and deadline.history < HISTORY_TOKENS
            notes = trimmed.notes(f"to start answering within {tutor.settings.ttft_target:g} s (TUTOR_TTFT_TARGET)"
                                  if rushed and trimmed.history_dropped else "to fit the model's context")
        parts: list[str] = []
        ttft = 0.0
        if prefix:
            yield Step("token", text=prefix)
        for delta in generator.stream(turn):
            if not parts:
                ttft = (time.perf_counter() - started) * 1000
            parts.append(delta)
            yield Step("token", text=delta)
        text = generator.tidy(turn, "".join(parts))  # e.g. sentences a grammar's length cap cut mid-phrase
        checked = AnswerChecker(tutor.settings, tutor.judge, generator)(text, turn, shown)
        text, citations = checked.text, checked.citations
        notes += tuple(n for n in (note(checked, question), term_note(question, text)) if n)
        total = (time.perf_counter() - started) * 1000
        refused = declined(text, bool(citations))  # the model itself may find the passages don't answer it
        yield Step("answer", answer=Answer(question, prefix + text, tuple(citations), shown, refused=refused,
                                           mode=mode, ttft_ms=ttft or total, total_ms=total,
                                           model=generator.model_id, notes=notes, checked=checked.how))


def _deadline(tutor, generator, turn: Turn, started: float) -> Budget | None:
    """The passage and history budget that meets `ttft_target` at the model's measured speed, if it has a meter."""
    meter = generator.meter
    if meter is None or tutor.settings.ttft_target <= 0:
        return None
    if not meter.measured:
        generator.warm_up()  # reads the system prompt, which this question would read anyway, and times it
    return latency_budget(tutor.settings.ttft_target, time.perf_counter() - started, meter.tokens_per_s,
                          overhead_tokens(turn), floor_tokens=MIN_CONTEXT_TOKENS,
                          passage_cap=tutor.settings.context_k * tutor.settings.passage_tokens
                          if tutor.settings.passage_tokens > 0 else generator.max_prompt_tokens,
                          history_tokens=HISTORY_TOKENS)
