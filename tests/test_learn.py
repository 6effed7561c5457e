"""Learning that lasts: cards from cited passages, FSRS reviews with an injected clock, the learner database."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest
from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler

from core.errors import LearnerError, ReviewConflict
from core.types import Answer, Chunk, Citation, Evidence, Hit
from tutor.citations.cite import SupportScorer
from tutor.learn.cards import card_id, from_answer, make_card
from tutor.learn.learner import Learner
from tutor.learn.review import propose
from tutor.learn.schedule import Schedule
from tutor.learn.store import MIGRATIONS, LearnerStore
from tutor.teach.outline import load_outline

START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
STOP = load_outline()[3]  # a real stop of the roadmap
CHUNK = Chunk("https://example.org/lora", "LoRA", "How it works", "LoRA freezes the pretrained weights and trains "
              "two small low-rank matrices per layer. This cuts the trainable parameters by 10,000 times.", 0, 120,
              STOP.part, STOP.name)
QUOTE = "LoRA freezes the pretrained weights and trains two small low-rank matrices per layer."


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


def _card(question="What does LoRA freeze?"):
    return make_card(question, QUOTE, CHUNK, url=CHUNK.doc_url, title=CHUNK.title, origin="answer")


def _learner(tmp_path, name="ana"):
    clock = Clock()
    return Learner(LearnerStore(tmp_path / "learners.sqlite"), name, clock=clock), clock


def test_a_card_is_named_by_its_content_and_comes_from_a_cited_sentence():
    answer = Answer("What does LoRA freeze?", "…", hits=(Hit(CHUNK, 1.0, 1),),
                    evidence=(Evidence(1, CHUNK.id, CHUNK.doc_url, CHUNK.title, QUOTE, 0, rendering=""),))
    card = from_answer(answer)
    assert card.quote == QUOTE and card.answer == QUOTE and (card.part, card.section) == (STOP.part, STOP.name)
    assert card.id == card_id("What does LoRA freeze?", QUOTE, CHUNK.doc_url) == from_answer(answer).id
    assert card.link.startswith(CHUNK.doc_url + "#:~:text=") and card.language == "en"
    zh = Answer("LoRA 冻结了什么？", "…", hits=(Hit(CHUNK, 1.0, 1),),
                evidence=(Evidence(1, CHUNK.id, CHUNK.doc_url, CHUNK.title, QUOTE, 0, rendering="LoRA 冻结预训练权重。"),))
    assert from_answer(zh).answer == "LoRA 冻结预训练权重。" and from_answer(zh).quote == QUOTE
    assert from_answer(zh).language == "zh" and from_answer(zh).id != card.id
    cited = Answer("q?", "x [1]", citations=(Citation(1, CHUNK.id, CHUNK.doc_url, "LoRA", QUOTE, supported=False),))
    assert from_answer(cited) is None and from_answer(Answer("q?", "no", refused=True)) is None


def test_scheduling_follows_fsrs_itself(tmp_path):
    learner, clock = _learner(tmp_path)
    good, hard = _card("What does LoRA freeze?"), _card("What does LoRA train?")
    learner.save(good), learner.save(hard)
    first = learner.next_due()
    assert first.card.id in {good.id, hard.id} and first.left == 2
    by_id = {}
    while (due := learner.next_due()) is not None:
        by_id[due.card.id] = learner.review(due, "good" if due.card.id == good.id else "hard")
    assert by_id[good.id] > by_id[hard.id]  # answered Good: due later than Hard
    # A simulated month, always answering Good when due, against the library directly.
    scheduler, reference = Scheduler(enable_fuzzing=False), FsrsCard(card_id=1, due=START)
    reference, _ = scheduler.review_card(reference, Rating.Good, review_datetime=START)
    days = 0
    while (clock.at - START).days < 30:
        clock.at = max(clock.at + timedelta(minutes=1), reference.due)
        due = learner.next_due()
        while due is not None and due.card.id != good.id:
            learner.review(due, "good")
            due = learner.next_due()
        if due is None:
            continue
        assert abs((learner.review(due, "good") - clock.at) - (scheduler.review_card(reference, Rating.Good,
                   review_datetime=clock.at)[0].due - clock.at)) < timedelta(seconds=1)
        reference, _ = scheduler.review_card(reference, Rating.Good, review_datetime=clock.at)
        days += 1
    assert days >= 3 and len(learner.store.reviews("ana")) >= days


def test_a_review_reply_is_graded_against_the_passage_and_a_rating_proposed():
    card, scorer = _card(), SupportScorer(None)
    right = propose(card, "It freezes the pretrained weights and trains low-rank matrices per layer", scorer)
    assert right.verdict == "correct" and right.rating in ("good", "easy")
    assert propose(card, "", scorer).rating == "again"
    assert propose(card, "the learning rate", scorer).rating == "again"


def test_the_same_card_saved_twice_is_one_card_and_two_tabs_count_one_review(tmp_path):
    learner, clock = _learner(tmp_path)
    assert learner.save(_card()) and not learner.save(_card())
    assert len(learner.cards()) == 1
    tab_one, tab_two = learner.next_due(), learner.next_due()
    learner.review(tab_one, "good")
    with pytest.raises(ReviewConflict):
        learner.review(tab_two, "again")
    assert [r[1] for r in learner.store.reviews("ana")] == ["good"]


def test_many_reviews_at_once_lose_none(tmp_path):
    store = LearnerStore(tmp_path / "learners.sqlite")
    learners = [Learner(store, f"l{i}", clock=lambda: START) for i in range(6)]
    for one in learners:
        one.save(_card())
    errors = []

    def review(one):
        try:
            one.review(one.next_due(), "good")
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=review, args=(one,)) for one in learners]
    [t.start() for t in threads], [t.join() for t in threads]
    assert not errors and all(len(store.reviews(one.name)) == 1 for one in learners)


@pytest.mark.parametrize("round_", range(3))
def test_stores_opening_a_new_file_at_once_each_migrate_it_once(tmp_path, round_):
    # Twenty chats starting together each open the learner file through their own store: every one must see one
    # schema, none may run a migration another already ran ("table ... already exists").
    path, errors, gate = tmp_path / "learners.sqlite", [], threading.Barrier(8)

    def open_and_use(i):
        try:
            gate.wait()
            LearnerStore(path).ensure(f"l{i}", START)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=open_and_use, args=(i,)) for i in range(8)]
    [t.start() for t in threads], [t.join() for t in threads]
    assert not errors
    assert LearnerStore(path).learners() == [f"l{i}" for i in range(8)]
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_an_older_database_is_migrated_without_losing_anything(tmp_path):
    path = tmp_path / "learners.sqlite"
    old = LearnerStore(path, migrations=MIGRATIONS[:1])  # what the first version wrote: cards and reviews
    old.add("ana", _card(), START)
    old.review("ana", _card().id, "good", START, 0, Schedule())
    new = Learner(LearnerStore(path), "ana", clock=lambda: START + timedelta(days=30))
    assert [c.id for c in new.cards()] == [_card().id] and len(new.store.reviews("ana")) == 1
    assert (tmp_path / "learners.sqlite.v1.bak").exists()
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    new.asked(Answer("q", "a", hits=(Hit(CHUNK, 1.0, 1),)))  # the migrated file takes the new kind of record
    assert new.progress()[3].status in ("quizzed", "remembered")


@pytest.mark.parametrize("content", [b"not a database at all, a text file", b"SQLite format 3\x00" + b"\x07" * 5000])
def test_a_corrupt_database_is_refused_and_left_untouched(tmp_path, content):
    path = tmp_path / "learners.sqlite"
    path.write_bytes(content)
    learner = Learner(LearnerStore(path), "ana")
    with pytest.raises(LearnerError, match="left untouched"):
        learner.cards()
    assert path.read_bytes() == content and sorted(p.name for p in tmp_path.iterdir()) == ["learners.sqlite"]


def test_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "learners.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE x (y)")
        con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(LearnerError, match="newer"):
        LearnerStore(path).learners()


def test_an_unknown_learner_is_named_with_those_known(tmp_path):
    learner, _ = _learner(tmp_path)
    learner.save(_card())
    with pytest.raises(LearnerError, match="known: ana"):
        learner.store.require("bob")


def test_progress_moves_from_asked_to_quizzed_to_remembered(tmp_path):
    learner, clock = _learner(tmp_path)
    index = 3
    assert learner.progress()[index].status == "not started"
    learner.asked(Answer("What does LoRA freeze?", "…", hits=(Hit(CHUNK, 1.0, 1),)))
    assert learner.progress()[index].status == "asked" and learner.progress()[index].asked == 1
    learner.save(_card())
    learner.review(learner.next_due(), "good")
    rows = learner.progress()
    assert rows[index].status in ("quizzed", "remembered") and rows[index].cards == 1
    for _ in range(4):  # good reviews when due: recall stays high today
        clock.at = learner.next_due_at()
        learner.review(learner.next_due(), "good")
    assert learner.progress()[index].status == "remembered"
    clock.at += timedelta(days=3650)  # ten years on, it has faded
    rows = learner.progress()
    assert rows[index].status == "quizzed" and rows[index].recall < 0.7
    assert learner.what_next(rows)[0] == rows[index]  # the weakest comes first
    assert all(r.status == "not started" for r in learner.what_next(rows)[1:])


def test_schedule_state_round_trips():
    schedule = Schedule()
    state = schedule.new_state(START)
    assert schedule.recall(state, START) is None and schedule.due(state) == START
    state, due = schedule.review(state, "easy", START)
    assert due > START + timedelta(days=1) and 0.99 < schedule.recall(state, START) <= 1.0


def test_a_reingest_keeps_cards_and_flags_those_whose_quote_left(settings, built_index, embedder):
    from index.build import build_index
    from tests.conftest import DOCS, make_chunks
    from tutor.learn.learner import recheck_after_ingest
    from ui.review import next_card

    learner = Learner(LearnerStore.for_settings(settings), clock=lambda: START)
    lora = make_chunks()[0]
    quote = "LoRA freezes the pretrained weights and trains two small low-rank matrices A and B."
    learner.save(make_card("What does LoRA freeze?", quote, lora, url=lora.doc_url, title=lora.title, origin="answer"))
    assert recheck_after_ingest(settings) == 0 and not learner.next_due().stale  # same passage: same card, fresh
    changed = [dataclasses.replace(DOCS[0], text=DOCS[0].text.replace("two small", "a pair of")), *DOCS[1:]]
    build_index(settings.index_dir, changed, make_chunks(changed), embedder)
    assert recheck_after_ingest(settings) == 1
    due = learner.next_due()
    assert due.stale and due.card.quote == quote and len(learner.cards()) == 1  # flagged, not deleted
    assert "no longer in the sources" in next_card(learner)[0]


def test_fsrs_is_fitted_only_from_enough_reviews():
    import random

    from fsrs.scheduler import DEFAULT_PARAMETERS

    from tutor.learn.schedule import MIN_REVIEWS_TO_OPTIMISE, optimised

    rng, schedule, reviews = random.Random(0), Schedule(), []
    for n in range(120):  # a learner who forgets a sixth of the time
        state, at = schedule.new_state(START), START + timedelta(hours=n)
        for _ in range(8):
            rating = rng.choice(["again", "hard", "good", "good", "good", "easy"])
            state, due = schedule.review(state, rating, at)
            reviews.append((n, rating, at))
            at = due + timedelta(hours=rng.randint(0, 48))
    assert optimised(reviews[: MIN_REVIEWS_TO_OPTIMISE - 1]) is None
    fitted = optimised(reviews)
    assert fitted is not None and tuple(fitted) != tuple(DEFAULT_PARAMETERS) and len(fitted) == len(DEFAULT_PARAMETERS)
    Schedule(fitted).review(Schedule().new_state(START), "good", START)  # the scheduler takes them


def test_a_sections_cards_ask_what_its_own_passages_teach(evidence_settings, embedder):
    from index.build import build_index
    from index.search import Index
    from tests.conftest import DOCS, make_chunks
    from tutor.learn.section_cards import section_cards
    from tutor.pipeline import Tutor

    stops = {s.name_en: s for s in load_outline()}
    lora = stops["Low-Rank Adapters (LoRA)"]
    docs = [dataclasses.replace(DOCS[0], part=lora.part, section=lora.name), *DOCS[1:]]
    build_index(evidence_settings.index_dir, docs, make_chunks(docs), embedder)
    settings = evidence_settings.replace(llm="extractive", min_relevance=0.05)
    tutor = Tutor(settings, index=Index.load(settings.index_dir, embedder.model_id), embedders=embedder, judge=embedder)
    cards = section_cards(tutor, lora, 3)
    assert len(cards) == 1  # one page in the section, one card per page
    (card,) = cards
    assert card.url == DOCS[0].url and (card.part, card.section) == (lora.part, lora.name) and card.origin == "section"
    assert "_____" in card.question and card.answer and card.question.replace("_____", card.answer) == card.quote
    assert card.quote in DOCS[0].text


def test_what_next_goes_on_from_where_the_learner_was_last(tmp_path):
    learner, clock = _learner(tmp_path)
    outline = load_outline()
    for index in (40, 10):  # the roadmap's later stop first, then an earlier one: the learner is at 10 now
        stop = outline[index]
        chunk = dataclasses.replace(CHUNK, part=stop.part, section=stop.name)
        learner.asked(Answer("q?", "a", hits=(Hit(chunk, 1.0, 1),)))
        clock.at += timedelta(hours=1)
    rows = learner.progress()
    assert [rows.index(r) for r in learner.what_next(rows)] == [11, 12, 13]
    assert learner.what_next(rows, limit=len(rows))[-1] == rows[9]  # then around to the start
