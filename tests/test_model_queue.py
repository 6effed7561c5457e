"""The model's queue: only the model's part of a turn waits, in order, told where it stands; leaving frees the place."""

from __future__ import annotations

import threading
import time

import pytest

from tests.fake_backends import ScriptedGenerator
from tutor.backends.model_queue import ModelQueue, Place, QueueFull, waiting_text
from tutor.pipeline import Tutor
from tutor.retrieval.translate import QuestionTranslator

QUESTION = "What does LoRA freeze and train?"


def test_turns_get_the_model_in_order_and_are_told_their_place():
    queue = ModelQueue(slots=1)
    first, second, third = queue.ticket(), queue.ticket(), queue.ticket()
    assert list(first.wait()) == [] and first.holding  # nobody ahead: no waiting at all
    assert next(second.wait(poll=0)).ahead == 1 and next(third.wait(poll=0)).ahead == 2
    first.release()
    assert list(second.wait()) == [] and second.holding and not third.holding
    assert next(third.wait(poll=0)).ahead == 1  # it moved up
    second.release()
    assert list(third.wait()) == [] and queue.running == 1 and queue.waiting == 0
    third.release()
    assert queue.running == 0


def test_a_learner_who_leaves_gives_up_the_place_in_line():
    queue = ModelQueue(slots=1)
    running, leaving, staying = queue.ticket(), queue.ticket(), queue.ticket()
    list(running.wait())

    def turn(ticket):  # a turn's generator: it waits, then would use the model
        with ticket:
            yield from ticket.wait(poll=0.01)
            yield "model"

    left = turn(leaving)
    assert next(left).ahead == 1
    left.close()  # the tab was closed: gradio stops the turn at its next yield
    assert queue.waiting == 1 and next(staying.wait(poll=0)).ahead == 1
    running.release()
    assert list(staying.wait()) == [] and staying.holding


def test_a_waiting_turn_hears_from_the_queue_while_it_waits_and_starts_when_the_slot_frees():
    queue = ModelQueue(slots=1)
    holder = queue.ticket()
    list(holder.wait())
    timer = threading.Timer(0.3, holder.release)
    timer.start()
    places = list(queue.ticket().wait(poll=0.05))
    timer.join()
    assert len(places) >= 3 and all(p.ahead == 1 for p in places)  # regular news, so a closed tab is noticed
    assert queue.running == 1


def test_two_slots_serve_two_turns_at_once():
    queue = ModelQueue(slots=2)
    a, b, c = queue.ticket(), queue.ticket(), queue.ticket()
    assert list(a.wait()) == [] and list(b.wait()) == []
    assert next(c.wait(poll=0)).ahead == 2
    a.release()
    assert list(c.wait()) == [] and queue.running == 2


def test_a_full_line_says_so_instead_of_growing():
    queue = ModelQueue(slots=1, max_waiting=2)
    list(queue.ticket().wait())
    queue.ticket(), queue.ticket()
    with pytest.raises(QueueFull):
        queue.ticket()


def test_optional_model_work_runs_only_when_the_model_is_idle_and_nobody_waits():
    queue = ModelQueue(slots=2)
    now = queue.now()
    assert now is not None and now.holding and queue.now() is None  # a second slot is free, but the model is busy
    waiting = queue.ticket()
    now.release()
    assert queue.now() is None  # someone is in line: they go first
    list(waiting.wait())
    waiting.release()
    assert queue.now() is not None


def test_the_estimate_comes_from_measured_turns():
    queue = ModelQueue(slots=1)
    for _ in range(20):
        ticket = queue.ticket()
        list(ticket.wait())
        time.sleep(0.01)
        ticket.release()
    assert 0.005 < queue.mean_seconds < 1.0  # the first guess (20 s) has given way to what was measured
    assert "2 learners are ahead" in waiting_text(Place(2, 42.0), "en") and "about 40 s" in waiting_text(Place(2, 42.0), "en")
    assert "前面还有 2 位" in waiting_text(Place(2, 42.0), "zh")


