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

from tqdm import tqdm

from core.config import Settings
from core.errors import IndexMissing, TutorError
from evals.cases import load_cases
from evals.cli import add_parser as add_eval_parser
from evals.cli import run
from index.embed import make_embedders
from index.legs import add_leg, write_failure
from ingest.catalog import format_statuses, source_statuses
from ingest.refresh import progress_bar
from ingest.run import run_ingest
from tutor.feedback import FeedbackStore
from tutor.learn.learner import Learner, recheck_after_ingest
from tutor.learn.store import LearnerStore
from tutor.learn_cli import COMMANDS as LEARNING
from tutor.learn_cli import add_parsers as add_learning_parsers
from tutor.learn_cli import run as run_learning
from tutor.pipeline import Tutor
from tutor.repl import converse
from tutor.retrieval.train_reranker import train_reranker

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tutor", description="A tutor for generative AI that answers from the "
                                "Generative AI Handbook's sources, with citations.")
    p.add_argument("--config", help="TOML settings file (default: $TUTOR_CONFIG or ./tutor.toml)")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="fetch/read sources, extract, chunk, embed and (re)build the index")
    ing.add_argument("--warc", action="append", default=[], metavar="FILE", help="add a WARC file (saved: later runs refresh it; repeatable)")
    ing.add_argument("--url", action="append", default=[], metavar="URL", help="add a page URL (saved: later runs refresh it; repeatable)")
    ing.add_argument("--notes", action="append", default=[], metavar="DIR", help="add a folder of notes (saved: later runs refresh it; repeatable)")
    ing.add_argument("--no-default", action="store_true", help="skip the default corpus (snapshot or curated list)")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")
    ing.add_argument("--sitemap", action="append", default=[], metavar="URL",
                     help="add the pages a sitemap.xml (or sitemap index) lists (repeatable)")
    ing.add_argument("--remove", action="append", default=[], metavar="SOURCE",
                     help="forget a source you added (URL, sitemap URL, notes folder or WARC file); "
                          "its pages leave the index in this run (repeatable)")
    ing.add_argument("--allow-removal", action="store_true",
                     help="let this run remove more than 10 indexed documents no source yields any more "
                          "(e.g. with --no-default); without it such a run stops and changes nothing")
    ing.add_argument("--save-warc", metavar="FILE", help="also write every page fetched over HTTP to this WARC file")

    src = sub.add_parser("sources", help="list the curated and your own sources with their status in the last ingest")
    src.add_argument("--status", metavar="STATUS", help="only sources with this status (e.g. failed, ok, unchanged)")

    for name, text in (("retrieve", "show the passages retrieved for questions"), ("ask", "answer questions")):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
        sp.add_argument("--jsonl", action="store_true", help='read {"id", "question"} lines on stdin, write JSON lines')
        sp.add_argument("--part", metavar="NAME", help="only passages from this handbook part (a name or a unique piece of one)")
        sp.add_argument("--source", metavar="URL", help="only passages from sources whose URL starts with this")
        if name == "retrieve":
            sp.add_argument("--k", type=int, default=10, help="number of passages (default 10)")
        else:
            sp.add_argument("--mode", default="explain", choices=("explain", "socratic", "quiz", "path"),
                            help="tutoring mode (default explain)")
            sp.add_argument("--interactive", "-i", action="store_true",
                            help="a conversation: read messages line by line (hints climb, quiz replies are graded)")
            sp.add_argument("--level", default="beginner", choices=("beginner", "practitioner"))
            sp.add_argument("--llm", choices=("local", "openai", "extractive"), help="backend (overrides TUTOR_LLM)")
            sp.add_argument("--model", help="model name or .gguf path (overrides TUTOR_LLM_MODEL)")
            sp.add_argument("--save-card", action="store_true",
                            help="keep each answer as a card to review (`tutor review`) for --learner")
            sp.add_argument("--learner", help="whose cards and progress (default: TUTOR_LEARNER, else 'local')")

    tr = sub.add_parser("train-reranker", help="fine-tune the cross-encoder reranker on pairs mined from the index "
                        "(use it with TUTOR_RERANKER=trained)")
    tr.add_argument("--queries", type=int, default=1200, help="training queries to mine (default 1200)")
    tr.add_argument("--steps", type=int, default=150, help="training steps of 8 queries (default 150)")
    tr.add_argument("--minutes", type=float, default=20.0, help="stop training after this long (default 20)")
    tr.add_argument("--layers", type=int, default=3, help="keep the first N of MiniLM's 6 layers (default 3: faster)")
    tr.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 2 only on an idle machine)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")


    add_eval_parser(sub)

    feedback = sub.add_parser("feedback", help="learners' ratings of answers, stored by the chat")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)
    export = feedback_sub.add_parser("export", help="write every rating as a JSON line")
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")

    leg = sub.add_parser("leg", help="build the background retrieval leg (TUTOR_BACKGROUND_EMBEDDER, default "
                         "EmbeddingGemma) into the live index, resuming where a stopped build left off; then embed "
                         "the passages' sentences with TUTOR_EVIDENCE_EMBEDDER, which ranks the evidence")
    leg.add_argument("--quiet", action="store_true", help="no progress bar")

    add_learning_parsers(sub)

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
        if args.command in LEARNING:
            return run_learning(settings, args, stdin, stdout)
        return _COMMANDS[args.command](settings, args, stdin, stdout)
    except TutorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _ingest(settings: Settings, args, stdin, stdout) -> int:
    report = run_ingest(settings, args.warc, args.url, args.notes, use_default=not args.no_default,
                        show_progress=not args.quiet, sitemaps=args.sitemap, remember=True, remove=args.remove,
                        save_warc=args.save_warc, allow_removal=args.allow_removal)
    stale = recheck_after_ingest(settings)  # learners' cards whose quote left its page are flagged, never deleted
    if stale:
        report.notes.append(f"{stale} learner cards quote passages no longer in the sources (flagged, kept)")
    print(report.summary(), file=stdout)
    _keep_sentences(settings, show_progress=not args.quiet)
    # (exit 2: the index was refreshed, but an input failed and its pages' old copies were kept)
    return 2 if report.sources("failed", inputs=True) else 0


