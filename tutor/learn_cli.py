"""`tutor review`, `tutor progress`, `tutor cards ...` and `tutor learner ...`: the learning commands of the CLI.

Thin shells over tutor/learn/: each parses its flags, calls one library function and prints. The learner is
`--learner` (default `$TUTOR_LEARNER`, else "local", the chat's learner when it asks for no login).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from core.config import Settings
from core.errors import ReviewConflict, TutorError
from tutor.citations.cite import SupportScorer
from tutor.learn.export import export
from tutor.learn.learner import Learner
from tutor.learn.progress_text import place, progress_text
from tutor.learn.review import RATING_NAMES, feedback
from tutor.learn.schedule import MIN_REVIEWS_TO_OPTIMISE
from tutor.learn.section_cards import section_cards
from tutor.learn.store import LearnerStore
from tutor.learn.transfer import read_import, write_export
from tutor.pipeline import Tutor
from tutor.teach.outline import Section, load_outline

COMMANDS = ("review", "progress", "cards", "learner")
_KEYS = {"a": "again", "h": "hard", "g": "good", "e": "easy", **{name: name for name in RATING_NAMES}}


def add_parsers(sub) -> None:
    def learner_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--learner", help="whose cards (default: TUTOR_LEARNER, else 'local', the chat's learner "
                       "without a login)")

    review = sub.add_parser("review", help="review the cards due now: answer, see the source, rate (FSRS schedules)")
    learner_flag(review)
    prog = sub.add_parser("progress", help="where you stand on the handbook's roadmap, and what to do next")
    learner_flag(prog)
    cards = sub.add_parser("cards", help="your cards: list, export (Anki .apkg or CSV), make some for a section")
    cards_sub = cards.add_subparsers(dest="cards_command", required=True)
    for name, text in (("list", "list your cards"), ("export", "write your cards as an Anki deck (.apkg) or CSV"),
                       ("section", "make a few cards for one handbook section")):
        p = cards_sub.add_parser(name, help=text)
        learner_flag(p)
        if name == "export":
            p.add_argument("out", help="the file to write: deck.apkg or cards.csv")
            p.add_argument("--format", choices=("apkg", "csv"), help="default: from the file's suffix")
        if name == "section":
            p.add_argument("name", help="the section (its English or Chinese name, or a unique piece of it)")
            p.add_argument("--count", type=int, default=3, help="cards to make (default 3)")
    learner = sub.add_parser("learner", help="list learners; move a learner's cards and reviews as JSON")
    learner_sub = learner.add_subparsers(dest="learner_command", required=True)
    learner_sub.add_parser("list", help="the learners in this data directory")
    out = learner_sub.add_parser("export", help="write one learner's cards, reviews and progress as JSON")
    learner_flag(out)
    out.add_argument("out", help="the JSON file to write")
    fit = learner_sub.add_parser("optimise", help=f"fit FSRS to your own reviews (needs {MIN_REVIEWS_TO_OPTIMISE}; "
                                 "until then FSRS's defaults serve)")
    learner_flag(fit)
    into = learner_sub.add_parser("import", help="merge an export in (nothing is doubled; importing twice is harmless)")
    into.add_argument("file", help="a file written by `tutor learner export`")
    into.add_argument("--as", dest="rename", metavar="NAME", help="import as this learner (default: the exported name)")


def run(settings: Settings, args, stdin: TextIO, stdout: TextIO) -> int:
    store = LearnerStore.for_settings(settings)
    if getattr(args, "learner", "") is None:
        args.learner = settings.learner
    if args.command == "learner":
        return _learner(store, args, stdout)
    learner = Learner(store, args.learner, retention=settings.review_retention)
    if args.command == "review":
        return review(learner, SupportScorer(Tutor(settings).judge), stdin, stdout)
    if args.command == "progress":
        rows = learner.progress()
        print(progress_text(rows, learner.what_next(rows)), file=stdout)
        return 0
    if args.cards_command == "section":
        made = section_cards(Tutor(settings), find_section(args.name), args.count)
        new = sum(learner.save(card) for card in made)
        for card in made:
            print(f"- {card.question}\n  answer: {card.answer}   ({card.link})", file=stdout)
        print(f"{_cards(new, 'new card')} for {args.learner} ({len(made) - new} you had already)", file=stdout)
        return 0
    store.require(learner.name)
    cards = learner.cards()
    if args.cards_command == "export":
        path = export(cards, Path(args.out), args.format)
        print(f"{_cards(len(cards))} written to {path}", file=stdout)
    else:
        for card in cards:
            print(f"- {card.question}\n  {card.answer}   ({card.link})", file=stdout)
        print(_cards(len(cards)), file=stdout)
    return 0


def review(learner: Learner, scorer: SupportScorer, stdin: TextIO, stdout: TextIO) -> int:
    """Due cards one by one until none is left or the input ends: answer, read the source, take or change the
    proposed rating (Enter takes it; a/h/g/e or the names change it; q stops)."""
    done = 0
    while (due := learner.next_due()) is not None:
        print(f"\n[{due.left} due] {due.card.question}", file=stdout)
        reply = _read(stdin, stdout, "your answer> ")
        if reply is None or reply.strip() == "q":
            break
        proposal = learner.grade(due.card, reply, scorer)
        print(feedback(due.card, proposal, due.card.language), file=stdout)
        choice = _read(stdin, stdout, f"rating [Enter = {proposal.rating}, a/h/g/e]> ")
        if choice is None or choice.strip() == "q":
            break
        rating = _KEYS.get(choice.strip().lower() or proposal.rating)
        if rating is None:
            print("not a rating: a (again), h (hard), g (good) or e (easy); this card stays due", file=stdout)
            continue
        try:
            when = learner.review(due, rating, reply=reply, proposed=proposal.rating)
        except ReviewConflict as e:
            print(str(e), file=stdout)
            continue
        done += 1
        print(f"{RATING_NAMES[rating][0]}: next review {when:%Y-%m-%d %H:%M} UTC", file=stdout)
    upcoming = learner.next_due_at()
    tail = f"; the next card is due {upcoming:%Y-%m-%d %H:%M} UTC" if upcoming else ""
    print(f"\n{done} reviewed{tail}" if done or upcoming else "\nno cards yet: save answers as cards "
          "(`tutor ask --save-card`, the chat's ★ button) or answer quiz questions", file=stdout)
    return 0


def find_section(name: str) -> Section:
    """The one roadmap section whose name (English or Chinese, section or part) is or contains `name`."""
    wanted, outline = name.strip().lower(), load_outline()
    for exact in (True, False):
        found = [s for s in outline if any((n.lower() == wanted) if exact else (wanted in n.lower())
                                           for n in (s.name_en, s.name, s.part_en) if n)]
        if len(found) == 1 or (found and exact):
            return found[0]
    if found:
        raise TutorError(f"{name!r} matches {len(found)} sections: " + "; ".join(place(s) for s in found[:8]))
    raise TutorError(f"no section named like {name!r}; `tutor progress` shows the roadmap")


def _learner(store: LearnerStore, args, stdout: TextIO) -> int:
    if args.learner_command == "list":
        print("\n".join(store.learners()) or "no learners yet", file=stdout)
    elif args.learner_command == "optimise":
        learner = Learner(store, store.require(args.learner))
        parameters = learner.optimise()
        count = len(store.reviews(learner.name))
        print(f"FSRS fitted to {count} reviews of {learner.name}; later reviews use it" if parameters else
              f"{learner.name} has {count} reviews; fitting needs {MIN_REVIEWS_TO_OPTIMISE}: FSRS's defaults serve "
              "until then", file=stdout)
    elif args.learner_command == "export":
        path = write_export(store, args.learner, Path(args.out))
        print(f"{args.learner} written to {path}", file=stdout)
    else:
        added = read_import(store, Path(args.file), args.rename)
        print(f"imported: {added['cards']} cards, {added['reviews']} reviews, {added['events']} activity records",
              file=stdout)
    return 0


def _cards(n: int, noun: str = "card") -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _read(stdin: TextIO, stdout: TextIO, prompt: str) -> str | None:
    print(prompt, end="", file=stdout, flush=True)
    line = stdin.readline()
    return None if not line else line.rstrip("\n")

