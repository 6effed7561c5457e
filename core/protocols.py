"""The three swappable backends, as small structural protocols.

Implementations are picked by name (`index.embed.make_embedder`, `index.rerank.make_reranker`,
`tutor.backends.generate.make_generator`); tests use fakes that satisfy the same protocols, and a contract
test (tests/test_contracts.py) runs both.
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from core.types import Hit, Turn


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors (cosine = dot product).

    `multilingual` is False for a model that reads only English: its leg is skipped for a Chinese question.
    """

    model_id: str
    multilingual: bool

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages; returns an array of shape (len(texts), dim)."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed questions; models with query prefixes (E5) differ from documents here."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Re-scores retrieved hits against the question.

    `multilingual` is False when it reads only English: the retriever then keeps the
    fused order for Chinese questions.
    """

    model_id: str
    multilingual: bool

    def rerank(self, question: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """Return the best `k` hits, re-ranked, scores higher-is-better."""
        ...


@runtime_checkable
class Generator(Protocol):
    """Writes the answer text for a turn, streamed as text deltas.

    The text cites passages with `[n]` markers, 1-based into `turn.hits`.
    What a backend can do, declared rather than probed:
    `can_translate`: the short language tasks (a question into English, a quoted
    sentence into the learner's language): a model can, the extractive backend cannot.
    `max_prompt_tokens`: the prompt it reads at most, or None when it reads no prompt.
    `meter`: its measured prompt-reading speed (`tutor.backends.latency.PrefillMeter`: `measured`,
    `tokens_per_s`), or None when it has none to measure.
    `chat_model`: the LangChain chat model behind it (a second opinion on citations), or None.
    """

    model_id: str
    can_translate: bool
    max_prompt_tokens: int | None
    meter: Any
    chat_model: Any

    def stream(self, turn: Turn) -> Iterator[str]:
        ...

    def warm_up(self) -> None:
        """Load what the first answer would otherwise wait for (nothing, for a backend without a model)."""
        ...

    def tidy(self, turn: Turn, text: str) -> str:
        """The streamed text with the backend's own artefacts repaired (the text itself if it has none)."""
        ...
