"""The tutor: retrieve -> decide whether the sources cover it -> generate -> verify citations.

`Tutor.stream` yields the sources first (so a UI can show them before the
first token), then text deltas, then the verified `Answer`. Everything heavy
(index, embedder, model) is loaded on first use and kept.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Iterator, Sequence

from tutor.cite import SupportScorer, verify
from tutor.config import Settings
from tutor.errors import ConfigError
from tutor.prompt import LEVELS, MODES  # one list of modes and levels, kept with their instructions
from tutor.retrieve import Retrieval, Retriever
from tutor.types import Answer, Hit, Message, Step, Turn

log = logging.getLogger(__name__)

_CJK = re.compile(r"[\u3400-\u9fff]")


def is_chinese(text: str) -> bool:
    return len(_CJK.findall(text)) >= max(2, 0.2 * len(re.sub(r"\s", "", text)))


_DECLINED = re.compile(
    r"(sources?|context|passages?)\b[^.]{0,40}\b(do(es)?n[o']t|do(es)? not|never)\b[^.]{0,30}\b(cover|contain|mention|say|include|address)"
    r"|not (covered|mentioned|addressed) (in|by) the (sources?|context|passages?)"
    r"|(资料|来源|材料|文档|上下文)[^。]{0,12}(没有|未|并未|不)(涵盖|涉及|提到|包含|提及|说明)",
    re.IGNORECASE,
)


def declined(text: str, cited: bool) -> bool:
    """Whether a generated answer says the sources don't cover the question (and cites nothing)."""
    return not cited and bool(_DECLINED.search(text))


def refusal_text(question: str, hits: Sequence[Hit]) -> str:
    """Say the sources don't cover the question, and point at the nearest handbook sections."""
    places = []
    for hit in hits:
        where = " / ".join(p for p in (hit.chunk.part, hit.chunk.section) if p) or hit.chunk.title
        entry = f"{where} ({hit.chunk.title}: {hit.chunk.doc_url})"
        if entry not in places:
            places.append(entry)
    if is_chinese(question):
        head = "抱歉，我的资料（《生成式 AI 手册》及其链接的学习资源）没有涵盖这个问题，所以我不回答，以免编造。"
        tail = "最接近的手册章节：" if places else ""
    else:
        head = ("The sources I teach from (the Generative AI Handbook and its linked resources) don't cover this question, "
                "so I won't guess.")
        tail = "The nearest handbook sections are:" if places else ""
    lines = [head] + ([tail] + [f"- {p}" for p in places[:3]] if places else [])
    return "\n".join(lines)


