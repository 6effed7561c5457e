"""Small deterministic stand-ins for the heavy backends, used by unit tests.

Each satisfies the same protocol as the real backend, and
`test_contracts.py` runs the same checks against both, so they stay honest.
"""

from __future__ import annotations

import hashlib
from typing import Iterator, Sequence

import numpy as np

from core.types import Turn
from index.bm25 import tokenize


class HashEmbedder:
    """Bag of hashed BM25 terms: texts sharing words get similar vectors."""

    model_id = "fake/hash-embedder-1024"
    multilingual = True

    def __init__(self, dim: int = 1024) -> None:
        self.dim = dim
        self.calls = 0

    def _one(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for term in tokenize(text):
            h = int.from_bytes(hashlib.md5(term.encode()).digest()[:4], "little")
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        return np.vstack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    embed_queries = embed_documents


class EvidenceEmbedder(HashEmbedder):
    """The evidence embedder's stand-in: another model, so its own file of kept sentences."""

    model_id = "fake/evidence-512"

    def __init__(self) -> None:
        super().__init__(dim=512)


class TranslatingEmbedder(HashEmbedder):
    """A cross-lingual stand-in: each sentence in `translations` embeds as its English translation.

    The multilingual judge places a faithful translation near its source sentence;
    this fake does exactly that for the pairs it is given (test_contracts checks
    the same pair on the real judge).
    """

    model_id = "fake/translating-hash-embedder-1024"

    def __init__(self, translations: dict[str, str], dim: int = 1024) -> None:
        super().__init__(dim)
        self.translations = {k.strip(): v for k, v in translations.items()}

    def _one(self, text: str) -> np.ndarray:
        return super()._one(self.translations.get(text.strip(), text))


class ScriptedGenerator:
    """Yields a fixed answer word by word; `[n]` markers are written into the script.

    Given several scripts, the k-th call answers with the k-th (the last one repeats).
    """

    model_id = "fake/scripted"
    max_prompt_tokens = None
    meter = None
    chat_model = None

    def __init__(self, *scripts: str, can_translate: bool = False) -> None:
        self.scripts = scripts
        self.can_translate = can_translate
        self.turns: list[Turn] = []

    def tidy(self, turn: Turn, text: str) -> str:
        return text

    def warm_up(self) -> None:
        return None

    def stream(self, turn: Turn) -> Iterator[str]:
        self.turns.append(turn)
        words = self.scripts[min(len(self.turns), len(self.scripts)) - 1].split(" ")
        for i, word in enumerate(words):
            yield word if i == 0 else " " + word
