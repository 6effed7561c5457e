"""How alike a question and a source's sentences are: what the evidence is ranked by first.

The judge (USE-multilingual) is fast and crosses languages, but it often ranks the sentence that only shares
the question's topic above the one that answers it. EmbeddingGemma-300M ranks the answering sentence first
more often: on the 605 single-turn dev and earlier fresh cases whose candidates hold a key fact, by similarity
alone, hit@1 0.16 (USE) against 0.30 (EmbeddingGemma); in the selector's whole score, 0.26 -> 0.31 (the dev
test half 0.32 -> 0.35, cases never tuned on). So it scores the evidence once the passages' sentences are
embedded with it (`tutor leg`: ~11,000 sentences, about 2.5 minutes on 2 cores); until then, and without the
model, the judge does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.protocols import Embedder

# The selector's bars (MIN_SCORE, the parts' minimums) were calibrated on USE's cosines. Another model's are put
# on that scale: over the same 605 cases' question-sentence pairs EmbeddingGemma's cosines have USE's spread
# (sd 0.128 vs 0.132) and a mean 0.09 higher (0.324 vs 0.233).
SHIFT = {"google/embeddinggemma-300m": -0.09}


@dataclass(frozen=True)
class Similarity:
    """Each text's similarity to the closest of the queries, on the judge's scale.

    Args:
        embedder: the model; a question is embedded as a query, a sentence as a document.
        shift: added to every cosine (`SHIFT`).
    """

    embedder: Embedder
    shift: float = 0.0

    @classmethod
    def of(cls, embedder: Embedder) -> "Similarity":
        return cls(embedder, SHIFT.get(embedder.model_id, 0.0))

    def __call__(self, queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        cosines = self.embedder.embed_queries(list(queries)) @ self.embedder.embed_documents(list(texts)).T
        return np.max(cosines, axis=0).astype(float) + self.shift