class Tutor:
    """Answers questions from the indexed sources.

    Args:
        settings: the configuration.
        index, embedders, judge, generator, retriever: optional prebuilt parts (tests,
            evals, a shared UI);
            anything not given is built from settings on first use.
    """

    def __init__(self, settings: Settings, *, index=None, embedders=None, judge=None, generator=None,
                 retriever=None) -> None:
        self.settings = settings
        if embedders is not None and not isinstance(embedders, (list, tuple)):
            embedders = [embedders]
        self._index, self._embedders, self._judge = index, embedders, judge
        self._generator, self._retriever = generator, retriever
        self._lock = threading.RLock()  # properties call each other

    @property
    def embedders(self) -> list:
        """The index's embedders, one per dense leg."""
        with self._lock:
            if self._embedders is None:
                from index.embed import make_embedders

                self._embedders = make_embedders(self.settings.embedder)
            return self._embedders

    @property
    def judge(self):
        """The (multilingual) embedder that gates relevance and checks citations."""
        with self._lock:
            if self._judge is None:
                from index.embed import make_embedder

                by_id = {e.model_id: e for e in self.embedders}
                judge = make_embedder(self.settings.judge_embedder)
                self._judge = by_id.get(judge.model_id, judge)  # share a leg's model when it is one
            return self._judge

    @property
    def index(self):
        with self._lock:
            if self._index is None:
                from index.search import Index

                self._index = Index.load(self.settings.index_dir, [e.model_id for e in self.embedders])
            return self._index

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                self._retriever = Retriever(self.index, self.embedders, candidates=self.settings.candidates,
                                            judge=self.judge)
            return self._retriever

    @property
    def generator(self):
        with self._lock:
            if self._generator is None:
                from tutor.generate import make_generator

                self._generator = make_generator(self.settings)
            return self._generator

    def retrieve(self, question: str, history: Sequence[Message] = (), k: int | None = None,
                 part: str | None = None) -> Retrieval:
        """Retrieve passages for a question, using the previous question for short follow-ups.

        Args:
            part: keep only passages from this handbook part (as in `Tutor.parts()`).
        """
        query = question
        previous = [m.content for m in history if m.role == "user"]
        if previous and len(question.split()) < 8 and len(question) < 40:
            query = f"{previous[-1]} {question}"  # "and how is it trained?" needs its subject
        where = (lambda c: c.part == part) if part else None
        return self.retriever.retrieve(query, k or self.settings.context_k, where)

    def parts(self) -> list[str]:
        """The handbook parts that have indexed passages, in handbook order."""
        from ingest.sources import load_sources

        present = {d.part for d in self.index.documents() if d.part}
        order = list(dict.fromkeys(s.part for s in load_sources() if s.part))
        return [p for p in order if p in present] + sorted(present - set(order))

    def covers(self, retrieval: Retrieval) -> bool:
        """Whether the best passages are relevant enough to answer from."""
        if not retrieval.hits:
            return False
        return (retrieval.relevance >= self.settings.min_relevance
                or retrieval.keyword_coverage >= self.settings.min_keyword_coverage)

    def stream(self, question: str, history: Sequence[Message] = (), mode: str = "explain",
               level: str = "beginner", part: str | None = None) -> Iterator[Step]:
        """Answer a question, yielding sources, then text deltas, then the verified Answer.

        Raises:
            ConfigError: an unknown mode or level.
            IndexMissing, IndexMismatch, ModelMissing, BackendUnavailable: see their messages.
        """
        if mode not in MODES:
            raise ConfigError(f"mode {mode!r} is not available yet; use one of: {', '.join(MODES)}")
        if level not in LEVELS:
            raise ConfigError(f"level {level!r} is not one of: {', '.join(LEVELS)}")
        question = question.strip()
        if not question:
            raise ConfigError("the question is empty: type a question about generative AI")
        started = time.perf_counter()
        retrieval = self.retrieve(question, history, part=part)
        hits = tuple(retrieval.hits)
        yield Step("sources", hits=hits)
        if not self.covers(retrieval):
            text = refusal_text(question, hits)
            yield Step("token", text=text)
            elapsed = (time.perf_counter() - started) * 1000
            yield Step("answer", answer=Answer(question, text, (), hits, refused=True, mode=mode,
                                               ttft_ms=elapsed, total_ms=elapsed, model="refusal"))
            return
        generator = self.generator
        turn = Turn(question, hits, tuple(history), mode=mode, level=level)
        parts: list[str] = []
        ttft = 0.0
        for delta in generator.stream(turn):
            if not parts:
                ttft = (time.perf_counter() - started) * 1000
            parts.append(delta)
            yield Step("token", text=delta)
        text, citations = verify("".join(parts), hits, SupportScorer(self.judge), self.settings.support_threshold)
        total = (time.perf_counter() - started) * 1000
        refused = declined(text, bool(citations))  # the model itself may find the passages don't answer it
        yield Step("answer", answer=Answer(question, text, tuple(citations), hits, refused=refused, mode=mode,
                                           ttft_ms=ttft or total, total_ms=total, model=generator.model_id))

    def ask(self, question: str, history: Sequence[Message] = (), mode: str = "explain",
            level: str = "beginner", part: str | None = None) -> Answer:
        """Answer a question without streaming."""
        answer = None
        for step in self.stream(question, history, mode, level, part):
            if step.kind == "answer":
                answer = step.answer
        assert answer is not None  # stream always ends with an answer step
        return answer