def _keep_sentences(settings: Settings, show_progress: bool) -> None:
    """The passages' sentences embedded now, so the first questions' evidence does not wait for them."""
    with tqdm(desc="sentences", unit="sentence", disable=not show_progress) as bar:
        try:
            Tutor(settings).keep_sentences(progress=lambda done, total: _advance(bar, done, total))
        except IndexMissing:
            pass  # nothing was built: nothing to embed
        except TutorError as e:  # the index is built and live: only the first answers' speed is at stake
            log.warning("the passages' sentences were not embedded ahead (%s): they will be as questions come", e)


def _advance(bar, done: int, total: int) -> None:
    bar.total = total
    bar.update(done - bar.n)


def _sources(settings: Settings, args, stdin, stdout) -> int:
    rows = source_statuses(settings)
    if args.status:
        rows = [r for r in rows if r.status == args.status]
    print(format_statuses(rows), file=stdout)
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
    tutor = Tutor(settings)
    part, source = _filters(tutor, args)
    where = _both((lambda c: c.part == part) if part else None, source)
    for qid, question in _questions(args, stdin):
        hits = tutor.retriever.search(question, args.k, where)
        rows = [{"rank": h.rank, "url": h.chunk.doc_url, "title": h.chunk.title,
                 "section": h.chunk.heading, "score": round(h.score, 4), "text": h.chunk.text} for h in hits]
        if args.jsonl:
            print(json.dumps({"id": qid, "hits": rows}, ensure_ascii=False), file=stdout, flush=True)
        else:
            for r in rows:
                print(f"{r['rank']:>2}. {r['score']:.3f}  {r['title']} — {r['section']}\n    {r['url']}", file=stdout)
    return 0


def _ask(settings: Settings, args, stdin, stdout) -> int:
    tutor = Tutor(settings)
    part, tutor.retriever.scope = _filters(tutor, args)
    if args.interactive:
        def show(answer, streamed, out):  # as in one-shot asks: counted on the roadmap, kept with --save-card
            _print_answer(answer, streamed, out)
            _keep(settings, args, answer, out)

        converse(tutor, stdin, stdout, show, mode=args.mode, level=args.level, part=part)
        return 0
    for qid, question in _questions(args, stdin):
        if args.jsonl:
            a = tutor.ask(question, mode=args.mode, level=args.level, part=part)
            row = {"id": qid, "question": question, "answer": a.text,
                   "citations": [{"n": c.n, "url": c.url, "title": c.title, "quote": c.quote} for c in a.citations],
                   "evidence": [{"n": e.n, "url": e.url, "title": e.title, "section": e.section,
                                 "sentence": e.sentence, "key": e.key, "rendering": e.rendering, "block": e.block}
                                for e in a.evidence],
                   "refused": a.refused, "mode": a.mode, "notes": list(a.notes), "evidence_ms": round(a.evidence_ms, 1),
                   "ttft_ms": round(a.ttft_ms, 1), "total_ms": round(a.total_ms, 1)}
            print(json.dumps(row, ensure_ascii=False), file=stdout, flush=True)
            continue
        streamed = []
        for step in tutor.stream(question, mode=args.mode, level=args.level, part=part):
            if step.kind == "token":
                streamed.append(step.text)
                print(step.text, end="", file=stdout, flush=True)
            elif step.kind == "answer":
                _print_answer(step.answer, "".join(streamed), stdout)
                _keep(settings, args, step.answer, stdout)
    return 0


