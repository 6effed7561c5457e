"""The dev cases' halves, the graded sample, and the tally of grades read by hand."""

import json

from evals.cases import load_cases
from evals.graded import GRADES, tally
from evals.split import half, only, sample, stratum


def test_halves_split_by_source_document_and_cover_every_case():
    cases = load_cases()
    tune, test = only(cases, "tune"), only(cases, "test")
    assert len(tune) + len(test) == len(cases) and tune and test
    by_doc: dict[str, set[str]] = {}
    for c in cases:
        if c.gold_urls:
            by_doc.setdefault(sorted(c.gold_urls)[0], set()).add(half(c))
    assert all(len(halves) == 1 for halves in by_doc.values())  # a document's cases never straddle the halves
    assert half(cases[0]) == half(cases[0]) and half(cases[0], seed="other") in ("tune", "test")


def test_the_graded_sample_is_seeded_and_spread_over_the_strata():
    cases = load_cases()
    quotas = {"en-en": 5, "zh-en": 4, "zh-zh": 3, "follow-up": 2, "oos": 2}
    a, b = sample(cases, quotas, seed=3), sample(cases, quotas, seed=3)
    assert [c.id for c in a] == [c.id for c in b]
    assert {s: sum(stratum(c) == s for c in a) for s in quotas} == quotas
    assert [c.id for c in sample(cases, quotas, seed=4)] != [c.id for c in a]


def test_tally_counts_grades_per_config_and_pair(tmp_path):
    rows = [{"config": "default", "pair": "en-en", "half": "tune", "grade": "answers"},
            {"config": "default", "pair": "en-en", "half": "test", "grade": "wrong"},
            {"config": "default", "pair": "zh-en", "half": "test", "grade": "partly", "history": ["q"]},
            {"config": "default", "pair": "zh-en", "half": "test", "grade": None}]  # not graded yet: not counted
    path = tmp_path / "g.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    out = tally([path])["default"]
    assert out["all"] == {"n": 3, "answers": 0.333, "partly": 0.333, "no": 0.0, "wrong": 0.333}
    assert out["pair:zh-en follow-up"]["partly"] == 1.0 and out["half:test"]["n"] == 2
    assert set(GRADES) == {"answers", "partly", "no", "wrong"}
