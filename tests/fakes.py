"""A scripted stand-in for `tutor.pipeline.Tutor`, for UI tests.

`ScriptedTutor.stream` follows the real contract: one `sources` step, then
`token` deltas, then one `answer` whose text may differ from the tokens (as
after the citation verifier). Like the real tutor it raises `ConfigError` for
an unknown mode or level or an empty question, keeps only the passages of the
requested handbook `part` (declining when none is left), and lists its parts
with `parts()`. It raises `error` (after the sources) if one is given.
"""

from __future__ import annotations

import threading
import time
from typing import Iterator, Sequence

from core.errors import ConfigError, TutorError
from core.types import Answer, Chunk, Citation, Hit, Message, Step

try:  # the real tutor's modes (name -> label), so the fake accepts exactly what it accepts
    from tutor.pipeline import MODES
except ImportError:
    MODES = {"explain": "Explain", "socratic": "Socratic", "quiz": "Quiz", "path": "Learning path"}
LEVELS = ("beginner", "practitioner")
DECLINE = "The sources I teach from don't cover this question, so I won't guess."

LORA_URL = "https://arxiv.org/abs/2106.09685"
LORA_QUOTE = "We propose Low-Rank Adaptation, or LoRA, which freezes the pre-trained model weights"
ADAPTER_URL = "https://example.org/adapters"
ADAPTER_QUOTE = "Adapters add a few parameters & train only those, cutting memory."


def make_hit(rank: int, url: str, title: str, text: str, part: str = "", section: str = "") -> Hit:
    """A retrieved passage with a plausible chunk."""
    chunk = Chunk(doc_url=url, title=title, heading=title, text=text, start=0, end=len(text), part=part, section=section)
    return Hit(chunk=chunk, score=1.0 / rank, rank=rank)


def one_hit(text: str, heading: str = "", url: str = "https://example.org/page") -> list[Hit]:
    """One retrieved passage of one page, for evidence tests."""
    return [Hit(Chunk(url, "Page", heading, text, 0, len(text)), 1.0, 1)]


def lora_script() -> tuple[tuple[Hit, ...], tuple[str, ...], str, tuple[Citation, ...]]:
    """The default script: hits, streamed tokens, final text and citations for a LoRA question."""
    hits = (
        make_hit(1, LORA_URL, "LoRA: Low-Rank Adaptation of Large Language Models", LORA_QUOTE + ". It injects trainable rank decomposition matrices.", "Part III", "Fine-tuning"),
        make_hit(2, ADAPTER_URL, "Parameter-efficient fine-tuning", ADAPTER_QUOTE, "Part III", "Fine-tuning"),
    )
    tokens = ("LoRA freezes ", "the model's weights ", "[1] and trains ", "small matrices [2] [3].")
    # The verifier drops the out-of-range [3]; [2] stays but is not supported.
    text = "LoRA freezes the model's weights [1] and trains small low-rank matrices [2]."
    citations = (
        Citation(1, hits[0].chunk.id, LORA_URL, hits[0].chunk.title, LORA_QUOTE, True),
        Citation(2, hits[1].chunk.id, ADAPTER_URL, hits[1].chunk.title, ADAPTER_QUOTE, False),
    )
    return hits, tokens, text, citations


class ScriptedTutor:
    """Replays a scripted answer through `stream` and `ask`, recording each call.

    Args:
        hits, tokens, text, citations: the script; defaults to `lora_script()`.
        error: raised from `stream` after the sources step, if given.
        delay: seconds to wait before each token, so streaming is observable.
        gate: if given, the answer's first token waits (up to 60 s) until it is set, so a test
            can look at the "sources shown, no answer yet" state without racing a timer.
    """

    modes = tuple(MODES)

    def __init__(
        self,
        hits: Sequence[Hit] | None = None,
        tokens: Sequence[str] | None = None,
        text: str | None = None,
        citations: Sequence[Citation] | None = None,
        *,
        error: Exception | None = None,
        delay: float = 0.0,
        gate: threading.Event | None = None,
    ) -> None:
        d_hits, d_tokens, d_text, d_citations = lora_script()
        self.hits = tuple(d_hits if hits is None else hits)
        self.tokens = tuple(d_tokens if tokens is None else tokens)
        self.text = d_text if text is None else text
        self.citations = tuple(d_citations if citations is None else citations)
        self.error = error
        self.delay = delay
        self.gate = gate
        self.calls: list[tuple[str, tuple[Message, ...], str, str, str | None]] = []

    def parts(self) -> list[str]:
        """The handbook parts of the scripted passages, in order of first appearance."""
        return list(dict.fromkeys(h.chunk.part for h in self.hits if h.chunk.part))

    def stream(self, question: str, history: Sequence[Message] = (), mode: str = "explain", level: str = "beginner",
               part: str | None = None) -> Iterator[Step]:
        """Yield the scripted sources, tokens and answer (or a refusal when `part` leaves no passage)."""
        self.calls.append((question, tuple(history), mode, level, part))
        if mode not in self.modes:
            raise ConfigError(f"mode {mode!r} is not one of: {', '.join(self.modes)}")
        if level not in LEVELS:
            raise ConfigError(f"level {level!r} is not one of: {', '.join(LEVELS)}")
        if not question.strip():
            raise ConfigError("the question is empty: type a question about generative AI")
        hits = tuple(h for h in self.hits if not part or h.chunk.part == part)
        yield Step(kind="sources", hits=hits)
        if self.error is not None:
            raise self.error
        if not hits:
            yield Step(kind="token", text=DECLINE)
            yield Step(kind="answer", answer=Answer(question, DECLINE, (), hits, refused=True, mode=mode, model="refusal"))
            return
        if self.gate is not None:
            self.gate.wait(timeout=60)
        for token in self.tokens:
            time.sleep(self.delay)
            yield Step(kind="token", text=token)
        answer = Answer(question=question, text=self.text, citations=self.citations, hits=hits, mode=mode, model="scripted")
        yield Step(kind="answer", answer=answer)

    def ask(self, question: str, history: Sequence[Message] = (), mode: str = "explain", level: str = "beginner",
            part: str | None = None) -> Answer:
        """Return the final answer of `stream`."""
        for step in self.stream(question, history, mode, level, part):
            if step.answer is not None:
                return step.answer
        raise TutorError("the scripted stream ended without an answer")


class QuestionsOnly:
    """Wraps an embedder that must not encode a sentence (they were kept), only questions."""

    def __init__(self, model) -> None:
        self.model, self.embed_queries = model, model.embed_queries

    def embed_documents(self, texts):
        assert not list(texts), f"encoded {list(texts)[:2]} while the learner waits"
        return self.model.embed_documents([])
