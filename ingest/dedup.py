"""Keep each document once: exact copies by content hash, near copies by word 5-gram Jaccard.

The same article often arrives twice: a mirror, `http://` and `https://`,
a page and its print view, a user's saved copy of a curated page. Two
documents are near duplicates when the Jaccard similarity of their sets of
word 5-grams (shingles) is at least `threshold` (0.9 by default).

Comparing every pair is quadratic, so MinHash signatures (64 hashes)
split into 16 bands of 4 pick the candidate pairs (locality-sensitive
hashing: a pair at Jaccard 0.9 shares a band with probability
1 - (1 - 0.9^4)^16 > 0.9999999), and each candidate is then checked with
the exact Jaccard of the shingle sets, so the decision never rests on an
estimate. Nothing depends on Python's per-process hash seed: the same
corpus gives the same decisions every run.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from core.language import HAN

SHINGLE = 5
PERMUTATIONS = 64
BANDS = 16
# A CJK ideograph is a word of its own: Chinese has no spaces to split on.
_WORD = re.compile(rf"[{HAN}]|[^\W_{HAN}]+")
_rng = np.random.default_rng(20240605)  # fixed: the same permutations in every run
_A = _rng.integers(1, 2**32, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**32, size=PERMUTATIONS, dtype=np.uint64)


class Deduplicator:
    """Remembers the documents kept so far and says whether a new one repeats one of them.

    Args:
        threshold: shingle Jaccard at or above which two texts count as the same document.
    """

    def __init__(self, threshold: float = 0.9) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._exact: dict[str, str] = {}
        self._vocab: dict[str, int] = {}
        self._shingles: dict[str, np.ndarray] = {}
        self._bands: list[dict[bytes, list[str]]] = [{} for _ in range(BANDS)]

    def check(self, key: str, text: str) -> str:
        """Return why `text` is a duplicate of a kept document, or "" after keeping it under `key`.

        Args:
            key: the document's name in messages (its URL).
            text: the extracted text.

        Returns:
            "" if the document is new (it is then remembered), else a reason
            such as "same text as URL" or "near duplicate (Jaccard 0.93) of URL".
        """
        digest = hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()
        if digest in self._exact:
            return f"same text as {self._exact[digest]}"
        shingles = _shingles(text, self._vocab)
        signature = _minhash(shingles) if len(shingles) else None
        if signature is not None:
            best, of = 0.0, ""
            for band, rows in zip(self._bands, _band_keys(signature)):
                for other in band.get(rows, ()):
                    score = _jaccard(shingles, self._shingles[other])
                    if score > best:
                        best, of = score, other
            if best >= self.threshold:
                return f"near duplicate (Jaccard {best:.2f} of word 5-grams) of {of}"
        self._exact[digest] = key
        if signature is not None:
            self._shingles[key] = shingles
            for band, rows in zip(self._bands, _band_keys(signature)):
                band.setdefault(rows, []).append(key)
        return ""


def _shingles(text: str, vocab: dict[str, int]) -> np.ndarray:
    """Sorted unique hashes of the lower-cased word 5-grams (one shingle for a shorter text).

    Each word gets a number from `vocab` (first come, first numbered: the
    same documents in the same order give the same numbers in every run)
    and the 5-gram hashes are rolled up in NumPy, several times faster than
    hashing joined strings.
    """
    words = _WORD.findall(text.lower())
    if not words:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter((vocab.setdefault(w, len(vocab) + 1) for w in words), dtype=np.uint64, count=len(words))
    n = max(1, len(ids) - SHINGLE + 1)
    grams = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(min(SHINGLE, len(ids))):
            grams = grams * np.uint64(1_000_003) + ids[k:k + n]
    return np.unique(grams)


def _minhash(shingles: np.ndarray, block: int = 16384) -> np.ndarray:
    # Multiply-add hashing in wrapping uint64, keeping the high 32 bits; in
    # blocks so a book-length text needs a few MB, not 64 x its shingle count.
    signature = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for lo in range(0, len(shingles), block):
            hashed = (np.outer(_A, shingles[lo:lo + block]) + _B[:, None]) >> np.uint64(32)
            signature = np.minimum(signature, hashed.min(axis=1))
    return signature


def _band_keys(signature: np.ndarray) -> list[bytes]:
    rows = PERMUTATIONS // BANDS
    return [signature[i * rows:(i + 1) * rows].tobytes() for i in range(BANDS)]


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)
