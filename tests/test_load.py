"""Load: 20 learners chat at once through gradio_client; turns run side by side and chats stay apart.

(Only the model's part of a turn waits, in the tutor's own queue: tests/test_model_queue.py.)
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

from core.config import Settings
from tests.fakes import ScriptedTutor
from tests.test_ui_app import free_port, text_of
from ui.app import build_app, launch

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")

CHATS = 20


class CountingTutor(ScriptedTutor):
    """A scripted tutor that records how many answers were being generated at the same time."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.active = self.peak = 0
        self.lock = threading.Lock()

    def stream(self, *args, **kwargs):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            yield from super().stream(*args, **kwargs)
        finally:
            with self.lock:
                self.active -= 1


def test_twenty_simultaneous_chats_finish_without_errors(tmp_path):
    tutor = CountingTutor(delay=0.02)
    settings = Settings(host="127.0.0.1", port=free_port(), home=tmp_path / "data")
    app = build_app(tutor, settings)
    url = launch(app, settings, block=False)
    start = threading.Barrier(CHATS)

    def chat(i: int) -> tuple[str, str]:
        client = Client(url, verbose=False)  # one browser session each
        start.wait(timeout=120)  # every learner asks at the same moment
        first, *_ = client.predict(f"question {i}?", [], "explain", "beginner", "All parts", api_name="/ask")
        second, *_ = client.predict(f"follow-up {i}?", first, "socratic", "beginner", "All parts", api_name="/ask")
        return text_of(first[-1]), text_of(second[-1])

    try:
        with ThreadPoolExecutor(CHATS) as pool:
            replies = list(pool.map(chat, range(CHATS), timeout=240))
    finally:
        app.close()

    assert len(replies) == CHATS
    assert all(a.startswith("LoRA freezes") and b.startswith("LoRA freezes") for a, b in replies)
    assert tutor.peak > 1  # no learner's sources and evidence wait behind another learner's turn
    follow_ups = {call[0]: call[1] for call in tutor.calls if call[0].startswith("follow-up")}
    assert len(follow_ups) == CHATS
    for i in range(CHATS):  # each session kept its own history under load
        assert [m.content for m in follow_ups[f"follow-up {i}?"] if m.role == "user"] == [f"question {i}?"]
