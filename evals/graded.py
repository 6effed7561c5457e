"""Answers graded by reading: export a run's answers with their passages, tally the grades.

The offline judges score topical similarity; only a reader can say whether an
answer answers. `export` turns an eval run's results into one JSON line per
answer holding everything a grader needs (question, answer, citations, the text
of the passages it was built from, the commit), with an empty `grade`; a person
(or a reading agent told the rubric) fills `grade` and `why`. `tally` counts them.

Grades: "answers" (a learner gets the answer, nothing false), "partly" (some of it,
or right but thin), "no" (does not answer: off-topic, a non-answer, an unwarranted
refusal), "wrong" (states something false or misattributes a source). For an
out-of-scope question a refusal is "answers" and any answer is "wrong".

    python -m evals.graded export evals/reports/<run> --out evals/graded/<name>.jsonl
    python -m evals.graded tally evals/graded/*.jsonl
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from evals.cases import load_cases
from evals.split import half
from index.store import current_build, read_chunks, store_path

GRADES = ("answers", "partly", "no", "wrong")
SAMPLE = Path(__file__).resolve().parent / "graded" / "sample-cases.jsonl"  # evals.split.sample, seed 17


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def export(run_dir: Path, out: Path, index_dir: Path, cases_file: Path = SAMPLE, passages: int = 4) -> int:
    """Write the answer records of an eval run as gradeable lines; returns how many."""
    chunks, _ = read_chunks(store_path(current_build(index_dir)))
    by_id = {c.id: c for c in chunks}
    cases = {c.id: c for c in load_cases([cases_file])}
    summary = json.loads((run_dir / "summary.json").read_text())
    commit = _commit()
    lines = []
    for line in (run_dir / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["suite"] != "answers":
            continue
        cited = {c["chunk_id"] for c in r["answer"]["citations"]}
        shown = [h for h in r["hits"] if h["chunk_id"] in cited] or r["hits"][:passages]
        record = {
            "id": r["id"], "config": r["config"], "pair": r["pair"], "half": half(cases[r["id"]]) if r["id"] in cases
            else "", "question": r["question"], "history": r.get("history", []), "gold_urls": r["gold_urls"],
            "refused": r["refused"], "answer": r["answer"]["text"], "citations": r["answer"]["citations"],
            "evidence": r.get("evidence", []), "notes": r.get("notes", []),
            "passages": [{"rank": h["rank"], "url": h["url"], "heading": h["heading"], "gold": h["gold"],
                          "text": by_id[h["chunk_id"]].text if h["chunk_id"] in by_id else None} for h in shown],
            "ttft_ms": r.get("ttft_ms"), "total_ms": r.get("total_ms"), "run": summary.get("created"),
            "commit": commit, "grade": None, "why": "",
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def tally(paths: list[Path]) -> dict:
    """Grade shares per config, overall and by pair (and by half where known)."""
    counts: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r.get("grade") not in GRADES:
                continue
            for group in ("all", f"pair:{r['pair']}" + (" follow-up" if r.get("history") else ""),
                          f"half:{r.get('half') or '?'}"):
                counts[r["config"]][group][r["grade"]] += 1
    out = {}
    for config, groups in counts.items():
        out[config] = {g: {"n": sum(c.values()), **{k: round(c[k] / sum(c.values()), 3) for k in GRADES}}
                       for g, c in sorted(groups.items())}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.graded", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write a run's answers as gradeable JSON lines")
    e.add_argument("run", type=Path)
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--index", type=Path, default=Path("data/index"))
    e.add_argument("--cases", type=Path, default=SAMPLE)
    t = sub.add_parser("tally", help="grade shares per config")
    t.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "export":
        print(export(args.run, args.out, args.index, args.cases), "answers written to", args.out)
    else:
        json.dump(tally(args.files), sys.stdout, indent=1, ensure_ascii=False)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
