"""The pipelines a config runs: the tutor's own, and the LangChain baseline, behind one interface.

`Builder.build(config)` returns an object with `retrieve`, `would_refuse`, `ask`, `warm_up`,
`chunk_text`, `doc_urls` and `describe`; the runner never needs to know which pipeline it has.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from core.config import Settings
from core.types import Answer, Hit, Message
from evals.baselines import EvalConfig, NaivePipeline
from index.embed import make_embedder
from tutor.pipeline import Tutor

# Mixed script on purpose: the first Chinese question loads jieba's dictionary (~1 s).
WARM_UP = "What is attention? 什么是注意力机制？"


def _chat(history: Sequence[str]) -> list[Message]:
    """A case's earlier questions as chat messages (the user's side; the answers are not replayed)."""
    return [Message("user", text) for text in history]


class TutorPipeline:
    """The tutor's own pipeline (`tutor.pipeline.Tutor`) as the runner sees it."""

    def __init__(self, tutor) -> None:
        self.tutor = tutor

    def retrieve(self, question: str, k: int, history: Sequence[str] = ()) -> tuple[list[Hit], dict]:
        retrieval = self.tutor.retrieve(question, _chat(history), k)  # the chat's path, follow-up rewrite included
        return retrieval.hits, {"relevance": round(retrieval.relevance, 4),
                                "keyword_coverage": round(retrieval.keyword_coverage, 4)}

    def would_refuse(self, question: str, history: Sequence[str] = ()) -> bool | None:
        """The tutor's refusal decision, taken as `Tutor.stream` takes it (on its context_k hits)."""
        return not self.tutor.covers(self.tutor.retrieve(question, _chat(history)), question)

    def ask(self, question: str, history: Sequence[str] = ()) -> Answer:
        return self.tutor.ask(question, _chat(history))

    def warm_up(self, answers: bool) -> None:
        """Load the index, models and (for answers) the generator, so no case pays for loading."""
        if answers:
            self.tutor.warm_up()  # also primes the model's cache and measures its prompt-reading speed
        else:
            self.tutor.retriever.retrieve(WARM_UP, 1)

    def chunk_text(self, chunk_id: str) -> str | None:
        chunk = self.tutor.retriever.index.chunk(chunk_id)
        return chunk.text if chunk else None

    def doc_urls(self) -> set[str]:
        return {c.doc_url for c in self.tutor.retriever.index.chunks}

    def describe(self) -> dict:
        index = self.tutor.retriever.index
        return {"index": str(index.build_dir), "chunks": len(index), "embedder": index.manifest.embedder}


class NaiveAdapter:
    """`evals.baselines.NaivePipeline` as the runner sees it (no refusal step, no quotes)."""

    def __init__(self, naive: NaivePipeline, build_dir: Path) -> None:
        self.naive = naive
        self.build_dir = build_dir

    # The stock tutorial pipeline has no memory: a follow-up is searched and answered as it is.
    def retrieve(self, question: str, k: int, history: Sequence[str] = ()) -> tuple[list[Hit], dict]:
        hits = self.naive.search(question, k)
        return hits, {"relevance": round(hits[0].score, 4) if hits else 0.0}

    def would_refuse(self, question: str, history: Sequence[str] = ()) -> bool | None:
        return None  # the plain prompt has no refusal step before generation

    def ask(self, question: str, history: Sequence[str] = ()) -> Answer:
        return self.naive.ask(question)

    def warm_up(self, answers: bool) -> None:
        """Build the vector store (minutes) and the generator before any case is timed."""
        self.naive.search(WARM_UP, 1)
        if answers and hasattr(self.naive.generator, "warm_up"):
            self.naive.generator.warm_up()

    def chunk_text(self, chunk_id: str) -> str | None:
        return None

    def doc_urls(self) -> set[str]:
        return {d.url for d in self.naive.documents}

    def describe(self) -> dict:
        return {"index": str(self.build_dir), "documents": len(self.naive.documents),
                "embedder": getattr(self.naive.embedder, "model_id", "?"), "build_seconds": self.naive.build_seconds}


@dataclass
class Builder:
    """Builds one pipeline per config; configs with the same index settings share one loaded index.

    Args:
        embedder: replaces every embedder (dense legs, the tutor's judge, the LangChain baseline's): tests.
        generator: replaces the generator of every config: tests.
        progress: show progress bars.
    """

    embedder: object = None
    generator: object = None
    progress: bool = True
    _retrievers: dict = field(default_factory=dict)

    def _fakes(self) -> dict:
        return {"embedders": self.embedder, "judge": self.embedder} if self.embedder is not None else {}

    def _retriever(self, settings: Settings):
        """The tutor's own hybrid retriever for these settings, built the way `Tutor` builds it."""
        key = (str(Path(settings.home).resolve()), settings.embedder, getattr(settings, "judge_embedder", ""),
               settings.candidates, settings.reranker, settings.rerank_candidates, settings.rerank_max_length)
        if key not in self._retrievers:
            self._retrievers[key] = Tutor(settings, **self._fakes()).retriever  # loads index and embedders
        return self._retrievers[key]

    def build(self, config: EvalConfig):
        settings = config.settings
        base = self._retriever(settings)
        if config.mode is None:
            lc_embedder = self.embedder or make_embedder("minilm")  # the tutorial's model, whatever TUTOR_EMBEDDER is
            naive = NaivePipeline(settings, base.index.documents(), lc_embedder, self.generator, self.progress)
            return NaiveAdapter(naive, base.index.build_dir)
        retriever = copy.copy(base)  # same index and models, only the legs used differ
        retriever.mode = config.mode
        parts = {"judge": self.embedder} if self.embedder is not None else {}
        return TutorPipeline(Tutor(settings, index=base.index, retriever=retriever, generator=self.generator, **parts))
