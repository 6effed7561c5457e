"""An embedder that remembers the passages' sentences it has embedded.

Every answer embeds each sentence of its top passages to pick the evidence
(tutor/evidence.py), and a class asks about the same few topics: the same
passages come back turn after turn. With the model decoding on both cores,
those encodings are most of a turn's time to evidence (bench/load.py), so a
sentence already seen is looked up, not encoded again. Questions are never
remembered: they are new text each time and cheap to encode.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

SENTENCES = 20_000  # ~40 MB of 512-dim float32 vectors


class RememberingEmbedder:
    """Wraps an `Embedder`; `embed_documents` reuses the vectors of texts it embedded before.

    Args:
        inner: the embedder whose vectors are remembered (its model_id is this one's).
        size: the most texts kept; the least recently used go first.
    """

    def __init__(self, inner, size: int = SENTENCES) -> None:
        self.inner, self.size = inner, size
        self.model_id = inner.model_id
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._kept[t] for t in dict.fromkeys(texts) if t in self._kept}
            for t in known:
                self._kept.move_to_end(t)
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if new:  # encoded outside the lock: two learners' turns never wait on each other's encoding
            known.update(zip(new, self.inner.embed_documents(new)))
            with self._lock:
                for t in new:
                    self._kept[t] = known[t]
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        with self._lock:
            self.hits += len(texts) - len(new)
            self.misses += len(new)
        if not texts:
            return self.inner.embed_documents([])
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)
