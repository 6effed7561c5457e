"""Several learners in real browser tabs: evidence at once, a queue that tells each where they stand, and a tab
closed while waiting leaves the line (gradio stops the turn; tutor/backends/model_queue.py gives the place up)."""

from __future__ import annotations

import time

import pytest

from tests.fake_backends import ScriptedGenerator
from tests.test_browser import WAIT, ask, browser, open_app  # noqa: F401 - fixtures
from tutor.pipeline import Tutor

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")]

QUESTION = "What does LoRA freeze and train?"


def until(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_closed_tab_leaves_the_line_and_the_next_learner_moves_up(open_app, evidence_settings, built_index,
                                                                    embedder):
    generator = ScriptedGenerator("In other words, the pretrained weights stay frozen and two small matrices train [1].",
                                  can_translate=True)
    tutor = Tutor(evidence_settings.replace(explain=True, llm_slots=1), index=built_index, embedders=embedder, judge=embedder,
                  generator=generator)
    busy = tutor.queue.ticket()  # another learner's explanation is being written
    list(busy.wait())
    leaving, _ = open_app(tutor)
    ask(leaving, QUESTION)
    leaving.locator("#chat").get_by_text("From the sources").wait_for(timeout=WAIT)  # the evidence did not wait
    leaving.locator("#chat").get_by_text("1 learner is ahead of you", exact=False).wait_for(timeout=WAIT)
    staying = leaving.context.new_page()
    staying.goto(leaving.url)
    ask(staying, QUESTION)
    staying.locator("#chat").get_by_text("2 learners are ahead of you", exact=False).wait_for(timeout=WAIT)
    assert tutor.queue.waiting == 2
    leaving.close()  # the first learner gives up
    assert until(lambda: tutor.queue.waiting == 1), "the closed tab's turn stayed in the line"
    staying.locator("#chat").get_by_text("1 learner is ahead of you", exact=False).wait_for(timeout=WAIT)
    busy.release()
    staying.locator("#chat").get_by_text("two small matrices train", exact=False).wait_for(timeout=WAIT)
    assert until(lambda: tutor.queue.running == 0 and tutor.queue.waiting == 0)
    assert [t.mode for t in generator.turns] == ["evidence"]  # only the learner who stayed reached the model
    staying.close()
