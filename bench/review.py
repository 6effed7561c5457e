"""A reviewing session's latency on this machine: `python -m bench.review [--cards 300] [--reviews 80]`.

A learner with `--cards` cards made from the live index's passages (the sentence a quiz would ask about, as a
fill-in-the-blank) reviews `--reviews` of them the way the chat does (ui/review.py): the next due card is shown,
the reply is graded against the card's passage by the real judge embedder (half the replies right, half wrong,
a third of them in Chinese), the rating is recorded with FSRS, and the progress map is drawn. Times each step
(model loading excluded) and prints p50/p95 against the targets (next card <= 100 ms, grading <= 300 ms p95), as a
markdown block for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.run import pct
from core.config import Settings
from core.types import Hit
from tutor.citations.cite import SupportScorer
from tutor.learn.cards import make_card
from tutor.learn.learner import Learner
from tutor.learn.store import LearnerStore
from tutor.pipeline import Tutor
from tutor.teach import quiz
from ui.review import next_card, progress_panel, rate_card, review_turn

WRONG = ("I am not sure, maybe it is about the learning rate.", "它和数据增强有关。", "It makes the model bigger.")


def session(settings: Settings, cards: int, reviews: int, seed: int = 0) -> dict[str, list[float]]:
    tutor = Tutor(settings)
    scorer = SupportScorer(tutor.judge)
    scorer.embedder.embed_queries(["warm up"])  # the judge loads here, not in the first timed grade
    rng = random.Random(seed)
    chunks = [c for c in tutor.index.chunks if c.lang == "en"]
    rng.shuffle(chunks)
    clock = [datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)]
    with tempfile.TemporaryDirectory() as home:
        learner = Learner(LearnerStore(Path(home) / "learners.sqlite"), "bench", clock=lambda: clock[0])
        made = 0
        for chunk in chunks:
            hit = Hit(chunk, 1.0, 1)
            sentences = quiz.worth_asking(hit)
            if not sentences:
                continue
            question, blank = quiz.cloze(sentences[0])
            if blank and learner.save(make_card(question, sentences[0], chunk, url=chunk.doc_url, title=chunk.title,
                                                answer=blank, origin="section")):
                made += 1
            if made >= cards:
                break
        times: dict[str, list[float]] = {"next card": [], "grading": [], "rating + next card": [], "progress map": []}
        _, pending = next_card(learner)
        for n in range(reviews):
            if pending is None:
                clock[0] += timedelta(days=1)
                started = time.perf_counter()
                _, pending = next_card(learner)
                times["next card"].append(time.perf_counter() - started)
                if pending is None:
                    break
            card = pending.due.card
            reply = (card.answer if n % 2 == 0 else WRONG[n % len(WRONG)]) if n % 3 else f"应该是 {card.answer}"
            started = time.perf_counter()
            _, pending = review_turn(learner, pending, reply, lambda: scorer)
            times["grading"].append(time.perf_counter() - started)
            started = time.perf_counter()
            _, pending = rate_card(learner, pending, pending.proposal.rating)
            times["rating + next card"].append(time.perf_counter() - started)
            if n % 10 == 0:
                started = time.perf_counter()
                progress_panel(learner)
                times["progress map"].append(time.perf_counter() - started)
            clock[0] += timedelta(minutes=1)
        times["next card"] += _next_only(learner, 30)
        times["cards"] = [made]
    return times


def _next_only(learner: Learner, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        next_card(learner)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=300)
    parser.add_argument("--reviews", type=int, default=80)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    times = session(Settings.load(), args.cards, args.reviews)
    made = times.pop("cards")[0]
    targets = {"next card": 0.100, "grading": 0.300}
    print(f"### A reviewing session (`python -m bench.review --cards {args.cards} --reviews {args.reviews}`), "
          f"{date.today()}, {platform.machine()}, {os.cpu_count()} cores, load before {load:.2f}\n")
    print(f"{made} cards from the live index; the judge is `{Settings.load().judge_embedder}`.\n")
    print("| step | n | p50 ms | p95 ms | target p95 |\n|---|---|---|---|---|")
    for step, values in times.items():
        target = f"≤ {targets[step] * 1000:.0f} ms" if step in targets else ""
        print(f"| {step} | {len(values)} | {pct(values, 0.5) * 1000:.1f} | {pct(values, 0.95) * 1000:.1f} | {target} |")


if __name__ == "__main__":
    main()
