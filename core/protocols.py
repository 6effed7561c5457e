"""The three swappable backends, as small structural protocols.

Implementations are picked by name (`index.embed.make_embedder`, `index.rerank.make_reranker`,
`tutor.generate.make_generator`); tests use fakes that satisfy the same protocols, and a contract
test (tests/test_contracts.py) runs both.
"""

from __future__ import annotations

from typing import Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from core.types import Hit, Turn


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors (cosine = dot product)."""

    model_id: str

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages; returns an array of shape (len(texts), dim)."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed questions; models with query prefixes (E5) differ from documents here."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Re-scores retrieved hits against the question.

    An implementation may set `multilingual = False` when it reads only English;
    the retriever then keeps the fused order for Chinese questions.
    """

    model_id: str

    def rerank(self, question: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """Return the best `k` hits, re-ranked, scores higher-is-better."""
        ...


@runtime_checkable
class Generator(Protocol):
    """Writes the answer text for a turn, streamed as text deltas.

    The text cites passages with `[n]` markers, 1-based into `turn.hits`.
    `can_translate` says whether it can do the short language tasks (a question
    into English, a quoted sentence into the learner's language): a model can,
    the extractive backend cannot.
    """

    model_id: str
    can_translate: bool

    def stream(self, turn: Turn) -> Iterator[str]:
        ...

    def tidy(self, turn: Turn, text: str) -> str:
        """The streamed text with the backend's own artefacts repaired (the text itself if it has none)."""
        ...
