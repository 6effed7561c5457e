"""An embedder that remembers the passages' sentences it has embedded.

Every answer embeds each sentence of its top passages to pick the evidence
(tutor/quotes/evidence.py), and a class asks about the same few topics: the same
passages come back turn after turn. With the model decoding on both cores,
those encodings are most of a turn's time to evidence (bench/load.py), so a
sentence already seen is looked up, not encoded again. A question is kept a
short while: one turn encodes it several times (the relevance gate, the
evidence, each of its parts).

The passages' sentences can also be kept on disk (`save`, after an ingest; `load`, when
a tutor starts): the first question about a passage then finds its sentences already
embedded. Unseen, a Chinese question's six passages took up to 1 s to encode, most of
what its evidence waited for after the search.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)

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
        self._stored: dict[bytes, np.ndarray] = {}  # a text's digest -> its vector, read from disk (`load`)
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
        if side == "document" and self._stored:
            known.update((t, v) for t in dict.fromkeys(texts) if t not in known
                         and (v := self._stored.get(_digest(t))) is not None)
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

    def save(self, path: Path, texts: Sequence[str], batch: int = 256,
             progress: Callable[[int, int], None] | None = None) -> int:
        """Embed the `texts` not yet known and keep all their vectors in `path` (replaced atomically).

        Returns how many vectors the file holds. Only `texts` are kept: a passage gone from the index
        takes its sentences out of the file.
        """
        texts = list(dict.fromkeys(texts))
        vectors = np.zeros((len(texts), 0), dtype=np.float32)
        parts = []
        for i in range(0, len(texts), batch):
            parts.append(self._remembered("document", texts[i:i + batch], self.inner.embed_documents))
            if progress:
                progress(min(i + batch, len(texts)), len(texts))
        if parts:
            vectors = np.concatenate(parts)
        keys = np.array([_digest(t) for t in texts], dtype="S16")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, model=np.array(self.model_id), keys=keys, vectors=vectors.astype(np.float32))
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return len(texts)

    def load(self, path: Path) -> int:
        """Remember the vectors `save` kept in `path`; returns how many.

        A missing file, a damaged one or one made by another model is passed over (it is a cache: the
        sentences are encoded as they come, as without it).
        """
        path = Path(path)
        if not path.exists():
            return 0
        try:
            with np.load(path, allow_pickle=False) as z:
                model, keys, vectors = str(z["model"]), z["keys"], z["vectors"]
            if model != self.model_id:
                log.info("%s holds %s's vectors, not %s's: not used", path, model, self.model_id)
                return 0
            if keys.dtype != np.dtype("S16") or vectors.ndim != 2 or len(keys) != len(vectors):
                raise ValueError("keys and vectors do not match")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            log.warning("the sentence vectors in %s are unreadable (%s): sentences are encoded as they come", path, e)
            return 0
        vectors = vectors.astype(np.float32, copy=False)
        with self._lock:
            self._stored = dict(zip(keys.tolist(), vectors))
        return len(keys)


def sentences_file(home: Path, model_id: str) -> Path:
    """Where `save` keeps a model's vectors of the passages' sentences, under the tutor's home."""
    return Path(home) / "cache" / f"sentences-{re.sub(r'[^A-Za-z0-9.-]+', '_', model_id)}.npz"


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
