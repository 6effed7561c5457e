"""The Gradio app with a scripted tutor: handlers called directly, then the app driven over loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

from core.config import Settings
from core.errors import SourceError
from core.types import Message
from tests.fakes import LORA_URL, ScriptedTutor
from tutor.feedback import FeedbackStore
from ui.app import GENERIC_ERROR, View, _rate, _reingest, build_app, launch
from ui.render import answer_to_text
from ui.session import Exchange, TutorHolder

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
def serve(tmp_path) -> Iterator[Callable[..., Client]]:
    """Launch `build_app(tutor)` on a free loopback port; return a client for it."""
    apps: list[gr.Blocks] = []

    def start(tutor, auth=None, **kwargs) -> Client:
        settings = Settings(host="127.0.0.1", port=free_port(), home=tmp_path / "data")
        app = build_app(tutor, settings, **kwargs)
        apps.append(app)
        url = launch(app, settings, block=False)
        assert url.startswith("http://127.0.0.1:")
        return Client(url, verbose=False, auth=auth)

    yield start
    for app in apps:
        app.close()


def ask(client: Client, question: str, chat=(), mode="explain", level="beginner", part="All parts"):
    return client.predict(question, list(chat), mode, level, part, api_name="/ask")


# --- handlers, without a server -------------------------------------------------


def test_build_app_constructs_without_launching():
    app = build_app(ScriptedTutor(), Settings())
    assert isinstance(app, gr.Blocks)
    assert {"ask", "clear", "export"} <= {fn.api_name for fn in app.fns.values()}
    assert not app.is_running

# Handlers return their updates by component; stand-ins name each one.
VIEW = View(*(f"<{name}>" for name in View.__dataclass_fields__))


def test_the_mode_selector_lists_the_pipeline_modes():
    app = build_app(ScriptedTutor(), Settings())
    radio = next(c for c in app.blocks.values() if getattr(c, "elem_id", None) == "mode")
    assert [label for label, _ in radio.choices] == ["Explain", "Socratic", "Quiz", "Learning path", "Review"]


def test_rating_a_reply_stores_it_and_opens_the_comment_box(settings):
    store = FeedbackStore.for_settings(settings)
    exchange = Exchange(QUESTION, ScriptedTutor().ask(QUESTION), level="practitioner", reply_index=1)
    like = gr.LikeData(None, {"index": 1, "value": "…", "liked": False})
    out = _rate(store, {"llm": "local"}, VIEW, [exchange], {}, like)
    rated, box, thanks = out[VIEW.rated], out[VIEW.feedback], out[VIEW.thanks]
    assert box["visible"] is True and thanks.startswith("Thanks") and out[VIEW.comment] == ""
    (record,) = store.records()
    assert (record["rating"], record["level"], record["config"]) == ("down", "practitioner", {"llm": "local"})
    unlike = gr.LikeData(None, {"index": 1, "value": "…", "liked": ""})
    out = _rate(store, {}, VIEW, [exchange], rated, unlike)
    assert out[VIEW.feedback]["visible"] is False and store.records() == []


def test_reingest_runs_the_ingest_then_rebuilds_the_tutor(settings):
    made, runs = [], []
    holder = TutorHolder(lambda: made.append(ScriptedTutor()) or made[-1])
    holder.get()
    out = _reingest(settings, holder, VIEW, lambda: runs.append(1), progress=lambda *a, **k: None)
    view, parts = out[VIEW.status], out[VIEW.part]
    assert runs == [1] and len(made) == 2  # a new tutor read the new index, for the part list
    assert view.startswith("✓ Ingest finished") and "### Index" in view
    assert parts["choices"] == ["All parts", ("Part III", "Part III")]


def test_a_failed_reingest_keeps_the_tutor_and_says_why(settings):
    tutor = ScriptedTutor()
    holder = TutorHolder(tutor)

    def failing():
        raise SourceError("no document could be extracted from the given sources; the existing index was kept")

    out = _reingest(settings, holder, VIEW, failing, progress=lambda *a, **k: None)
    assert out[VIEW.status].startswith("⚠ no document could be extracted") and holder.get() is tutor
    assert VIEW.part not in out  # the part list is left as it was


# --- over loopback with gradio_client -------------------------------------------


def test_ask_returns_the_final_answer_with_citation_links(serve):
    client = serve(ScriptedTutor())
    chat, sources, box, copied = ask(client, QUESTION)
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
    assert copied == answer_to_text(ScriptedTutor().ask(QUESTION))  # what "Copy answer" copies


def test_the_answer_streams_after_progress_messages_and_the_sources(serve):
    client = serve(ScriptedTutor(delay=0.05))
    job = client.submit(QUESTION, [], "explain", "beginner", "All parts", api_name="/ask")
    job.result(timeout=30)
    updates = job.outputs()
    replies = [text_of(chat[-1]) for chat, *_ in updates if chat[-1]["role"] == "assistant"]
    assert replies[0] == "_Searching the handbook's sources…_" or replies[0].startswith("_Found 2 passages")
    first_with_sources = next(i for i, (_, src, *_) in enumerate(updates) if src.startswith("- **1.**"))
    assert text_of(updates[first_with_sources][0][-1]).startswith("_")  # a progress message, no answer text yet
    assert "LoRA freezes the model&#x27;s weights [1] and trains " in replies  # a plain partial
    assert "<a href=" in replies[-1]


def test_history_is_passed_with_chunk_ids_and_mode(serve):
    tutor = ScriptedTutor()
    client = serve(tutor)
    chat, *_ = ask(client, "first?", mode="quiz", level="practitioner")
    ask(client, "second?", chat, mode="quiz", level="practitioner")
    assert tutor.calls[0][1:] == ((), "quiz", "practitioner", None)
    first = tutor.ask("first?", mode="quiz")
    cited = tuple(c.chunk_id for c in first.citations)
    assert tutor.calls[1][1] == (Message("user", "first?"), Message("assistant", tutor.text, cited, "quiz"))


def test_the_part_filter_reaches_the_tutor(serve):
    tutor = ScriptedTutor()
    client = serve(tutor)
    ask(client, "anything?", part="All parts")
    chat, sources, *_ = ask(client, "fine-tuning?", part="Part III")
    assert [call[4] for call in tutor.calls] == [None, "Part III"]
    assert sources.startswith("- **1.**")


def test_clear_resets_chat_sources_and_history(serve):
    tutor = ScriptedTutor()
    client = serve(tutor)
    ask(client, "first?")
    chat, sources, copied, download = client.predict(api_name="/clear")
    assert chat == [] and "Sources appear here" in sources and copied == ""
    ask(client, "again?")
    assert tutor.calls[-1][1] == ()


def test_export_downloads_the_conversation_as_markdown(serve):
    client = serve(ScriptedTutor())
    ask(client, QUESTION, mode="socratic")
    ask(client, "什么是注意力机制？")
    path = Path(client.predict(api_name="/export")["value"])
    assert path.name == "handbook-tutor-conversation.md"
    md = path.read_text(encoding="utf-8")
    assert md.startswith("# Handbook Tutor conversation\n\nExported ")
    assert f"## 1. {QUESTION}" in md and "*Socratic · beginner*" in md and "## 2. 什么是注意力机制？" in md
    assert f"[LoRA: Low-Rank Adaptation of Large Language Models]({LORA_URL}#:~:text=" in md


def test_an_unknown_mode_shows_the_config_error_plainly(serve):
    client = serve(ScriptedTutor())
    with pytest.raises(AppError, match="debate"):  # the Radio refuses a value it does not offer
        ask(client, QUESTION, mode="debate")
    chat, *_ = ask(serve(ScriptedTutor(), modes={"explain": "Explain", "debate": "Debate"}), QUESTION, mode="debate")
    assert text_of(chat[-1]).startswith("⚠ mode &#x27;debate&#x27; is not one of: explain, socratic, quiz, path")


def test_unexpected_error_is_shown_generically(serve):
    chat, *_ = ask(serve(ScriptedTutor(error=RuntimeError("secret internal detail"))), QUESTION)
    assert text_of(chat[-1]) == GENERIC_ERROR


def test_factory_is_called_once_on_the_first_question(serve):
    made: list[ScriptedTutor] = []

    def factory() -> ScriptedTutor:
        made.append(ScriptedTutor())
        return made[-1]

    client = serve(factory)
    assert made == []  # building and launching the UI does not build the tutor
    ask(client, "one?")
    ask(client, "two?")
    assert len(made) == 1 and len(made[0].calls) == 2


def test_blank_question_does_nothing(serve):
    tutor = ScriptedTutor()
    chat, *_ = ask(serve(tutor), "   ")
    assert chat == [] and tutor.calls == []


def test_several_logins_and_a_malformed_one_stops_the_chat(monkeypatch, tmp_path):
    from core.errors import ConfigError
    from tutor.cli import main as cli
    from ui.app import logins

    assert logins("") is None and logins("  ") is None
    assert logins("ana:pw1, bo:p:w2") == [("ana", "pw1"), ("bo", "p:w2")]  # a password may hold a colon
    for bad in ("userpass", "user:", ":pw", "ana:pw1,bo", "ana:pw1,,bo:pw2", "ana:a,ana:b"):
        with pytest.raises(ConfigError, match="TUTOR_AUTH"):
            logins(bad)
    # `tutor chat` with a malformed login exits with one line and serves nothing
    monkeypatch.setenv("TUTOR_AUTH", "teacher")
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path))
    started = []
    monkeypatch.setattr("ui.app.launch", lambda *a, **k: started.append(a))
    assert cli(["chat"]) == 1 and started == []


def test_basic_auth_from_tutor_auth(serve, monkeypatch):
    monkeypatch.setenv("TUTOR_AUTH", "learner:s3cret")
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        serve(ScriptedTutor())  # no login: the client cannot even read the app's config
    client = serve(ScriptedTutor(), auth=("learner", "s3cret"))
    chat, *_ = ask(client, QUESTION)
    assert text_of(chat[-1]).startswith("LoRA freezes")
