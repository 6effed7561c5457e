"""Replies the tutor builds without the model (refusals, hints, learning paths, quiz turns)."""

from __future__ import annotations

import time
from typing import Iterator

from core.types import Answer, Step


def reply(question: str, text: str, citations, hits, mode: str, started: float, model: str,
          refused: bool = False, quiz: str = "") -> Iterator[Step]:
    """Emit such a reply as one token, then its Answer (timed from `started`, a perf_counter reading)."""
    yield Step("token", text=text)
    elapsed = (time.perf_counter() - started) * 1000
    yield Step("answer", answer=Answer(question, text, tuple(citations), tuple(hits), refused=refused, mode=mode,
                                       ttft_ms=elapsed, total_ms=elapsed, model=model, quiz=quiz))
