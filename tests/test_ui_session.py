"""The chat logic under the UI, without gradio: streamed turns, history, ratings, the shared tutor."""

from __future__ import annotations

import logging
import threading

import pytest

from core.errors import BackendUnavailable, IndexMissing
from core.types import Answer, Message, Step
from tests.fakes import DECLINE, ScriptedTutor, lora_script
from tutor.feedback import FeedbackStore
from ui.session import (GENERIC_ERROR, NO_SOURCES, SEARCHING, Exchange, TutorHolder, chunk_ids, history, mode_choices,
                        part_names, rate, stream_turn)

QUESTION = "How does LoRA cut the cost of fine-tuning a large model?"


def run(tutor, question=QUESTION, exchanges=(), mode="explain", level="beginner", part=None, reply_index=1):
    return list(stream_turn(lambda: tutor, question, list(exchanges), mode, level, part, reply_index))


def answered(question="first?", mode="explain", reply_index=1) -> Exchange:
    tutor = ScriptedTutor()
    return Exchange(question, tutor.ask(question, mode=mode), mode=mode, reply_index=reply_index)


# --- stream_turn --------------------------------------------------------------


def test_progress_then_sources_then_tokens_then_the_verified_answer():
    updates = run(ScriptedTutor(), reply_index=5)
    assert (updates[0].reply, updates[0].sources) == (SEARCHING, NO_SOURCES)
    assert updates[1].reply == "_Found 2 passages · writing the answer…_"
    assert updates[1].sources.startswith("- **1.** <a href=")
    streamed = [u.reply for u in updates[2:-1]]
    assert streamed == ["LoRA freezes ", "LoRA freezes the model&#x27;s weights ",
                        "LoRA freezes the model&#x27;s weights [1] and trains ",
                        "LoRA freezes the model&#x27;s weights [1] and trains small matrices [2] [3]."]
    assert all(u.exchange is None for u in updates[:-1])
    last = updates[-1]
    assert "<a href=" in last.reply and "&#91;3&#93;" not in last.reply  # the verified text replaces the stream
    assert last.exchange == Exchange(QUESTION, last.exchange.answer, mode="explain", level="beginner", reply_index=5)
    assert last.exchange.answer.model == "scripted"



class WaitingTutor(ScriptedTutor):
    """A scripted tutor whose turn waits in the model's queue after its first token."""

    def stream(self, *args, **kwargs):
        for n, step in enumerate(super().stream(*args, **kwargs)):
            yield step
            if n == 1:
                yield Step(kind="status", text="⏳ Explanation queued: 1 learner is ahead of you, about 20 s to go.")


def test_where_a_waiting_turn_stands_shows_under_the_reply_until_the_model_speaks():
    updates = run(WaitingTutor())
    waiting = [u.reply for u in updates if "queued" in u.reply]
    assert waiting == ["LoRA freezes \n\n_⏳ Explanation queued: 1 learner is ahead of you, about 20 s to go._"]
    after = updates[updates.index(next(u for u in updates if "queued" in u.reply)) + 1:]
    assert after and not any("queued" in u.reply for u in after)  # the next token replaces it

def test_mode_level_and_part_reach_the_tutor():
    tutor = ScriptedTutor()
    run(tutor, mode="quiz", level="practitioner", part="Part III")
    assert tutor.calls[0][2:] == ("quiz", "practitioner", "Part III")


def test_a_part_without_passages_gets_the_refusal():
    updates = run(ScriptedTutor(), part="Part IX")
    assert updates[1].reply == "_No passage matched; checking what the handbook covers…_"
    assert updates[-1].exchange.answer.refused and updates[-1].reply == DECLINE.replace("'", "&#x27;")
    assert updates[-1].exchange.part == "Part IX"


def test_a_tutor_error_is_shown_with_what_to_do_and_the_sources_stay():
    error = BackendUnavailable("the model server at http://127.0.0.1:8080 did not answer; start it with <b>llama</b>")
    last = run(ScriptedTutor(error=error))[-1]
    assert last.reply == ("⚠ the model server at http://127.0.0.1:8080 did not answer; start it with "
                          "&lt;b&gt;llama&lt;/b&gt;")
    assert last.sources.startswith("- **1.**")
    assert last.exchange.answer is None and last.exchange.error.startswith("⚠ the model server")


def test_an_unknown_mode_is_a_plain_config_error():
    last = run(ScriptedTutor(), mode="debate")[-1]
    assert last.reply.startswith("⚠ mode &#x27;debate&#x27; is not one of: explain")
    assert last.sources == NO_SOURCES


def test_a_missing_index_is_explained():
    class NoIndex(ScriptedTutor):
        def stream(self, *args, **kwargs):
            raise IndexMissing("no index in data/index: run `tutor ingest` first (or `make demo`)")
            yield  # a generator, like the real one

    assert run(NoIndex())[-1].reply == "⚠ no index in data/index: run `tutor ingest` first (or `make demo`)"


def test_an_unexpected_error_is_logged_and_shown_generically(caplog):
    with caplog.at_level(logging.ERROR, logger="ui.session"):
        last = run(ScriptedTutor(error=RuntimeError("secret internal detail")))[-1]
    assert last.reply == GENERIC_ERROR and last.exchange.error == GENERIC_ERROR
    assert any("answering" in r.getMessage() and r.exc_info for r in caplog.records)


