"""Dev cases split in two by source document, and the seeded sample graded by reading.

Tuning on the same cases that are reported fools the tuner. `half` puts every case
whose first gold document hashes (with a seed) into one half, so a "test" case's
source was never looked at while tuning on "tune". Out-of-scope cases have no
document and are split by id. `sample` draws the seeded, pair-stratified sample
that is read and graded by hand (evals/graded/).
"""

from __future__ import annotations

import random
from typing import Sequence

from evals.cases import Case
from tutor.types import content_id

HALVES = ("tune", "test")
SEED = "2026-12-03"


def half(case: Case, seed: str = SEED) -> str:
    """"tune" or "test": by the case's first gold document (sorted), or its id when it has none."""
    key = sorted(case.gold_urls)[0] if case.gold_urls else case.id
    return HALVES[int(content_id(seed, key), 16) % 2]


def only(cases: Sequence[Case], which: str, seed: str = SEED) -> list[Case]:
    """The cases of one half, in their order."""
    if which not in HALVES:
        raise ValueError(f"half must be one of {', '.join(HALVES)}, not {which!r}")
    return [c for c in cases if half(c, seed) == which]


def stratum(case: Case) -> str:
    """What a graded sample is spread over: follow-ups apart from first questions of each pair."""
    return "follow-up" if case.history else case.pair


def sample(cases: Sequence[Case], quotas: dict[str, int], seed: int = 17) -> list[Case]:
    """A seeded random sample with `quotas[stratum]` cases of each stratum, in case order."""
    rng = random.Random(seed)
    picked: list[Case] = []
    for name, n in quotas.items():
        pool = [c for c in cases if stratum(c) == name]
        picked += rng.sample(pool, min(n, len(pool)))
    order = {c.id: i for i, c in enumerate(cases)}
    return sorted(picked, key=lambda c: order[c.id])
