"""A first-token deadline: size the prompt to what this CPU can read in time.

On a CPU the first token waits for the model to read every prompt token not
already in llama.cpp's cache, so time to first token is about
`new prompt tokens / prefill speed`. Prefill speed differs several-fold between
machines that look alike (the same 1.5B model read 97 tokens/s on one 2-core
EPYC and 30-55 on others), so a fixed passage size is too long on one and
wastes context on the next. `PrefillMeter` measures the speed from the
model's own answers, and `latency_budget` turns a deadline into a token
budget for the passages.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from dataclasses import dataclass

# Prompt-reading speed assumed before the first measurement: the slowest 2-core
# machine seen (bench/RESULTS.md), so the first answer errs on the fast side.
PRIOR_TOKENS_PER_S = 30.0
SAMPLES = 9  # recent answers the speed is the median of
MIN_SAMPLE_TOKENS = 40  # shorter reads are dominated by fixed per-request costs
# Reserved for what follows prompt reading: the first decode step and the HTTP round trip.
FIRST_TOKEN_S = 0.25


class PrefillMeter:
    """The model's prompt-reading speed in tokens/s, the median of its recent answers.

    Args:
        fixed: a speed to use instead of measuring (`TUTOR_PREFILL_TPS`); 0 = measure.

    Example:
        >>> meter = PrefillMeter()
        >>> meter.record(tokens=500, seconds=10.0)
        >>> meter.tokens_per_s
        50.0
    """

    def __init__(self, fixed: float = 0.0) -> None:
        self.fixed = fixed
        self._samples: deque[float] = deque(maxlen=SAMPLES)
        self._lock = threading.Lock()

    def record(self, tokens: int, seconds: float) -> None:
        """Add one observation: `tokens` new prompt tokens read before the first token, in `seconds`."""
        if tokens < MIN_SAMPLE_TOKENS or seconds <= 0:
            return
        with self._lock:
            self._samples.append(tokens / seconds)

    @property
    def measured(self) -> bool:
        return bool(self.fixed or self._samples)

    @property
    def tokens_per_s(self) -> float:
        if self.fixed:
            return self.fixed
        with self._lock:
            return statistics.median(self._samples) if self._samples else PRIOR_TOKENS_PER_S


@dataclass(frozen=True)
class Budget:
    """Estimated prompt tokens one answer may add, split as the prompt is.

    Attributes:
        passages: tokens for the passage texts, all passages together.
        history: tokens for the earlier chat messages.
    """

    passages: int
    history: int


def latency_budget(deadline_s: float, elapsed_s: float, tokens_per_s: float, overhead_tokens: int,
                   floor_tokens: int, passage_cap: int, history_tokens: int) -> Budget:
    """How many passage and history tokens fit before the first-token deadline.

    Passages come first: they get what is left after the question and
    instructions (`overhead_tokens`), between `floor_tokens` (below that an
    answer has too little to stand on, and a late answer beats an empty one) and
    `passage_cap`. Earlier chat messages get what the passages leave, up to
    `history_tokens` (a follow-up is already searched with the earlier subject).

    Args:
        deadline_s: time to first token to aim for, counted from the question.
        elapsed_s: time already spent (retrieval) before the prompt is sent.
        tokens_per_s: the model's prompt-reading speed (`PrefillMeter`).
        overhead_tokens: the new prompt tokens that are neither passages nor history.
        floor_tokens: the fewest passage tokens to send.
        passage_cap: the most passage tokens worth sending.
        history_tokens: the most history tokens to keep when there is room.

    Example:
        >>> latency_budget(4.0, 0.05, 50.0, overhead_tokens=60, floor_tokens=80, passage_cap=480, history_tokens=600)
        Budget(passages=125, history=0)
        >>> latency_budget(4.0, 0.05, 200.0, overhead_tokens=60, floor_tokens=80, passage_cap=480, history_tokens=600)
        Budget(passages=480, history=200)
    """
    room = int(max(deadline_s - elapsed_s - FIRST_TOKEN_S, 0.0) * tokens_per_s) - overhead_tokens
    passages = min(max(room, floor_tokens), passage_cap)
    return Budget(passages=passages, history=max(0, min(history_tokens, room - passages)))
