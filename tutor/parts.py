"""A question that asks several things: "GAN 为什么能学到数据分布？实际中为什么不受欢迎了？".

Each part is searched for (tutor/retrieve.py) and answered (tutor/evidence.py) on its own:
the passage that says why GANs fell out of favour rarely also explains the minimax theorem,
and one search for the whole question finds the part its words lean to.
"""

from __future__ import annotations

import re

# After a question mark that does not end the question; before ", and what/how/does ..." in English.
_BREAK = re.compile(r"(?<=[?？])\s*(?=\S)|,?\s+and\s+(?=(?:what|how|why|whether|which|who|when|where|does|do|did|is|are|"
                    r"was|were|can|could|should)\b)", re.IGNORECASE)
MIN_CHARS = 4


def parts(question: str) -> list[str]:
    """The parts of a question that asks several things, or [question]."""
    found = [p.strip() for p in _BREAK.split(question.strip()) if p and len(p.strip()) >= MIN_CHARS]
    return found if len(found) > 1 else [question]