class GatedGenerator(ScriptedGenerator):
    """A scripted model that records whether its stream was closed before the end."""

    def __init__(self, *scripts: str) -> None:
        super().__init__(*scripts, can_translate=True)
        self.closed_early = 0

    def stream(self, turn):
        finished = False
        try:
            yield from super().stream(turn)
            finished = True
        finally:
            if not finished:
                self.closed_early += 1


def evidence_tutor(settings, built_index, embedder, queue_kw=None):
    settings = settings.replace(explain=True, llm_slots=1, **(queue_kw or {}))
    gen = GatedGenerator("In other words, the pretrained weights stay frozen and only two small matrices train [1].")
    return Tutor(settings, index=built_index, embedders=embedder, judge=embedder, generator=gen), gen


def test_the_evidence_does_not_wait_for_a_busy_model(evidence_settings, built_index, embedder):
    tutor, gen = evidence_tutor(evidence_settings, built_index, embedder)
    other = tutor.queue.ticket()  # another learner's explanation is being written
    list(other.wait())
    steps = tutor.stream(QUESTION)
    assert next(steps).kind == "sources"
    evidence = next(steps)
    assert evidence.kind == "token" and evidence.text.startswith("**From the sources**")
    status = next(steps)
    assert status.kind == "status" and "1 learner is ahead" in status.text and gen.turns == []
    other.release()
    rest = list(steps)
    assert rest[-1].answer.evidence and "only two small matrices train" in rest[-1].answer.text
    assert [t.mode for t in gen.turns] == ["evidence"] and tutor.queue.running == 0


def test_a_turn_stopped_while_the_model_writes_stops_the_model_and_frees_the_slot(evidence_settings, built_index,
                                                                                  embedder):
    tutor, gen = evidence_tutor(evidence_settings, built_index, embedder)
    steps = tutor.stream(QUESTION)
    while not (step := next(steps)).text.startswith("**What it means**") and "What it means" not in step.text:
        pass
    assert tutor.queue.running == 1
    next(steps)  # the model's first words
    steps.close()  # the learner left
    assert gen.closed_early == 1 and tutor.queue.running == 0 and tutor.queue.waiting == 0


def test_past_the_longest_line_the_learner_gets_the_evidence_and_is_told_why(evidence_settings, built_index, embedder):
    tutor, gen = evidence_tutor(evidence_settings, built_index, embedder, {"max_waiting": 1})
    list(tutor.queue.ticket().wait())
    tutor.queue.ticket()  # one running, one waiting: the line is full
    answer = tutor.ask(QUESTION)
    assert answer.evidence and gen.turns == []
    assert answer.text.startswith("**From the sources**") and "1 learners are waiting for the model" in answer.text


def test_a_chinese_question_is_searched_without_translation_while_the_model_is_busy(tmp_path):
    gen = ScriptedGenerator("What is LoRA?", can_translate=True)
    translator = QuestionTranslator(gen, tmp_path / "translations.sqlite")
    queue = ModelQueue(slots=1)
    busy = queue.ticket()
    list(busy.wait())
    assert translator.english("LoRA 是什么？", queue) == "" and gen.turns == []
    busy.release()
    assert translator.english("LoRA 是什么？", queue) == "What is LoRA?"  # not remembered as untranslatable
    assert queue.running == 0


def test_a_quiz_question_is_a_fill_in_the_blank_while_the_model_is_busy():
    from core.types import Hit
    from tests.conftest import make_chunks
    from tutor.teach.quiz_turn import _question

    hit = Hit(make_chunks()[0], 1.0, 1)
    sentence = "LoRA freezes the pretrained weights and trains two small low-rank matrices A and B."
    gen = ScriptedGenerator("What does LoRA freeze, and what does it train?", can_translate=True)
    queue = ModelQueue(slots=1)
    busy = queue.ticket()
    list(busy.wait())
    text, model = _question(gen, "LoRA", hit, sentence, "beginner", queue)
    assert model == "cloze" and gen.turns == [] and "____" in text
    busy.release()
    text, model = _question(gen, "LoRA", hit, sentence, "beginner", queue)
    assert model == gen.model_id and text.startswith("What does LoRA freeze") and queue.running == 0
