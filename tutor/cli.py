"""`tutor` command line: a dispatcher over library functions.

Each subcommand parses its flags and calls one library function; `TutorError`s
become one line on stderr and exit code 1. `main(argv)` is testable in-process.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Iterable, Sequence, TextIO

from tutor.config import Settings
from tutor.errors import TutorError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tutor", description="A tutor for generative AI that answers from the "
                                "Generative AI Handbook's sources, with citations.")
    p.add_argument("--config", help="TOML settings file (default: $TUTOR_CONFIG or ./tutor.toml)")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="fetch/read sources, extract, chunk, embed and (re)build the index")
    ing.add_argument("--warc", action="append", default=[], metavar="FILE", help="add a WARC file (repeatable)")
    ing.add_argument("--url", action="append", default=[], metavar="URL", help="add a page URL (repeatable)")
    ing.add_argument("--notes", action="append", default=[], metavar="DIR", help="add a folder of notes (repeatable)")
    ing.add_argument("--no-default", action="store_true", help="skip the default corpus (snapshot or curated list)")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")

    for name, text in (("retrieve", "show the passages retrieved for questions"), ("ask", "answer questions")):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
        sp.add_argument("--jsonl", action="store_true", help='read {"id", "question"} lines on stdin, write JSON lines')
        if name == "retrieve":
            sp.add_argument("--k", type=int, default=10, help="number of passages (default 10)")
        else:
            sp.add_argument("--mode", default="explain", help="tutoring mode (default explain)")
            sp.add_argument("--level", default="beginner", choices=("beginner", "practitioner"))
            sp.add_argument("--llm", choices=("local", "openai", "extractive"), help="backend (overrides TUTOR_LLM)")
            sp.add_argument("--model", help="model name or .gguf path (overrides TUTOR_LLM_MODEL)")

    from evals.cli import add_parser as add_eval_parser

    add_eval_parser(sub)

    chat = sub.add_parser("chat", help="start the Gradio chat")
    chat.add_argument("--host", help="bind address (default 127.0.0.1)")
    chat.add_argument("--port", type=int, help="port (default 7860)")
    return p


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    try:
        overrides = {}
        if args.command == "ask":
            overrides = {"llm": args.llm, "llm_model": args.model}
        elif args.command == "chat":
            overrides = {"host": args.host, "port": args.port}
        settings = Settings.load(args.config, **overrides)
        logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
        return _COMMANDS[args.command](settings, args, stdin, stdout)
    except TutorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _ingest(settings: Settings, args, stdin, stdout) -> int:
    from ingest.run import run_ingest

    report = run_ingest(settings, args.warc, args.url, args.notes, use_default=not args.no_default,
                        show_progress=not args.quiet)
    print(report.summary(), file=stdout)
    return 0


def _questions(args, stdin) -> Iterable[tuple[object, str]]:
    if not args.jsonl:
        if not args.question:
            raise TutorError("give a question, or --jsonl with questions on stdin")
        yield None, args.question
        return
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            yield item.get("id"), str(item["question"])
        except (ValueError, KeyError, AttributeError):
            raise TutorError(f'stdin line {number} is not a JSON object with a "question": {line.strip()[:80]}') from None


def _retrieve(settings: Settings, args, stdin, stdout) -> int:
    from tutor.pipeline import Tutor

    tutor = Tutor(settings)
    for qid, question in _questions(args, stdin):
        hits = tutor.retriever.search(question, args.k)
        rows = [{"rank": h.rank, "url": h.chunk.doc_url, "title": h.chunk.title,
                 "section": h.chunk.heading, "score": round(h.score, 4), "text": h.chunk.text} for h in hits]
        if args.jsonl:
            print(json.dumps({"id": qid, "hits": rows}, ensure_ascii=False), file=stdout, flush=True)
        else:
            for r in rows:
                print(f"{r['rank']:>2}. {r['score']:.3f}  {r['title']} — {r['section']}\n    {r['url']}", file=stdout)
    return 0


def _ask(settings: Settings, args, stdin, stdout) -> int:
    from tutor.pipeline import Tutor

    tutor = Tutor(settings)
    for qid, question in _questions(args, stdin):
        if args.jsonl:
            a = tutor.ask(question, mode=args.mode, level=args.level)
            row = {"id": qid, "question": question, "answer": a.text,
                   "citations": [{"n": c.n, "url": c.url, "title": c.title, "quote": c.quote} for c in a.citations],
                   "refused": a.refused, "ttft_ms": round(a.ttft_ms, 1), "total_ms": round(a.total_ms, 1)}
            print(json.dumps(row, ensure_ascii=False), file=stdout, flush=True)
            continue
        streamed = []
        for step in tutor.stream(question, mode=args.mode, level=args.level):
            if step.kind == "token":
                streamed.append(step.text)
                print(step.text, end="", file=stdout, flush=True)
            elif step.kind == "answer":
                _print_answer(step.answer, "".join(streamed), stdout)
    return 0


def _print_answer(answer, streamed: str, out) -> None:
    print(file=out)
    if answer.text.strip() != streamed.strip():
        print(f"\n(after checking its citations)\n{answer.text}", file=out)
    if answer.citations:
        print("\nSources:", file=out)
    for c in answer.citations:
        flag = "" if c.supported else "  (not verified)"
        print(f"[{c.n}] {c.title}{flag}\n    {c.link or c.url}\n    “{c.quote.strip()[:300]}”", file=out)
    print(f"\n({answer.model}; first token {answer.ttft_ms / 1000:.1f} s, total {answer.total_ms / 1000:.1f} s)", file=out)


def _eval(settings: Settings, args, stdin, stdout) -> int:
    from evals.cli import run

    return run(settings, args, stdout)


def _chat(settings: Settings, args, stdin, stdout) -> int:
    from ui.app import main as launch

    launch(settings)
    return 0


_COMMANDS = {"ingest": _ingest, "retrieve": _retrieve, "ask": _ask, "eval": _eval, "chat": _chat}

if __name__ == "__main__":
    sys.exit(main())
