"""`tutor eval`: the command-line face of the eval runner.

Wired into `tutor/cli.py` with `add_parser(subparsers)` and `run(settings, args, stdout)`.
Importing this module is cheap; the runner and its models load inside `run`.

Examples:
    tutor eval --suite retrieval --config default --config bm25-only --config langchain-naive
    tutor eval --suite answers --config default+llm=extractive --limit 60
    tutor eval --suite all --config default --config default+embedder=use-multilingual+home=data-use
    tutor eval --suite answers --resume evals/reports/20261122T120000Z   # after Ctrl-C or a crash
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TextIO

from evals.cases import CaseError, load_cases, spread
from evals.pipelines import Builder
from evals.run import run_eval
from evals.split import only

log = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `eval` subcommand to a `tutor` subparsers object and return its parser."""
    p = subparsers.add_parser(
        "eval", help="run the eval suite and write a report to evals/reports/<timestamp>/",
        description="Run golden cases through one or more configs and compare them side by side. "
                    "Configs: default, bm25-only, dense-only, langchain-naive, each optionally with "
                    "+setting=value overrides (e.g. default+llm=extractive, dense-only+home=/data/use).")
    p.add_argument("--suite", choices=("retrieval", "answers", "all"), default="retrieval",
                   help="retrieval (fast, no LLM), answers (full pipeline, judged) or all (default retrieval)")
    p.add_argument("--cases", nargs="+", action="extend", metavar="FILE",
                   help="case files (JSONL; default: every evals/cases/*.jsonl)")
    # dest "configs": "config" is taken by the top-level --config (the TOML file).
    p.add_argument("--config", dest="configs", action="append", metavar="NAME",
                   help="a config to run (repeatable; default: default)")
    p.add_argument("--limit", type=int, metavar="N", help="run N cases, spread over the language pairs")
    p.add_argument("--half", choices=("tune", "test"),
                   help="only the cases of one half, split by source document (evals/split.py): tune on one, "
                        "report the other")
    # Kept in step with evals.judge.JUDGE_KINDS (a test checks), without importing it here.
    p.add_argument("--judge", choices=("offline", "offline-e5", "offline-use", "llm"), default="offline",
                   help="support judge for answers: offline (the default: USE-multilingual and "
                        "multilingual-e5-small judges, embeddings + overlap, must both agree, so the tutor's own "
                        "USE citation check cannot pass a claim alone), offline-e5, offline-use (one of them) "
                        "or llm (needs TUTOR_LLM_BASE_URL)")
    p.add_argument("--out", metavar="DIR", help="report directory (default evals/reports/<timestamp>)")
    p.add_argument("--resume", metavar="DIR",
                   help="finish an interrupted run: reuse the cases already scored in DIR (same --suite, "
                        "--config and cases) and write the report there")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(settings, args, stdout: TextIO) -> int:
    """Run `tutor eval` with parsed arguments; print the report directory.

    Raises:
        TutorError: bad cases, configs, index or judge (the CLI prints the message).
    """


    if args.limit is not None and args.limit < 1:
        raise CaseError(f"--limit must be at least 1, got {args.limit}")
    cases = load_cases(args.cases)
    if args.half:
        cases = only(cases, args.half)
    cases = spread(cases, args.limit)
    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise CaseError("--resume DIR writes the report into DIR; drop --out or give the same directory")
    out_dir = args.resume or args.out
    out = run_eval(settings, cases, args.configs or ["default"], suite=args.suite, judge=args.judge,
                   out_dir=Path(out_dir) if out_dir else None, builder=Builder(progress=not args.quiet),
                   resume=bool(args.resume))
    print(f"report: {out / 'report.html'}", file=stdout)
    return 0
