"""Dev cases split in two by source document, and the seeded sample graded by reading.

Tuning on the same cases that are reported fools the tuner. `half` puts every case
whose first gold document hashes (with a seed) into one half, so a "test" case's
source was never looked at while tuning on "tune". Out-of-scope cases have no
document and are split by id. `sample` draws the seeded, pair-stratified sample
that is read and graded by hand (evals/graded/).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Sequence

from core.types import content_id
from evals.cases import Case, load_cases

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


def by_half(results: Sequence[dict], cases: Sequence[Case], seed: str = SEED) -> dict:
    """Retrieval records of an eval run summarised per config, half and pair: n, hit@5, MRR@10."""
    halves = {c.id: half(c, seed) for c in cases}
    out: dict = {}
    for r in results:
        if r.get("suite") != "retrieval" or not r.get("answerable") or r["id"] not in halves:
            continue
        pair = "follow-up" if r.get("history") else r["pair"]
        for key in ((r["config"], halves[r["id"]], pair), (r["config"], "all", pair)):
            cell = out.setdefault(key, {"n": 0, "hit@5": 0.0, "mrr@10": 0.0})
            cell["n"] += 1
            cell["hit@5"] += r.get("hit@5", 0.0)
            cell["mrr@10"] += r.get("mrr@10", 0.0)
    return {k: {"n": v["n"], "hit@5": round(v["hit@5"] / v["n"], 3), "mrr@10": round(v["mrr@10"] / v["n"], 3)}
            for k, v in sorted(out.items())}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evals.split RUN_DIR [CASE_FILE ...]`: a retrieval run's numbers per half and pair."""


    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(main.__doc__)
        return 2
    run, files = Path(args[0]), args[1:] or None
    results = [json.loads(line) for line in (run / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    for (config, which, pair), cell in by_half(results, load_cases(files)).items():
        print(f"{config}\t{which}\t{pair}\tn={cell['n']}\thit@5={cell['hit@5']}\tmrr@10={cell['mrr@10']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
