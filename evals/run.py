"""The eval runner: every case through every config, scored, summarised and written out.

Suites: "retrieval" times `Retriever.retrieve` (top 10) and scores the ranking
(plus the refusal decision `Tutor.covers` would take, which needs no LLM);
"answers" runs the full pipeline and judges the Answer; "all" does both.
The pipelines themselves are built by `evals.pipelines.Builder`.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from core.config import Settings
from core.types import Hit
from evals import metrics
from evals.baselines import EvalConfig, parse_config
from evals.cases import Case
from evals.checkpoint import Checkpoint
from evals.grading import judge_answer
from evals.judge import make_judge
from evals.pipelines import Builder
from evals.report import write_report

log = logging.getLogger(__name__)

RETRIEVAL_K = 10
SUITES = ("retrieval", "answers", "all")
REPORTS_DIR = Path(__file__).resolve().parent / "reports"


def _base_record(config: EvalConfig, suite: str, case: Case) -> dict:
    record = {"config": config.name, "suite": suite, "id": case.id, "pair": case.pair, "part": case.part,
              "lang": case.lang, "answerable": case.answerable, "question": case.question,
              "gold_urls": list(case.gold_urls)}
    if case.history:
        record["history"] = list(case.history)
    return record


def _hits(hits: Sequence[Hit], gold: set[str]) -> list[dict]:
    return [{"rank": h.rank, "url": h.chunk.doc_url, "chunk_id": h.chunk.id, "score": round(h.score, 4),
             "heading": h.chunk.heading, "gold": h.chunk.doc_url in gold} for h in hits]


def retrieval_record(config: EvalConfig, pipeline, case: Case) -> dict:
    """Retrieve the top 10 for one case, timed, and score the ranking."""
    started = time.perf_counter()
    hits, extra = pipeline.retrieve(case.question, RETRIEVAL_K, case.history)
    record = _base_record(config, "retrieval", case)
    record["retrieval_ms"] = (time.perf_counter() - started) * 1000
    if case.answerable:
        record.update(metrics.retrieval_scores([h.chunk.doc_url for h in hits], case.gold_urls))
    refused = pipeline.would_refuse(case.question, case.history)  # untimed: a second, context_k-sized retrieval
    if refused is not None:
        record["refused"] = refused
    record.update(extra, hits=_hits(hits, set(case.gold_urls)))
    return record


def answer_record(config: EvalConfig, pipeline, case: Case, judge) -> dict:
    """Answer one case with the full pipeline and judge the answer."""
    answer = pipeline.ask(case.question, case.history)
    record = _base_record(config, "answers", case)
    record.update(refused=answer.refused, ttft_ms=answer.ttft_ms, total_ms=answer.total_ms, model=answer.model)
    if not answer.refused:
        scores, details = judge_answer(judge, answer, case.key_facts, case.lang, pipeline.chunk_text)
        record.update(scores, judgments=details)
    record["answer"] = {"text": answer.text, "citations": [c.to_dict() for c in answer.citations]}
    record.update(evidence=[e.to_dict() for e in answer.evidence], evidence_ms=answer.evidence_ms or None,
                  notes=list(answer.notes))
    record["hits"] = _hits(answer.hits, set(case.gold_urls))
    return record


def summarise(records: Sequence[dict], configs: Sequence[EvalConfig], judge_name: str | None) -> dict:
    """Aggregate records per config: overall, by language pair and by handbook part.

    Retrieval and answer records are aggregated apart and merged, so each number
    comes from its own suite and `n` counts cases, not records.
    """
    out = {}
    for config in configs:
        mine = [r for r in records if r["config"] == config.name]
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for r in mine:
            groups[("overall", "all")].append(r)
            groups[("by_pair", r["pair"])].append(r)
            groups[("by_part", r["part"])].append(r)
            groups[("by_turn", "follow-up" if r.get("history") else "first question")].append(r)
        entry: dict = {"base": config.base, "overrides": config.overrides, "judge": judge_name,
                       "metric_judges": _metric_judges(judge_name), "overall": {}, "by_pair": {}, "by_part": {},
                       "by_turn": {}}
        for (kind, key), rows in sorted(groups.items()):
            merged: dict = {"n": len({r["id"] for r in rows})}
            counts: dict = {}
            for suite in ("retrieval", "answers"):
                part = [r for r in rows if r["suite"] == suite]
                if part:
                    agg = metrics.aggregate(part)
                    counts.update(agg.pop("counts"))
                    agg.pop("n")
                    merged.update({k: v for k, v in agg.items() if k not in merged or suite == "answers"})
            merged["counts"] = counts
            if kind == "overall":
                entry["overall"] = merged
            else:
                entry[kind][key] = merged
        out[config.name] = entry
    return out


def _metric_judges(judge_name: str | None) -> dict[str, str]:
    names = {m: "exact: gold URL match" for m in metrics.RETRIEVAL_METRICS}
    names.update({m: "exact: refusal flag vs answerable" for m in metrics.REFUSAL_METRICS})
    names.update({"verbatim_quote_rate": "exact: substring of the indexed chunk",
                  "answer_language_match": "exact: script detection (tutor.answer.checker.answer_language)",
                  "quoted_fallback_rate": "exact: how the citation check ended (Answer.checked)"})
    names.update({m: judge_name for m in metrics.JUDGED_METRICS if judge_name})
    return names


def run_eval(settings: Settings, cases: Sequence[Case], config_names: Sequence[str], suite: str = "retrieval",
             judge: str | object = "offline", out_dir: Path | None = None, builder: Builder | None = None,
             resume: bool = False) -> Path:
    """Run the suite for every config and write the report.

    Args:
        settings: the base settings ("default" runs with them as they are).
        cases: the cases to run (already validated and limited).
        config_names: config names, see `evals.baselines.parse_config`.
        suite: "retrieval", "answers" or "all".
        judge: "offline", "llm", or a judge object (tests).
        out_dir: where to write; defaults to `evals/reports/<UTC timestamp>/`.
        builder: builds the pipelines; pass one with fakes in tests.
        resume: keep the records already checkpointed in `out_dir` (an interrupted run of
            the same cases) and run only the rest. Each record is appended to
            `out_dir/results.partial.jsonl` as soon as it is scored, so an answers run of
            hours loses at most one case when stopped.

    Returns:
        The report directory (summary.json, results.jsonl, report.md, report.html, plots).

    Raises:
        TutorError: a config, the index, a model or the judge is unusable (see the message).
    """


    if suite not in SUITES:
        raise ValueError(f"suite must be one of {', '.join(SUITES)}, not {suite!r}")
    configs = [parse_config(name, settings) for name in dict.fromkeys(config_names)]
    builder = builder or Builder()
    judge_obj = None
    if suite in ("answers", "all"):
        judge_obj = make_judge(judge, settings) if isinstance(judge, str) else judge
    started = datetime.now(timezone.utc)
    out_dir = Path(out_dir) if out_dir else REPORTS_DIR / started.strftime("%Y%m%dT%H%M%SZ")
    checkpoint = Checkpoint(out_dir, resume)
    records: list[dict] = []
    timings: dict[str, float] = {}
    missing: dict[str, dict[str, list[str]]] = {}
    # Build every pipeline first: it loads each index and reads its documents now,
    # before a concurrent `tutor ingest` can swap the build and delete the old one.
    pipelines = {config.name: builder.build(config) for config in configs}
    for config in configs:
        t0 = time.perf_counter()
        pipeline = pipelines[config.name]
        pipeline.warm_up(answers=suite != "retrieval")
        indexed = pipeline.doc_urls()
        missing[config.name] = _missing_gold(cases, indexed)
        steps = [(s, c) for s in ("retrieval", "answers") if suite in (s, "all") for c in cases]
        for step, case in tqdm(steps, desc=config.name, unit="case", disable=not builder.progress):
            record = checkpoint.done(config.name, step, case.id)
            if record is None:
                record = (retrieval_record(config, pipeline, case) if step == "retrieval"
                          else answer_record(config, pipeline, case, judge_obj))
                checkpoint.add(record)
            records.append(record)
        timings[config.name] = round(time.perf_counter() - t0, 1)
        log.info("%s: %d cases in %.1f s", config.name, len(cases), timings[config.name])
    summary = {
        "created": started.isoformat(timespec="seconds"), "suite": suite,
        "primary_metric": metrics.PRIMARY["retrieval" if suite == "retrieval" else "answers"],
        "judge": getattr(judge_obj, "name", None), "cases": {"n": len(cases), "ids": [c.id for c in cases]},
        "seconds_per_config": timings,
        "settings": {c.name: {k: str(v) for k, v in vars(c.settings).items() if k != "llm_api_key"} for c in configs},
        "pipelines": {name: p.describe() for name, p in pipelines.items()},
        "gold_urls_not_indexed": missing,
        "configs": summarise(records, configs, getattr(judge_obj, "name", None)),
    }
    if checkpoint.resumed:
        summary["resumed_records"] = checkpoint.resumed
    write_report(out_dir, summary, records)
    checkpoint.close()
    return out_dir


def _missing_gold(cases: Sequence[Case], indexed: set[str]) -> dict[str, list[str]]:
    """Gold URLs that no indexed document has: such a case can never score a hit."""
    missing: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        for url in case.gold_urls:
            if url not in indexed:
                missing[url].append(case.id)
    return dict(missing)
