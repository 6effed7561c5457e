"""The Gradio web UI: a thin shell around `Tutor.stream` and `ui.render`.

`build_app` returns the Blocks without launching (tests build it freely);
`launch` starts it on loopback; `main` is what `tutor serve` calls. This is
the only module that imports gradio. Errors the learner can act on
(`TutorError`) become a chat message; anything else is logged and shown as a
generic apology, so no traceback reaches the page.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import partial
from typing import Any, Callable, Iterator, Sequence

import gradio as gr

from tutor.config import Settings
from tutor.errors import TutorError
from tutor.types import Message
from ui.render import answer_to_markdown, partial_to_markdown, sources_to_markdown

log = logging.getLogger(__name__)

TITLE = "Handbook Tutor"
INTRO = (
    "Answers about generative AI from the sources of the *Generative AI Handbook*. "
    "Every `[n]` links to the passage it comes from: click it to check the quote."
)
EXAMPLES = [
    "How does LoRA cut the cost of fine-tuning a large model?",
    "什么是注意力机制？",
    "Why do we need positional encodings in a Transformer?",
]
MODES = [("Explain", "explain"), ("Socratic", "socratic"), ("Quiz", "quiz"), ("Learning path", "path")]
LEVELS = [("Beginner", "beginner"), ("Practitioner", "practitioner")]
GENERIC_ERROR = "⚠ Something went wrong while answering. The server log has the details; please try again."
NO_SOURCES = "_Sources appear here as soon as they are retrieved._"

Chat = list[dict[str, Any]]


def build_app(tutor: Any, settings: Settings) -> gr.Blocks:
    """Build the chat UI without launching it.

    Args:
        tutor: a `Tutor` (anything with `stream(question, history, mode, level)`),
            or a no-argument factory returning one, called on the first question.
        settings: the tutor settings (kept for symmetry with `main`; the UI
            itself reads none yet).

    Returns:
        The Blocks; call `launch(app, settings)` or `app.launch(...)` to serve it.
    """
    get_tutor = _tutor_getter(tutor)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        history = gr.State([])  # prior turns as tutor `Message`s, raw text with [n] markers
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Tutor", height=520, elem_id="chat", buttons=["copy"], feedback_options=None)
                question = gr.Textbox(
                    placeholder="Ask about generative AI… (English or 中文)", label="Question",
                    show_label=False, elem_id="question", submit_btn=True, autofocus=True,
                )
                gr.Examples(EXAMPLES, inputs=question, label="Try")
            with gr.Column(scale=2):
                mode = gr.Radio(MODES, value="explain", label="Mode", info="Only Explain is available for now.")
                level = gr.Radio(LEVELS, value="beginner", label="Level")
                clear = gr.Button("Clear chat", variant="secondary")
                gr.Markdown("### Retrieved passages")
                sources = gr.Markdown(NO_SOURCES, elem_id="sources", container=True)
        # One local model generates at a time; other learners wait in the queue.
        question.submit(
            partial(_respond, get_tutor), [question, chat, history, mode, level],
            [chat, sources, history, question], api_name="ask", concurrency_limit=1,
            api_description="Ask one question; streams the chat, then the retrieved sources and the answer.",
        )
        clear.click(lambda: ([], NO_SOURCES, []), None, [chat, sources, history], api_name="clear")
        # The chat's own trash icon must forget the same things as the button.
        chat.clear(lambda: (NO_SOURCES, []), None, [sources, history], api_visibility="private")
    return app


def launch(app: gr.Blocks, settings: Settings, *, block: bool = True) -> str:
    """Serve the app on `settings.host:settings.port`, never through a public share link.

    Args:
        app: from `build_app`.
        settings: gives host (127.0.0.1 unless changed) and port.
        block: wait until the server stops (Ctrl-C); False returns at once.

    Returns:
        The local URL, e.g. "http://127.0.0.1:7860/".
    """
    app.queue(max_size=64)
    _, url, _ = app.launch(
        server_name=settings.host, server_port=settings.port, share=False, auth=_auth_from_env(),
        prevent_thread_lock=True, quiet=True, ssr_mode=False, footer_links=["api"],
    )
    if block:
        print(f"{TITLE} is running at {url} (Ctrl-C to stop)")
        app.block_thread()
    return url


def main(settings: Settings) -> None:
    """Launch the UI for `tutor serve`; the model loads on the first question."""
    from tutor.pipeline import Tutor  # here, so building the UI never needs the pipeline

    launch(build_app(lambda: Tutor(settings), settings), settings)


def _respond(get_tutor: Callable[[], Any], question: str, chat: Chat, history: list, mode: str, level: str) -> Iterator[tuple]:
    """Stream one turn as (chat, sources, history, question box) updates."""
    if not question.strip():
        yield chat, gr.skip(), history, ""
        return
    chat = [*chat, {"role": "user", "content": partial_to_markdown(question)}]
    yield chat, NO_SOURCES, history, ""
    for reply, sources, history in _turn(get_tutor, question, history, mode, level):
        yield [*chat, {"role": "assistant", "content": reply}], sources, history, ""


def _turn(get_tutor: Callable[[], Any], question: str, history: Sequence[Message], mode: str, level: str) -> Iterator[tuple]:
    """Yield (assistant markdown, sources markdown, history) as the answer streams in."""
    text, sources = "", NO_SOURCES
    try:
        for step in get_tutor().stream(question, tuple(history), mode=mode, level=level):
            if step.kind == "sources":
                sources = sources_to_markdown(step.hits)
            elif step.kind == "token":
                text += step.text
            elif step.answer is not None:
                # The final text may differ from the streamed tokens (verified citations).
                turn = [Message("user", question), Message("assistant", step.answer.text)]
                yield answer_to_markdown(step.answer), sources, [*history, *turn]
                return
            yield partial_to_markdown(text), sources, history
    except TutorError as error:
        yield f"⚠ {partial_to_markdown(str(error))}", sources, history
    except Exception:
        log.exception("answering %r failed", question)
        yield GENERIC_ERROR, sources, history


def _tutor_getter(tutor: Any) -> Callable[[], Any]:
    if hasattr(tutor, "stream"):
        return lambda: tutor
    lock, made = threading.Lock(), []

    def get() -> Any:
        with lock:  # two first questions at once must not build two tutors
            if not made:
                made.append(tutor())
            return made[0]

    return get


def _auth_from_env() -> tuple[str, str] | None:
    """Basic auth from TUTOR_AUTH="user:password", read at call time and never logged."""
    raw = os.environ.get("TUTOR_AUTH", "")
    user, sep, password = raw.partition(":")
    if raw and not (sep and user and password):
        log.warning("TUTOR_AUTH is set but not 'user:password'; serving without a login")
    return (user, password) if sep and user and password else None