def _keep(settings: Settings, args, answer, stdout) -> None:
    """Count the question on the learner's roadmap (a graded quiz reply becomes a card) and, with --save-card,
    keep the answer as a card."""
    learner = Learner(LearnerStore.for_settings(settings), args.learner or settings.learner)
    learner.record(answer)  # a graded quiz reply keeps its question as a card
    if args.save_card:
        card = learner.save_answer(answer)
        print(f"\nsaved as a card for {learner.name}: review it with `tutor review`" if card else
              "\n(nothing to save as a card: this answer cites no source sentence)", file=stdout)


def _filters(tutor, args):
    """Resolve --part (a part name, or a piece of exactly one) and --source (a URL prefix) against the index.

    Returns the full part name (or None) and a chunk filter for the source (or None).
    """
    part = source = None
    if getattr(args, "part", None):
        parts, wanted = tutor.parts(), args.part.strip()
        matches = [p for p in parts if p == wanted] or [p for p in parts if wanted.lower() in p.lower()]
        if len(matches) != 1:
            raise TutorError(f"--part {wanted!r} matches {len(matches) or 'no'} handbook parts; use one of: "
                             + "; ".join(parts))
        part = matches[0]
    if getattr(args, "source", None):
        prefix = args.source.strip()
        if not any(c.doc_url.startswith(prefix) for c in tutor.index.chunks):
            raise TutorError(f"no indexed source starts with {prefix!r}: `tutor sources` lists them")
        source = lambda c: c.doc_url.startswith(prefix)  # noqa: E731
    return part, source


def _both(a, b):
    return (lambda c: a(c) and b(c)) if a and b else a or b


def _train_reranker(settings: Settings, args, stdin, stdout) -> int:
    bar = tqdm(total=args.steps, desc="training the reranker", unit="step", disable=args.quiet)

    def progress(done: int, total: int, loss: float) -> None:
        bar.total = total
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}")

    excluded = [c.question for c in load_cases()]  # never trained on: the eval would score what it learned
    tutor = Tutor(settings)
    record = train_reranker(settings, excluded=excluded, index=tutor.index, embedders=tutor.embedders,
                            queries=args.queries, max_steps=args.steps, max_seconds=args.minutes * 60,
                            layers=args.layers, threads=args.threads, progress=progress)
    bar.close()
    print(f"reranker saved in {settings.home}/reranker: {record['queries']} queries, {record['pairs']} pairs, "
          f"{record['steps']} steps in {record['training_seconds']:.0f} s; use it with TUTOR_RERANKER=trained",
          file=stdout)
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
    for note in answer.notes:
        print(f"note: {note}", file=out)
    print(f"\n({answer.model}; first token {answer.ttft_ms / 1000:.1f} s, total {answer.total_ms / 1000:.1f} s)", file=out)


def _eval(settings: Settings, args, stdin, stdout) -> int:
    return run(settings, args, stdout)


def _chat(settings: Settings, args, stdin, stdout) -> int:
    from ui.app import main as launch  # Gradio (2.5 s to import): only when the chat opens

    launch(settings)
    return 0


def _leg(settings: Settings, args, stdin, stdout) -> int:
    spec = settings.background_embedder.strip()
    if not spec:
        print("no background leg is configured (TUTOR_BACKGROUND_EMBEDDER is empty)", file=stdout)
    for embedder in make_embedders(spec, settings.models_dir) if spec else []:
        try:
            build = add_leg(settings.index_dir, embedder, progress=progress_bar(not args.quiet))
        except TutorError as e:
            write_failure(settings.index_dir, embedder.model_id, str(e))
            raise
        print(f"the {embedder.model_id} leg is in the live index ({build.name})", file=stdout)
    name = settings.evidence_embedder.strip()
    if name and name != settings.judge_embedder:  # (after the leg: the chat answers from it meanwhile)
        try:
            with tqdm(desc="sentences", unit="sentence", disable=args.quiet) as bar:
                held = Tutor(settings).keep_evidence_sentences(progress=lambda done, total: _advance(bar, done, total))
            print(f"the evidence is ranked by {name} ({held} sentences kept)", file=stdout)
        except TutorError as e:  # (the legs are built: the judge ranks the evidence, as before)
            print(f"the evidence stays ranked by the judge: {e}", file=stdout)
    return 0


def _feedback(settings: Settings, args, stdin, stdout) -> int:
    store = FeedbackStore.for_settings(settings)
    if not args.out:
        count = store.export(stdout)
    else:
        try:
            with open(args.out, "w", encoding="utf-8") as out:
                count = store.export(out)
        except OSError as e:
            raise TutorError(f"cannot write {args.out}: {e.strerror}; choose another --out file") from None
    print(f"exported {count} ratings from {store.path}" + (f" to {args.out}" if args.out else ""), file=sys.stderr)
    return 0


_COMMANDS = {"train-reranker": _train_reranker, "ingest": _ingest, "sources": _sources, "retrieve": _retrieve, "ask": _ask, "eval": _eval, "chat": _chat, "feedback": _feedback,
             "leg": _leg}

if __name__ == "__main__":
    sys.exit(main())
