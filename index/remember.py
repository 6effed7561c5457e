"""An embedder that remembers the passages' sentences it has embedded.

Every answer embeds each sentence of its top passages to pick the evidence
(tutor/quotes/evidence.py), and a class asks about the same few topics: the same
passages come back turn after turn. With the model decoding on both cores,
those encodings are most of a turn's time to evidence (bench/load.py), so a
sentence already seen is looked up, not encoded again. A question is kept a
short while: one turn encodes it several times (the relevance gate, the
evidence, each of its parts).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

SENTENCES = 20_000  # ~40 MB of 512-dim float32 vectors
QUESTIONS = 256


class RememberingEmbedder:
    """Wraps an `Embedder`; `embed_documents` reuses the vectors of texts it embedded before.

    Args:
        inner: the embedder whose vectors are remembered (its model_id is this one's).
        size: the most texts kept; the least recently used go first.
    """

    def __init__(self, inner, size: int = SENTENCES, questions: int = QUESTIONS) -> None:
        self.inner = inner
        self.model_id, self.multilingual = inner.model_id, inner.multilingual
        # (models with query prefixes encode a question unlike a passage: the two sides are kept apart)
        self._kept: dict[str, OrderedDict[str, np.ndarray]] = {"document": OrderedDict(), "query": OrderedDict()}
        self._sizes = {"document": size, "query": questions}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._remembered("document", texts, self.inner.embed_documents)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._remembered("query", texts, self.inner.embed_queries)

    def _remembered(self, side: str, texts: Sequence[str], encode) -> np.ndarray:
        kept = self._kept[side]
        with self._lock:
            known = {t: kept[t] for t in dict.fromkeys(texts) if t in kept}
            for t in known:
                kept.move_to_end(t)
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if new:  # encoded outside the lock: two learners' turns never wait on each other's encoding
            known.update(zip(new, encode(new)))
            with self._lock:
                for t in new:
                    kept[t] = known[t]
                while len(kept) > self._sizes[side]:
                    kept.popitem(last=False)  # the least recently used
        with self._lock:
            self.hits += len(texts) - len(new)
            self.misses += len(new)
        if not texts:
            return encode([])
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)
