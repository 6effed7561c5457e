"""The keyword leg: Okapi BM25 over stemmed English words and segmented Chinese.

BM25 catches exact terms (model names, acronyms, numbers) that dense
embeddings blur. Chinese has no spaces, so CJK runs are segmented with jieba;
English words are lower-cased and Snowball-stemmed. The statistics are
rebuilt from stored token strings on load (cheap at this corpus size), so
nothing but text is ever written to disk.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import threading
from collections import defaultdict
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from core.language import HAN, HAN_CHAR

log = logging.getLogger(__name__)

_TOKEN = re.compile(rf"[a-z0-9]+(?:[.\-][a-z0-9]+)*|[{HAN}]+")
_STOP = frozenset(
    "a an and are as at be been but by can do does for from has have how i if in into is it its of on or "
    "that the their then there these this to was were what when where which who why will with you your "
    "的 了 是 在 和 与 及 或 吗 呢 啊 么 什么 怎么 如何 为什么 哪些 一个 这个 那个 我 你 他 它 们 有 也 都 就".split()
)


_local = threading.local()


def _stemmer():
    """This thread's Snowball stemmer: one keeps the word it works on in itself, so learners answered side by
    side would stem into each other's words (an IndexError under load, found by bench/load.py)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import snowballstemmer  # only for English text

        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@lru_cache(maxsize=1)
def _jieba():
    import jieba  # loads its dictionary (~1 s): only for Chinese text

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize(text: str) -> list[str]:
    """Split text into BM25 terms: stemmed English words and jieba-segmented Chinese words."""
    terms: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        token = match.group()
        if HAN_CHAR.match(token):
            terms.extend(w for w in _jieba().lcut_for_search(token) if w not in _STOP)
        elif token not in _STOP:
            terms.append(_stem(token) if token.isalpha() else token)
    return terms


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    # Snowball in pure Python is the slowest step of re-tokenising a corpus;
    # a corpus repeats a few thousand words, so memoising cuts it ~7x.
    return _stemmer().stemWord(word)


class Bm25:
    """In-memory BM25 over a fixed list of token lists (one per chunk, in index order)."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.size = len(docs)
        self.lengths = np.array([len(d) for d in docs], dtype=np.float32)
        self.avg_length = float(self.lengths.mean()) if self.size else 0.0
        postings: dict[str, dict[int, int]] = defaultdict(dict)
        for i, doc in enumerate(docs):
            for term in doc:
                postings[term][i] = postings[term].get(i, 0) + 1
        self._postings = {
            t: (np.fromiter(p.keys(), np.int64, len(p)), np.fromiter(p.values(), np.float32, len(p)))
            for t, p in postings.items()
        }
        self._sorted: list[str] | None = None

    def __contains__(self, term: str) -> bool:
        """Whether any indexed text has the (tokenized) term."""
        return term in self._postings

    def begins(self, prefix: str) -> bool:
        """Whether some indexed term starts with `prefix` ("sumanth" begins the link "sumanthrh.com")."""
        if self._sorted is None:
            self._sorted = sorted(self._postings)  # built on first use: only unfamiliar words ask
        i = bisect.bisect_left(self._sorted, prefix)
        return i < len(self._sorted) and self._sorted[i].startswith(prefix)

    def idf(self, term: str) -> float:
        n = len(self._postings.get(term, ((), ()))[0])
        return math.log(1.0 + (self.size - n + 0.5) / (n + 0.5))

    def scores(self, query_terms: Iterable[str]) -> np.ndarray:
        """BM25 score of every document for the query terms (0 where no term matches)."""
        scores = np.zeros(self.size, dtype=np.float32)
        if not self.size:
            return scores
        norm = self.k1 * (1 - self.b + self.b * self.lengths / max(self.avg_length, 1e-9))
        for term in set(query_terms):
            if term not in self._postings:
                continue
            ids, tf = self._postings[term]
            scores[ids] += self.idf(term) * tf * (self.k1 + 1) / (tf + norm[ids])
        return scores

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (position, score) pairs with a positive score, best first."""
        scores = self.scores(tokenize(query))
        if k <= 0 or not scores.any():
            return []
        top = np.argpartition(-scores, min(k, self.size) - 1)[:k]
        ranked = sorted(((int(i), float(scores[i])) for i in top if scores[i] > 0), key=lambda p: -p[1])
        return ranked
