"""Hybrid retrieval: a dense leg and a BM25 leg, fused by reciprocal rank.

Dense search finds paraphrases; BM25 finds exact names and numbers. Each
returns `candidates` positions; reciprocal-rank fusion (Cormack et al. 2009)
merges them without having to calibrate their very different score scales.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from tutor.types import Chunk, Hit

RRF_K = 60  # the constant from the RRF paper; damps the weight of the very top ranks


def fuse(rankings: Sequence[Sequence[int]], k: int = RRF_K, weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of several ranked lists of positions, best first."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, pos in enumerate(ranking, start=1):
            scores[pos] = scores.get(pos, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda p: (-p[1], p[0]))


@dataclass(frozen=True)
class Retrieval:
    """Hits for a question plus how relevant the best of them is (cosine of the top dense hit)."""

    hits: list[Hit]
    relevance: float
    keyword_coverage: float


class Retriever:
    """Searches one loaded `index.search.Index` with one embedder.

    Args:
        index: the loaded index.
        embedder: the embedder the index was built with.
        candidates: how many hits each leg contributes before fusion.
        modes: which legs to use: "hybrid", "dense" or "bm25" (for baselines and ablations).
    """

    def __init__(self, index, embedder, candidates: int = 30, mode: str = "hybrid") -> None:
        if mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"mode must be hybrid, dense or bm25, not {mode!r}")
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.mode = mode

    def search(self, question: str, k: int, where: Callable[[Chunk], bool] | None = None) -> list[Hit]:
        """The top-k hits for a question, best first."""
        return self.retrieve(question, k, where).hits

    def retrieve(self, question: str, k: int, where: Callable[[Chunk], bool] | None = None) -> Retrieval:
        """Search both legs, fuse, and measure how well the best hits match.

        Args:
            question: the learner's question, in any language.
            k: how many hits to return.
            where: an optional filter on chunks (handbook part, source).
        """
        chunks = self.index.chunks
        pool = self.candidates * (4 if where else 1)  # filtering drops hits: look further
        rankings: list[list[int]] = []
        vector = self.embedder.embed_queries([question])[0]
        if self.mode in ("hybrid", "dense"):
            rankings.append([p for p, _ in self.index.dense(vector, pool) if not where or where(chunks[p])])
        if self.mode in ("hybrid", "bm25"):
            rankings.append([p for p, _ in self.index.keyword(question, pool) if not where or where(chunks[p])])
        fused = fuse([r[: self.candidates] for r in rankings])[:k]
        positions = [p for p, _ in fused]
        cosines = self.index.cosine(vector, positions)
        hits = [Hit(chunks[p], score=float(s), rank=i, stage=self.mode) for i, (p, s) in enumerate(fused, start=1)]
        relevance = float(cosines.max()) if len(cosines) else 0.0
        return Retrieval(hits, relevance, keyword_coverage(question, [chunks[p].text for p in positions[:3]]))


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{2,}|[0-9]+(?:\.[0-9]+)?")


def keyword_coverage(question: str, texts: Sequence[str]) -> float:
    """Share of the question's content terms found in the given passages (0..1).

    Used with the dense relevance to decide whether the sources cover a question:
    a question whose rare terms appear nowhere in the best passages is likely
    outside the corpus.
    """
    from index.bm25 import tokenize

    terms = set(tokenize(question))
    if not terms:
        return 0.0
    found = set()
    for text in texts:
        found |= terms & set(tokenize(text))
    return len(found) / len(terms)

