"""The learning commands: `tutor ask --save-card`, `tutor review`, `tutor progress`, `tutor cards`, `tutor learner`."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.conftest import make_chunks
from tests.fake_backends import HashEmbedder
from tutor import cli
from tutor.learn.cards import make_card
from tutor.learn.learner import Learner
from tutor.learn.store import LearnerStore

LORA = make_chunks()[0]
QUOTE = "LoRA freezes the pretrained weights and trains two small low-rank matrices A and B."


@pytest.fixture
def run(settings, built_index, monkeypatch):
    """`tutor ...` in-process over the fake index; returns (exit code, stdout, stderr)."""
    from index import embed

    monkeypatch.setitem(embed.EMBEDDERS, "hash", HashEmbedder)
    for key, value in {"TUTOR_HOME": str(settings.home), "TUTOR_EMBEDDER": "hash", "TUTOR_JUDGE_EMBEDDER": "hash",
                       "TUTOR_MIN_RELEVANCE": "0.05", "TUTOR_LLM": "extractive"}.items():
        monkeypatch.setenv(key, value)

    def call(*argv, stdin=""):
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr("sys.stderr", err)
        code = cli.main(list(argv), stdin=io.StringIO(stdin), stdout=out)
        return code, out.getvalue(), err.getvalue()
    return call


def _store(settings):
    return LearnerStore(settings.home / "learners.sqlite")


def _saved(settings, name="local"):
    learner = Learner(_store(settings), name)
    learner.save(make_card("What does LoRA freeze?", QUOTE, LORA, url=LORA.doc_url, title=LORA.title, origin="answer"))
    return learner


def test_ask_save_card_keeps_the_answer_for_review(run, settings):
    code, out, _ = run("ask", "What does LoRA freeze?", "--save-card")
    assert code == 0 and "saved as a card for local" in out
    (card,) = Learner(_store(settings)).cards()
    assert card.question == "What does LoRA freeze?" and card.url == LORA.doc_url and card.quote in LORA.text
    code, out, _ = run("ask", "What does LoRA freeze?", "--save-card")  # the same answer again: still one card
    assert len(Learner(_store(settings)).cards()) == 1


def test_review_grades_the_reply_proposes_a_rating_and_schedules(run, settings):
    _saved(settings)
    code, out, _ = run("review", stdin="it freezes the pretrained weights and trains low-rank matrices A and B\n\n")
    assert code == 0 and "[1 due] What does LoRA freeze?" in out and "Proposed: **" in out
    assert "next review 20" in out and "1 reviewed" in out
    ((_, rating, _),) = _store(settings).reviews("local")
    assert rating in ("good", "easy")  # the proposal, taken with Enter
    code, out, _ = run("review")
    assert code == 0 and "[1 due]" not in out and "the next card is due" in out


def test_review_takes_the_learners_own_rating(run, settings):
    _saved(settings)
    code, out, _ = run("review", stdin="no idea\nh\n")
    assert code == 0 and [r[1] for r in _store(settings).reviews("local")] == ["hard"]
    assert "Not quite." in out


def test_cards_export_writes_an_anki_deck_and_an_unknown_learner_is_named(run, settings, tmp_path):
    _saved(settings, "ana")
    code, out, _ = run("cards", "export", str(tmp_path / "deck.apkg"), "--learner", "ana")
    assert code == 0 and "1 card written" in out and zipfile.is_zipfile(tmp_path / "deck.apkg")
    code, _, err = run("cards", "export", str(tmp_path / "bob.csv"), "--learner", "bob")
    assert code == 1 and "no learner 'bob'" in err and "known: ana" in err and not (tmp_path / "bob.csv").exists()


def test_learner_export_then_import_elsewhere_doubles_nothing(run, settings, tmp_path):
    learner = _saved(settings, "ana")
    learner.review(learner.next_due(), "good")
    assert run("learner", "export", str(tmp_path / "ana.json"), "--learner", "ana")[0] == 0
    data = json.loads((tmp_path / "ana.json").read_text(encoding="utf-8"))
    assert data["learner"] == "ana" and len(data["cards"]) == 1 and len(data["reviews"]) == 1
    code, out, _ = run("learner", "import", str(tmp_path / "ana.json"), "--as", "bo")
    assert code == 0 and "imported: 1 cards, 1 reviews" in out
    code, out, _ = run("learner", "import", str(tmp_path / "ana.json"), "--as", "bo")
    assert code == 0 and "imported: 0 cards, 0 reviews, 0 activity" in out
    assert [c.id for c in Learner(_store(settings), "bo").cards()] == [c.id for c in learner.cards()]
    assert run("learner", "list")[1].split() == ["ana", "bo"]
    (tmp_path / "bad.json").write_text('{"format": "something else"}', encoding="utf-8")
    code, _, err = run("learner", "import", str(tmp_path / "bad.json"))
    assert code == 1 and "not a learner export" in err


def test_progress_prints_the_roadmap(run, settings):
    code, out, _ = run("progress")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("0 of ") and "Next:" in lines[-1]


def test_a_corrupt_learner_file_stops_with_a_clear_error_and_is_kept(run, settings):
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "learners.sqlite").write_bytes(b"garbage" * 100)
    code, _, err = run("progress")
    assert code == 1 and "left untouched" in err
    assert (settings.home / "learners.sqlite").read_bytes() == b"garbage" * 100


@pytest.mark.slow  # ~1,500 reviews through the learner database (~20 s)
def test_optimise_fits_fsrs_to_enough_reviews_only(run, settings):
    from datetime import datetime, timedelta, timezone

    from fsrs.scheduler import DEFAULT_PARAMETERS

    from tutor.learn.schedule import MIN_REVIEWS_TO_OPTIMISE

    _saved(settings, "ana")
    code, out, _ = run("learner", "optimise", "--learner", "ana")
    assert code == 0 and f"fitting needs {MIN_REVIEWS_TO_OPTIMISE}" in out
    store, clock = _store(settings), [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    learner = Learner(store, "ana", clock=lambda: clock[0])
    for n in range(60):
        learner.save(make_card(f"Question {n}?", f"Answer number {n} is here.", None, url="https://e.org/", title="e",
                               origin="answer"))
    ratings = ("again", "good", "good", "hard", "good", "easy", "good", "good", "good")
    for k in range(3 * MIN_REVIEWS_TO_OPTIMISE):  # the most overdue card each time: some forgotten, most recalled
        if learner.next_due() is None:
            clock[0] = learner.next_due_at() + timedelta(hours=k % 30)
        learner.review(learner.next_due(), ratings[k % len(ratings)])
    code, out, _ = run("learner", "optimise", "--learner", "ana")
    assert code == 0 and "FSRS fitted to" in out
    assert store.schedule("ana").scheduler.parameters != tuple(DEFAULT_PARAMETERS)


def test_the_learner_can_come_from_settings(run, settings, monkeypatch):
    monkeypatch.setenv("TUTOR_LEARNER", "ana")
    code, out, _ = run("ask", "What does LoRA freeze?", "--save-card")
    assert code == 0 and "saved as a card for ana" in out
    assert _store(settings).learners() == ["ana"]
    code, out, _ = run("cards", "list")
    assert code == 0 and out.strip().endswith("1 card")
