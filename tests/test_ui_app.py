"""The Gradio app with a scripted tutor: built without launching, then driven over loopback."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Callable

import gradio as gr
import pytest
from gradio_client import Client

from tests.fakes import LORA_URL, ScriptedTutor
from tutor.config import Settings
from tutor.errors import BackendUnavailable
from tutor.types import Message
from ui.app import GENERIC_ERROR, build_app, launch

# Gradio's own queue code trips pandas deprecation warnings; they are not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")

QUESTION = "How does LoRA cut the cost of fine-tuning a large model?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_of(message: dict) -> str:
    return "".join(part["text"] for part in message["content"] if part.get("type") == "text")


@pytest.fixture
def serve() -> Iterator[Callable[..., Client]]:
    """Launch `build_app(tutor)` on a free loopback port; return a client for it."""
    apps: list[gr.Blocks] = []

    def start(tutor) -> Client:
        settings = Settings(host="127.0.0.1", port=free_port())
        app = build_app(tutor, settings)
        apps.append(app)
        url = launch(app, settings, block=False)
        assert url.startswith("http://127.0.0.1:")
        return Client(url, verbose=False)

    yield start
    for app in apps:
        app.close()


def test_build_app_constructs_without_launching():
    app = build_app(ScriptedTutor(), Settings())
    assert isinstance(app, gr.Blocks)
    assert {"ask", "clear"} <= {fn.api_name for fn in app.fns.values()}
    assert not app.is_running


def test_ask_returns_the_final_answer_with_citation_links(serve):
    client = serve(ScriptedTutor())
    chat, sources, box = client.predict(QUESTION, [], "explain", "beginner", api_name="/ask")
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert text_of(chat[0]) == QUESTION
    answer = text_of(chat[1])
    # The final (verified) text, not the streamed tokens with the stray [3].
    assert answer.startswith("LoRA freezes the model&#x27;s weights <a href=")
    assert f'href="{LORA_URL}#:~:text=We%20propose%20Low%2DRank' in answer
    assert "**Sources**" in answer and "⚠ not verified" in answer
    assert "&#91;3&#93;" not in answer
    assert sources.startswith("- **1.** <a href=") and "Part III › Fine-tuning" in sources
    assert box == ""  # the question box is cleared


def test_sources_arrive_before_the_answer_text(serve):
    client = serve(ScriptedTutor(delay=0.05))
    job = client.submit(QUESTION, [], "explain", "beginner", api_name="/ask")
    job.result(timeout=30)
    updates = job.outputs()
    first_with_sources = next(i for i, (_, src, _) in enumerate(updates) if src.startswith("- **1.**"))
    chat_then = updates[first_with_sources][0]
    assert chat_then[-1]["role"] == "user" or text_of(chat_then[-1]) == ""  # no answer text yet
    streamed = [text_of(chat[-1]) for chat, _, _ in updates if chat[-1]["role"] == "assistant"]
    assert "LoRA freezes the model&#x27;s weights [1] and trains " in streamed  # a plain partial
    assert "<a href=" in streamed[-1]


def test_history_is_passed_as_messages(serve):
    tutor = ScriptedTutor()
    client = serve(tutor)
    chat, _, _ = client.predict("first?", [], "explain", "practitioner", api_name="/ask")
    client.predict("second?", chat, "explain", "practitioner", api_name="/ask")
    assert tutor.calls[0][1:] == ((), "explain", "practitioner")
    assert tutor.calls[1][1] == (Message("user", "first?"), Message("assistant", tutor.text))


def test_clear_resets_chat_sources_and_history(serve):
    tutor = ScriptedTutor()
    client = serve(tutor)
    client.predict("first?", [], "explain", "beginner", api_name="/ask")
    chat, sources = client.predict(api_name="/clear")
    assert chat == [] and "Sources appear here" in sources
    client.predict("again?", [], "explain", "beginner", api_name="/ask")
    assert tutor.calls[-1][1] == ()


def test_unknown_mode_shows_the_config_error_plainly(serve):
    client = serve(ScriptedTutor())
    chat, _, _ = client.predict(QUESTION, [], "quiz", "beginner", api_name="/ask")
    assert text_of(chat[-1]) == "⚠ mode &#x27;quiz&#x27; is not available yet; use: explain"


def test_tutor_error_message_is_shown_and_sources_kept(serve):
    error = BackendUnavailable("the model server at http://127.0.0.1:8080 did not answer; start it with `tutor serve-llm`")
    chat, sources, _ = serve(ScriptedTutor(error=error)).predict(QUESTION, [], "explain", "beginner", api_name="/ask")
    assert text_of(chat[-1]).startswith("⚠ the model server at http://127.0.0.1:8080 did not answer")
    assert "Traceback" not in text_of(chat[-1])
    assert sources.startswith("- **1.**")


def test_unexpected_error_is_logged_and_shown_generically(serve, caplog):
    client = serve(ScriptedTutor(error=RuntimeError("secret internal detail")))
    with caplog.at_level(logging.ERROR, logger="ui.app"):
        chat, _, _ = client.predict(QUESTION, [], "explain", "beginner", api_name="/ask")
    assert text_of(chat[-1]) == GENERIC_ERROR
    assert "secret internal detail" not in text_of(chat[-1])
    assert any("answering" in r.getMessage() and r.exc_info for r in caplog.records)


def test_factory_is_called_once_on_the_first_question(serve):
    made: list[ScriptedTutor] = []

    def factory() -> ScriptedTutor:
        made.append(ScriptedTutor())
        return made[-1]

    client = serve(factory)
    assert made == []  # building and launching the UI does not build the tutor
    client.predict("one?", [], "explain", "beginner", api_name="/ask")
    client.predict("two?", [], "explain", "beginner", api_name="/ask")
    assert len(made) == 1 and len(made[0].calls) == 2


def test_blank_question_does_nothing(serve):
    tutor = ScriptedTutor()
    chat, _, _ = serve(tutor).predict("   ", [], "explain", "beginner", api_name="/ask")
    assert chat == [] and tutor.calls == []
