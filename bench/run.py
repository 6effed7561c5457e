"""Benchmarks, run by hand: `python -m bench.run [--ingest] [--ask N] [--retrieve N]`.

Measures, on the configured index and models:
- ingest: a full ingest of the default corpus into a temporary TUTOR_HOME
  (documents/s, chunks/s, index size on disk), then a no-op re-ingest;
- retrieve: latency per question (model load excluded), p50/p95;
- ask: time to first token and total, p50/p95, for the configured backend.

Questions come from the eval cases, so every run measures the same thing.
Prints a markdown block to paste into bench/RESULTS.md, with machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from core.config import Settings
from core.types import Message
from index.store import builds_dir
from ingest.run import run_ingest
from tutor.pipeline import Tutor
from tutor.repl import remember

CASES: list[Path] = []  # `--cases FILE`: questions from these files instead of the dev cases


def questions(n: int, answerable: bool = True, lang: str = "") -> list[str]:
    out = []
    for f in CASES or sorted(Path(__file__).resolve().parent.parent.glob("evals/cases/*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            if case["answerable"] == answerable and not case.get("history") and (not lang or case["lang"] == lang):
                out.append(case["question"])
    step = max(1, len(out) // n) if n else 1
    return out[::step][:n]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_ingest(settings: Settings) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        s = settings.replace(home=tmp)
        t0 = time.perf_counter()
        report = run_ingest(s, show_progress=False)
        full = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = run_ingest(s, show_progress=False)
        noop = time.perf_counter() - t0
        size = dir_size(builds_dir(s.index_dir))
    return [
        f"| full ingest of the snapshot ({report.documents} docs, {report.chunks} chunks, {report.embedder}) | {full:.1f} s "
        f"({report.documents / full:.2f} docs/s, {report.chunks / full:.1f} chunks/s) |",
        f"| re-ingest with nothing changed ({again.embedded} chunks embedded) | {noop:.1f} s |",
        f"| index size on disk (FAISS + SQLite + manifest) | {size / 1e6:.1f} MB |",
    ]


def bench_retrieve(settings: Settings, n: int) -> list[str]:
    tutor = Tutor(settings)
    t0 = time.perf_counter()
    tutor.retriever.search("warm up: load the index and the embedder", 5)
    load = time.perf_counter() - t0
    times = []
    for q in questions(n):
        t0 = time.perf_counter()
        tutor.retriever.search(q, 10)
        times.append((time.perf_counter() - t0) * 1000)
    return [
        f"| retrieve, {len(times)} questions, k=10 (hybrid, {settings.embedder}) | p50 {pct(times, .5):.0f} ms, "
        f"p95 {pct(times, .95):.0f} ms (first call incl. model load {load:.1f} s) |"
    ]


def bench_ask(settings: Settings, n: int) -> list[str]:
    """Answer latency without a first-token deadline (the baseline) and with the configured one, in one run."""
    rows, medians = [], {}
    label = f"{settings.llm}:{settings.llm_model}" if settings.llm != "extractive" else "extractive"
    generator = None
    target = settings.ttft_target or 4.0
    variants = (("no deadline: each passage cut to "
                 f"{settings.passage_tokens or 120} tokens", dict(ttft_target=0, passage_tokens=settings.passage_tokens or 120)),
                (f"first-token deadline {target:g} s", dict(ttft_target=target)))
    for name, changes in variants:
        tutor = Tutor(settings.replace(**changes), generator=generator)
        t0 = time.perf_counter()
        tutor.warm_up()  # loads the index, the embedders and the model, and primes the prompt cache; not counted
        tutor.ask(questions(1)[0])
        load = time.perf_counter() - t0
        generator = tutor.generator  # the second config reuses the loaded model
        ttft, total, sources, prompt = [], [], [], []
        for q in questions(n):
            t0 = time.perf_counter()
            for step in tutor.stream(q):
                if step.kind == "sources":
                    sources.append((time.perf_counter() - t0) * 1000)
                elif step.kind == "answer" and not step.answer.refused:
                    ttft.append(step.answer.ttft_ms)
                    total.append(step.answer.total_ms)
                    usage = getattr(generator, "last_usage", None) or {}
                    if usage.get("input_tokens"):
                        prompt.append(usage["input_tokens"] - (usage.get("input_token_details") or {}).get("cache_read", 0))
        medians[name] = pct(ttft, .5)
        tokens = f", new prompt tokens p50 {pct(prompt, .5):.0f}" if prompt else ""
        meter = getattr(generator, "meter", None)
        speed = f", measured prefill {meter.tokens_per_s:.0f} tok/s" if meter is not None and meter.measured else ""
        rows += [
            f"| ask, {len(ttft)} answered ({label}, {name}) — sources shown | p50 {pct(sources, .5):.0f} ms, p95 {pct(sources, .95):.0f} ms |",
            f"| ask ({name}) — time to first token | p50 {pct(ttft, .5) / 1000:.2f} s, p95 {pct(ttft, .95) / 1000:.2f} s{tokens}{speed} |",
            f"| ask ({name}) — total | p50 {pct(total, .5) / 1000:.2f} s, p95 {pct(total, .95) / 1000:.2f} s (warm-up {load:.1f} s) |",
        ]
    base, new = medians.values()
    if new:
        rows.append(f"| time to first token, no deadline / deadline | {base / new:.1f}x |")
    return rows


def bench_evidence(settings: Settings, n: int) -> list[str]:
    """Evidence first against the model-authored answer (the previous default), English and Chinese, one run.

    For each question: when the evidence is on screen, the model's first token and the total; and the
    retrieval alone, with and without the step that translates a Chinese question.
    """
    rows, generator = [], None
    for name, changes in (("model writes the answer (answer=author, 4 s deadline)", dict(answer="author")),
                          ("evidence first (answer=evidence)", dict(answer="evidence"))):
        tutor = Tutor(settings.replace(**changes), generator=generator)
        tutor.warm_up()
        generator = tutor.generator
        tutor.translator.store = None  # no translation kept from an earlier run or config: each is a first question
        for lang in ("en", "zh"):
            evidence, ttft, total = [], [], []
            for q in questions(n, lang=lang):
                tutor.translator._cache.clear()
                a = tutor.ask(q)
                if a.refused:
                    continue
                evidence.append(a.evidence_ms or a.ttft_ms)
                ttft.append(a.ttft_ms)
                total.append(a.total_ms)
            rows += [
                f"| {name}, {lang} ({len(total)} answered) — evidence (or first token) on screen | "
                f"p50 {pct(evidence, .5) / 1000:.2f} s, p95 {pct(evidence, .95) / 1000:.2f} s |",
                f"| {name}, {lang} — model's first token | p50 {pct(ttft, .5) / 1000:.2f} s, p95 {pct(ttft, .95) / 1000:.2f} s |",
                f"| {name}, {lang} — total | p50 {pct(total, .5) / 1000:.2f} s, p95 {pct(total, .95) / 1000:.2f} s |",
            ]
    for translate in (False, True):
        tutor = Tutor(settings.replace(translate=translate), generator=generator)
        tutor.translator.store = None
        for lang in ("en", "zh"):
            times = []
            for q in questions(n, lang=lang):
                tutor.translator._cache.clear()  # every question pays its translation, as a new one would
                t0 = time.perf_counter()
                tutor.retrieve(q)
                times.append((time.perf_counter() - t0) * 1000)
            rows.append(f"| retrieve {lang}, {'with' if translate else 'without'} the translation step | "
                        f"p50 {pct(times, .5):.0f} ms, p95 {pct(times, .95):.0f} ms |")
    return rows


def bench_modes(settings: Settings, n: int) -> list[str]:
    """Latency of the modes built without the model (hints, learning path) and of quiz grading."""
    tutor = Tutor(settings.replace(llm="extractive"))
    tutor.ask("warm up", mode="path")
    times: dict[str, list[float]] = {"socratic hint 1": [], "socratic hint 2": [], "learning path": [], "quiz grading": []}
    for q in questions(n):
        first = tutor.ask(q, mode="socratic")
        times["socratic hint 1"].append(first.total_ms)
        times["socratic hint 2"].append(tutor.ask("hint", [Message("user", q), remember(first)], mode="socratic").total_ms)
        times["learning path"].append(tutor.ask(q, mode="path").total_ms)
        quiz = tutor.ask(q, mode="quiz")
        if quiz.mode == "quiz":
            history = [Message("user", q), remember(quiz)]
            times["quiz grading"].append(tutor.ask("I think it is about attention", history, mode="quiz").total_ms)
    return [f"| {name} ({len(t)} questions) | p50 {pct(t, .5):.0f} ms, p95 {pct(t, .95):.0f} ms |" for name, t in times.items()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ingest", action="store_true", help="benchmark a full ingest and a no-op re-ingest")
    p.add_argument("--retrieve", type=int, default=50, help="questions for the retrieval benchmark (0 = skip)")
    p.add_argument("--ask", type=int, default=0, help="questions for the answer benchmark (0 = skip)")
    p.add_argument("--modes", type=int, default=0, help="questions for the tutoring-modes benchmark (0 = skip)")
    p.add_argument("--evidence", type=int, default=0,
                   help="questions per language for evidence first vs the model-authored answer (0 = skip)")
    p.add_argument("--cases", type=Path, action="append", default=[],
                   help="take the questions from this case file (repeatable) instead of evals/cases/*.jsonl")
    args = p.parse_args()
    for path in args.cases:
        if not path.is_file():
            p.error(f"--cases {path}: no such file (give a JSONL case file, e.g. evals/cases/fresh/fresh-v14.jsonl)")
    CASES[:] = args.cases
    settings = Settings.load()
    rows = []
    if args.ingest:
        rows += bench_ingest(settings)
    if args.retrieve:
        rows += bench_retrieve(settings, args.retrieve)
    if args.ask:
        rows += bench_ask(settings, args.ask)
    if args.modes:
        rows += bench_modes(settings, args.modes)
    if args.evidence:
        rows += bench_evidence(settings, args.evidence)
    print(f"### {date.today()} — {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}, "
          f"Python {platform.python_version()}\n\n| what | result |\n|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
