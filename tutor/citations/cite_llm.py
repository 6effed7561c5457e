"""An LLM second opinion for the citation verifier (`TUTOR_CITATION_CHECK=llm`).

The default scorer (embedding similarity plus lexical and number overlap)
measures topical support: it cannot see a negation or a swapped entity. With
`citation_check = "llm"`, each cited sentence whose score is close to the
threshold is put to the chat model as a yes/no question against the quote
the scorer picked; its verdict replaces the score. Only borderline, cited
pairs are asked, so a clear answer costs nothing extra.
"""

from __future__ import annotations

import logging
import re
from typing import Sequence

import numpy as np

from core.markers import parse_markers, strip_markers
from core.types import Hit
from tutor.citations.cite import Support, SupportScorer

log = logging.getLogger(__name__)

CHECK_PROMPT = """Passage:
\"\"\"{passage}\"\"\"

Claim: {claim}

Does the passage support the claim (possibly in other words or another language)? Reply with one word: yes or no."""


class LlmCheckedScorer(SupportScorer):
    """A `SupportScorer` that asks a chat model about borderline cited pairs.

    Args:
        embedder: as for `SupportScorer`.
        chat_model: a LangChain chat model (`invoke` returning a message).
        threshold: the verifier's support threshold.
        band: pairs scoring within `band` of the threshold are checked.
    """

    def __init__(self, embedder, chat_model, threshold: float = 0.5, band: float = 0.15) -> None:
        super().__init__(embedder)
        self.chat_model = chat_model
        self.threshold = threshold
        self.band = band
        self.asked = 0

    def supports(self, claims: Sequence[str], hits: Sequence[Hit]) -> np.ndarray:
        out = super().supports(claims, hits)
        for i, claim in enumerate(claims):
            for n in parse_markers(claim):
                if not 1 <= n <= len(hits):
                    continue
                s = out[i, n - 1]
                if abs(s.score - self.threshold) <= self.band:
                    ok = self._ask(strip_markers(claim).strip(), hits[n - 1].chunk.text)
                    out[i, n - 1] = Support(1.0 if ok else 0.0, s.quote)
        return out

    def _ask(self, claim: str, passage: str) -> bool:
        self.asked += 1
        reply = self.chat_model.invoke([("user", CHECK_PROMPT.format(passage=passage[:1500], claim=claim))],
                                       max_tokens=3).content
        word = re.sub(r"[^a-z是否]", "", (reply if isinstance(reply, str) else str(reply)).strip().lower()[:8])
        log.debug("llm citation check %r -> %r", claim[:60], word)
        return word.startswith(("yes", "是"))