# --- history ------------------------------------------------------------------


def test_history_carries_cited_chunk_ids_and_mode():
    first, second = answered("first?", "quiz", 1), answered("second?", "explain", 3)
    hits, *_ = lora_script()
    messages = history([first, Exchange("broken?", error="⚠ down", reply_index=5), second])
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]  # the failed turn is left out
    assert messages[0] == Message("user", "first?")
    assert messages[1] == Message("assistant", first.answer.text, (hits[0].chunk.id, hits[1].chunk.id), "quiz")
    assert messages[3].mode == "explain"


def test_chunk_ids_fall_back_to_the_retrieved_passages():
    hits, *_ = lora_script()
    assert chunk_ids(Answer("q", "A question for you?", (), hits)) == tuple(h.chunk.id for h in hits)
    assert chunk_ids(Answer("q", "Nothing.")) == ()


def test_the_previous_answer_reaches_the_tutor_as_history():
    tutor, first = ScriptedTutor(), answered("first?", "quiz")
    run(tutor, "my answer is B", [first], mode="quiz")
    assert tutor.calls[0][1] == history([first])


# --- modes --------------------------------------------------------------------


def test_mode_choices_come_from_the_pipeline():
    from tutor.pipeline import MODES

    assert [name for _, name in mode_choices()] == list(MODES)
    assert ("Explain", "explain") in mode_choices()


def test_mode_choices_from_a_mapping_or_names():
    assert mode_choices({"explain": "Explain", "path": ""}) == [("Explain", "explain"), ("Learning path", "path")]
    assert mode_choices(["explain", "deep_dive"]) == [("Explain", "explain"), ("Deep Dive", "deep_dive")]


# --- ratings ------------------------------------------------------------------


def test_rate_adds_switches_and_takes_back(settings):
    store, exchange = FeedbackStore.for_settings(settings), answered(reply_index=3)
    rated, row = rate(store, [exchange], {}, 3, True, {"llm": "local"})
    assert rated == {3: row, "last": row}
    assert [(r["rating"], r["question"], r["config"]) for r in store.records()] == [("up", "first?", {"llm": "local"})]
    rated, again = rate(store, [exchange], rated, 3, False, {})
    assert again == row and [r["rating"] for r in store.records()] == ["down"]  # changed, not added
    rated, gone = rate(store, [exchange], rated, 3, "", {})
    assert gone is None and rated == {} and store.records() == []


def test_rate_ignores_messages_that_are_not_replies(settings):
    store = FeedbackStore.for_settings(settings)
    assert rate(store, [answered(reply_index=1)], {}, 0, True, {}) == ({}, None)
    assert store.records() == []


def test_an_error_reply_can_be_rated(settings):
    store = FeedbackStore.for_settings(settings)
    exchange = Exchange("q?", error="⚠ backend down", mode="quiz", level="practitioner", reply_index=1)
    rate(store, [exchange], {}, 1, "Dislike", {})
    (record,) = store.records()
    assert (record["answer"], record["model"], record["mode"], record["level"]) == ("⚠ backend down", "error", "quiz", "practitioner")


# --- the shared tutor -----------------------------------------------------------


def test_a_factory_is_called_once_even_by_racing_threads():
    made = []
    holder = TutorHolder(lambda: made.append(ScriptedTutor()) or made[-1])
    assert not holder.built
    threads = [threading.Thread(target=holder.get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and holder.get() is made[0]


def test_reload_rebuilds_from_the_old_tutor_or_the_factory():
    old = ScriptedTutor()
    holder = TutorHolder(old, reload=lambda previous: ScriptedTutor(hits=previous.hits[:1]))
    holder.reload()
    assert holder.get() is not old and len(holder.get().hits) == 1

    made = []
    by_factory = TutorHolder(lambda: made.append(ScriptedTutor()) or made[-1])
    by_factory.get()
    by_factory.reload()
    assert by_factory.get() is made[1]

    fixed = ScriptedTutor()
    kept = TutorHolder(fixed)
    kept.reload()
    assert kept.get() is fixed


def test_part_names_from_the_tutor_or_none_without_an_index(caplog):
    assert part_names(ScriptedTutor()) == [("Part III", "Part III")]

    class NoIndex(ScriptedTutor):
        def parts(self):
            raise IndexMissing("no index: run `tutor ingest` first")

    with caplog.at_level(logging.WARNING, logger="ui.session"):
        assert part_names(NoIndex()) == []
    assert "run `tutor ingest` first" in caplog.text


@pytest.mark.parametrize("real", [False, True], ids=["scripted", "tutor"])
def test_parts_contract(real, settings, built_index, embedder):
    """The fake lists parts like the real tutor: names of parts that hold passages."""
    from tutor.pipeline import Tutor

    tutor = Tutor(settings, index=built_index, embedders=embedder, judge=embedder) if real else ScriptedTutor()
    parts = tutor.parts()
    assert parts and all(isinstance(p, str) and p for p in parts) and len(set(parts)) == len(parts)
