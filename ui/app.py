"""The Gradio web UI: a thin shell around `Tutor.stream`, `ui.session`, `ui.render` and `ui.status`.

`build_app` returns the Blocks without launching (tests build it freely);
`launch` starts it on loopback; `main` is what `tutor chat` calls. This is
the only module that imports gradio. Errors the learner can act on
(`TutorError`) become a chat message; anything else is logged and shown as a
generic apology, so no traceback reaches the page.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import gradio as gr

from core.config import Settings
from core.errors import ConfigError, TutorError
from tutor.citations.cite import SupportScorer
from tutor.feedback import FeedbackStore, public_config
from tutor.learn.learner import Learner
from tutor.learn.review import RATING_NAMES
from tutor.learn.schedule import now
from tutor.pipeline import Tutor
from ui.background import build_background_leg
from ui.render import answer_to_text, conversation_to_markdown, escape_text, partial_to_markdown
from ui.review import (
    Pending,
    cards_for_next,
    export_cards,
    learner_for,
    next_card,
    progress_panel,
    rate_card,
    review_turn,
    save_answer,
)
from ui.session import ALL_PARTS, GENERIC_ERROR, NO_SOURCES, TutorHolder, mode_choices, part_names, rate, stream_turn  # noqa: F401
from ui.status import reingest, status, status_to_markdown

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
    "扩散模型是如何生成图像的？",
]
LEVELS = [("Beginner", "beginner"), ("Practitioner", "practitioner")]
MODE_INFO = ("Explain answers · Socratic gives hints · Quiz asks you · Learning path says what to read next · "
             "Review asks your saved cards when they are due")
REVIEW = ("Review", "review")  # a mode of the chat, not of the tutor: it asks the learner's due cards
EXPORT_NAME = "handbook-tutor-conversation.md"

CSS = """
#chat a, #sources a, #status a { color: var(--link-text-color); }
#chat a[href*=':~:text='] { text-decoration: none; font-weight: 600; }
#header { align-items: center; }
#chat .message-wrap { padding-top: 36px; }  /* keep the first message clear of the label and the trash icon */
@media (max-width: 640px) {
  .gradio-container { padding: 6px !important; }
  #chat { height: 62vh !important; }
  #header h1 { font-size: 1.4rem; }
}
"""
# Gradio follows the system's light/dark preference (or ?__theme=dark); the toggle overrides it per browser.
THEME_ON_LOAD = """() => {
  const saved = localStorage.getItem('tutor-theme');
  if (saved) document.body.classList.toggle('dark', saved === 'dark');
}"""
THEME_TOGGLE = """() => {
  const dark = !document.body.classList.contains('dark');
  document.body.classList.toggle('dark', dark);
  localStorage.setItem('tutor-theme', dark ? 'dark' : 'light');
}"""
COPY = """async (text) => {
  if (!text) return;
  try { await navigator.clipboard.writeText(text); } catch (e) {
    const area = document.createElement('textarea'); area.value = text; document.body.appendChild(area);
    area.select(); document.execCommand('copy'); area.remove();
  }
  const button = document.querySelector('#copy-answer'); const label = button.textContent;
  button.textContent = 'Copied ✓'; setTimeout(() => { button.textContent = label; }, 1500);
}"""


# Turns answered at once (each holds a thread; they wait on the model's queue, not on each other), a class and more.
LEARNERS_AT_ONCE = 64

@dataclass(frozen=True)
class View:
    """The components handlers update, by name: a handler returns {view.sources: ..., view.chat: ...}, so an output
    is matched to its component by name, never by its place in a tuple (Gradio's dict returns)."""

    chat: Any
    sources: Any
    exchanges: Any
    question: Any
    answer_text: Any
    rated: Any
    feedback: Any
    thanks: Any
    comment: Any
    download: Any
    part: Any
    status: Any
    review: Any
    rate_row: Any
    card_note: Any
    progress: Any

    def outputs(self, *names: str) -> list:
        return [getattr(self, name) for name in names]


def build_app(tutor: Any, settings: Settings, *, modes: Mapping[str, str] | None = None,
              ingest: Callable[[], Any] | None = None, reload: Callable[[Any], Any] | None = None,
              clock: Callable[[], datetime] = now) -> gr.Blocks:
    """Build the chat UI without launching it.

    Args:
        tutor: a `Tutor` (anything with `stream(question, history, mode, level, part)` and `parts()`),
            or a no-argument factory returning one, called on first use.
        settings: where feedback is stored, and what the status view and the re-ingest read.
        modes: mode name -> label; defaults to `tutor.pipeline.MODES`.
        ingest: runs an ingest for the "Re-ingest" action (default: `ui.status.reingest(settings)`).
        reload: builds the tutor to use after a re-ingest from the old one (see `TutorHolder`).

    Returns:
        The Blocks; call `launch(app, settings)` to serve it.
    """
    holder = TutorHolder(tutor, reload)
    store, config, choices = FeedbackStore.for_settings(settings), public_config(settings), [*mode_choices(modes), REVIEW]
    labels = {name: label for label, name in choices}
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        exchanges = gr.State([])  # this chat's `Exchange`s, oldest first
        rated = gr.State({})  # reply index in the chat -> feedback row id
        review = gr.State(None)  # the card on screen in Review mode (ui.review.Pending)
        with gr.Row(elem_id="header"):
            gr.Markdown(f"# {TITLE}\n{INTRO}")
            theme = gr.Button("◐ Theme", elem_id="theme-toggle", size="sm", scale=0, min_width=90)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        chat = gr.Chatbot(label="Tutor", height=600, elem_id="chat", buttons=[],
                                          feedback_options=("Like", "Dislike"))
                        question = gr.Textbox(
                            placeholder="Ask a question… (English or 中文)", label="Question",
                            show_label=False, elem_id="question", submit_btn=True, autofocus=True,
                        )
                        with gr.Column(visible=False, elem_id="feedback") as feedback:
                            thanks = gr.Markdown()
                            comment = gr.Textbox(label="Comment (optional)", elem_id="feedback-comment", lines=2,
                                                 placeholder="What was helpful, wrong or missing?")
                            send = gr.Button("Send comment", size="sm", elem_id="feedback-send")
                        with gr.Row():
                            copy = gr.Button("Copy answer", size="sm", elem_id="copy-answer", min_width=90)
                            export = gr.Button("Export (.md)", size="sm", elem_id="export", min_width=90)
                            clear = gr.Button("Clear chat", size="sm", elem_id="clear", min_width=90)
                            save_card = gr.Button("★ Save as card", size="sm", elem_id="save-card", min_width=90)
                        card_note = gr.Markdown(elem_id="card-note")
                        with gr.Row(visible=False, elem_id="rate-row") as rate_row:
                            rate_buttons = {name: gr.Button(label, size="sm", elem_id=f"rate-{name}", min_width=60)
                                            for name, (label, _) in RATING_NAMES.items()}
                        download = gr.File(label="Conversation (markdown)", visible=False, elem_id="export-file")
                        # What "Copy answer" copies: in the page (hidden), since the clipboard is written there.
                        answer_text = gr.Textbox(label="answer_text", visible="hidden", elem_id="answer-text")
                        gr.Examples(EXAMPLES, inputs=question, label="Try")
                    with gr.Column(scale=2, min_width=280):
                        mode = gr.Radio(choices, value=choices[0][1], label="Mode", info=MODE_INFO, elem_id="mode")
                        level = gr.Radio(LEVELS, value="beginner", label="Level", elem_id="level")
                        # Parts are listed once the page loads (reading the index takes a while); the API may name any part.
                        part = gr.Dropdown([ALL_PARTS], value=ALL_PARTS, label="Handbook part", elem_id="part",
                                           allow_custom_value=True)
                        gr.Markdown("### Retrieved passages")
                        sources = gr.Markdown(NO_SOURCES, label="sources", elem_id="sources", container=True)
                        gr.Markdown("### Your progress on the handbook")
                        progress = gr.HTML(elem_id="progress-panel")
                        with gr.Row():
                            next_cards = gr.Button("＋ Cards for my next section", size="sm", elem_id="next-cards")
                            deck = gr.Button("Export my cards (Anki)", size="sm", elem_id="export-cards")
                        deck_file = gr.File(label="Your cards (Anki .apkg)", visible=False, elem_id="cards-file")
            with gr.Tab("Status", id="status-tab") as status_tab:
                status_view = gr.Markdown("_Loading…_", elem_id="status")
                with gr.Row():
                    refresh = gr.Button("Refresh status", size="sm", elem_id="refresh-status")
                    rebuild = gr.Button("Re-ingest the sources and reload the index", size="sm", variant="stop",
                                        elem_id="reingest")
                gr.Markdown("Re-ingest reads the default corpus again plus every source saved by `tutor ingest` "
                            "(WARC files, URLs, note folders); only new or changed pages are embedded. It can take "
                            "minutes; answers keep using the old index until the new one is ready.")

        view = View(chat, sources, exchanges, question, answer_text, rated, feedback, thanks, comment, download, part,
                    status_view, review, rate_row, card_note, progress)
        learner = partial(learner_for, settings, clock=clock)

        # (Handlers that read the login take gr.Request, which Gradio finds by annotation: plain functions, not partials.)
        def respond(question: str, chat: list, exchanges: list, mode: str, level: str, part: str, pending: Any,
                    request: gr.Request) -> Iterator[dict]:
            yield from _respond(holder, view, learner(_user(request)), question, chat, exchanges, mode, level, part,
                                pending)

        def show_progress(request: gr.Request) -> str:
            return progress_panel(learner(_user(request)))
        # Learners are answered side by side: sources and evidence at once, and only the model's part waits,
        # in the tutor's own queue (tutor/backends/model_queue.py), which tells each learner where they stand.
        question.submit(
            respond, [question, chat, exchanges, mode, level, part, review],
            view.outputs("chat", "sources", "exchanges", "question", "answer_text", "review", "rate_row"),
            api_name="ask", concurrency_limit=LEARNERS_AT_ONCE,
            api_description="Ask one question; streams the chat and the retrieved sources; the last output is "
                            "the answer as plain text with its sources.",
        ).then(show_progress, None, [progress], api_visibility="private")  # (the ask API's outputs stay as they were)

        def on_like(chat_exchanges: list, chat_rated: dict, like: gr.LikeData) -> tuple:
            return _rate(store, config, view, chat_exchanges, chat_rated, like)  # gradio needs the LikeData annotation

        chat.like(on_like, [exchanges, rated], view.outputs("rated", "feedback", "thanks", "comment"),
                  api_visibility="private")
        for event in (send.click, comment.submit):
            event(partial(_comment, store, view), [comment, rated], view.outputs("thanks", "comment"),
                  api_visibility="private")
        copy.click(None, [answer_text], None, js=COPY)
        # Exported files live in a folder removed when the server process exits.
        exports = tempfile.TemporaryDirectory(prefix="handbook-tutor-exports-")
        export.click(partial(_export, exports, labels), [exchanges], [download], api_name="export")
        reset = view.outputs("chat", "sources", "exchanges", "rated", "answer_text", "download", "feedback", "review",
                             "rate_row")
        clear.click(partial(_cleared, view), None, reset, api_name="clear").then(
            lambda: "", None, [card_note], api_visibility="private")
        # The chat's own trash icon must forget the same things as the button (it empties the chat itself).
        chat.clear(partial(_cleared, view, chat=False), None, reset[1:], api_visibility="private")
        app.load(partial(_parts, holder), None, [part], api_visibility="private")
        for event in (status_tab.select, refresh.click):
            event(partial(_status, settings), None, [status_view], api_visibility="private")
        rebuild.click(partial(_reingest, settings, holder, view, ingest or partial(reingest, settings)), None,
                      view.outputs("status", "part"), concurrency_limit=1, api_visibility="private")
        theme.click(None, None, None, js=THEME_TOGGLE)
        # Learning that lasts: cards, reviews and the map are the learner's (the login's, or the one local learner).
        def save(chat_exchanges: list, request: gr.Request) -> dict:
            return _save_card(view, learner(_user(request)), chat_exchanges)

        def rater(rating: str) -> Callable:
            def rate_it(chat_now: list, pending: Any, request: gr.Request) -> dict:
                return _rate_card(view, learner(_user(request)), rating, chat_now, pending)
            return rate_it

        def switch(chosen: str, chat_now: list, pending: Any, request: gr.Request) -> dict:
            return _review_mode(view, learner(_user(request)), chosen, chat_now, pending)

        def more_cards(request: gr.Request) -> dict:
            one = learner(_user(request))
            return {card_note: cards_for_next(one, holder.get()), progress: progress_panel(one)}

        def deck_export(request: gr.Request) -> dict:
            folder = Path(exports.name) / uuid.uuid4().hex  # one folder per export: the file keeps its plain name
            folder.mkdir()
            note, path = export_cards(learner(_user(request)), folder)
            return {card_note: note, deck_file: gr.update(value=str(path) if path else None, visible=path is not None)}

        save_card.click(save, [exchanges], view.outputs("card_note", "progress"), api_visibility="private")
        deck.click(deck_export, None, [card_note, deck_file], api_visibility="private")
        next_cards.click(more_cards, None, view.outputs("card_note", "progress"), api_visibility="private")
        for name, button in rate_buttons.items():
            button.click(rater(name), [chat, review], view.outputs("chat", "review", "rate_row", "progress"),
                         api_visibility="private")
        mode.change(switch, [mode, chat, review], view.outputs("chat", "review", "rate_row"), api_visibility="private")
        app.load(show_progress, None, [progress], api_visibility="private")
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
    app.queue(max_size=4 * LEARNERS_AT_ONCE)
    _, url, _ = app.launch(
        server_name=settings.host, server_port=settings.port, share=False, auth=_auth_from_env(),
        max_threads=LEARNERS_AT_ONCE + 16,  # each answering turn holds a worker thread while it streams
        prevent_thread_lock=True, quiet=True, ssr_mode=False, footer_links=["api"],
        theme=_theme(), css=CSS, js=THEME_ON_LOAD,
    )
    if block:
        print(f"{TITLE} is running at {url} (Ctrl-C to stop)")
        app.block_thread()
    return url


def _theme() -> gr.themes.Base:
    """Soft, with links, selected options and hints dark or light enough to read (WCAG AA) in both modes."""
    return gr.themes.Soft(primary_hue="blue", neutral_hue="slate").set(
        link_text_color="*secondary_600", link_text_color_visited="*secondary_700",
        link_text_color_hover="*secondary_700",
        link_text_color_dark="*secondary_300", link_text_color_visited_dark="*secondary_300",
        link_text_color_hover_dark="*secondary_200", link_text_color_active_dark="*secondary_200",
        checkbox_label_background_fill_selected="*primary_600", body_text_color_subdued="*neutral_600",
    )


def main(settings: Settings) -> None:
    """Launch the UI for `tutor chat`; the index and models load on first use."""
    _auth_from_env()  # a malformed login stops here, before models load or a leg starts building

    def reload(old: Tutor) -> Tutor:  # a re-ingested index, the same loaded models
        return Tutor(settings, embedders=old.embedders, judge=old.judge, generator=old.generator, queue=old.queue)

    tutor = Tutor(settings)  # cheap: everything loads on first use, or in the warm-up below
    threading.Thread(target=_warm_up, args=(tutor,), name="warm-up", daemon=True).start()
    build_background_leg(settings)
    launch(build_app(tutor, settings, reload=reload), settings)



def _warm_up(tutor: Any) -> None:
    """Load models while the first page loads; a failure here shows up, explained, at the first question."""
    try:
        tutor.warm_up()
    except Exception as e:  # noqa: BLE001 - the chat reports the same problem to the learner when it recurs
        log.warning("warm-up failed: %s", e)


def _respond(holder: TutorHolder, view: View, learner: Learner, question: str, chat: list, exchanges: list,
             mode: str, level: str, part: str, pending: Pending | None) -> Iterator[dict]:
    """Stream one turn: the chat, the sources and the cleared question box; the exchange and its plain text when done.
    In Review mode the message answers (or rates) the card on screen instead."""
    if not question.strip():
        yield {view.chat: chat, view.exchanges: exchanges, view.question: ""}
        return
    chat = [*chat, {"role": "user", "content": partial_to_markdown(question)}]
    if mode == REVIEW[1]:
        text, pending = review_turn(learner, pending, question, lambda: SupportScorer(holder.get().judge))
        waiting = pending is not None and pending.proposal is not None
        yield {view.chat: [*chat, {"role": "assistant", "content": text}], view.review: pending, view.question: "",
               view.rate_row: gr.update(visible=waiting)}
        return
    part = None if part in (None, "", ALL_PARTS) else part
    for update in stream_turn(holder.get, question, exchanges, mode, level, part, reply_index=len(chat)):
        shown = {view.chat: [*chat, {"role": "assistant", "content": update.reply}], view.sources: update.sources,
                 view.question: ""}
        done = update.exchange
        if done is None:
            yield shown
            continue
        if done.answer is not None:
            learner.record(done.answer)  # a question asked there; a graded quiz reply becomes a card
        yield shown | {view.exchanges: [*exchanges, done], view.answer_text: answer_to_text(done.reply)}


def _user(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None  # None without a login


def _reviewed(view: View, learner: Learner, chat: list, pending: Pending | None) -> dict:
    """The chat after a review step, the card on screen, the rating buttons (shown once it is answered), the map."""
    waiting = pending is not None and pending.proposal is not None
    return {view.chat: chat, view.review: pending, view.rate_row: gr.update(visible=waiting),
            view.progress: progress_panel(learner)}


def _rate_card(view: View, learner: Learner, rating: str, chat: list, pending: Pending | None) -> dict:
    text, pending = rate_card(learner, pending, rating)
    return _reviewed(view, learner, [*chat, {"role": "assistant", "content": text}], pending)


def _review_mode(view: View, learner: Learner, mode: str, chat: list, pending: Pending | None) -> dict:
    """Entering Review mode shows the next due card (unless one is on screen); leaving it hides the ratings."""
    if mode != REVIEW[1]:
        return {view.rate_row: gr.update(visible=False)}
    if pending is not None:
        return {view.rate_row: gr.update(visible=pending.proposal is not None)}
    text, pending = next_card(learner)
    return {view.chat: [*chat, {"role": "assistant", "content": text}], view.review: pending,
            view.rate_row: gr.update(visible=False)}


def _save_card(view: View, learner: Learner, exchanges: list) -> dict:
    last = next((e.answer for e in reversed(exchanges) if e.answer is not None), None)
    return {view.card_note: save_answer(learner, last), view.progress: progress_panel(learner)}


def _rate(store: FeedbackStore, config: dict, view: View, exchanges: list, rated: dict, like: gr.LikeData) -> dict:
    """Store (or change, or take back) a thumbs up/down on one reply, then offer a comment box."""
    rated, row = rate(store, exchanges, rated, like.index, like.liked, config)
    thanks = "" if row is None else "Thanks, your rating is saved. Add a comment if you like:"
    return {view.rated: rated, view.feedback: gr.update(visible=row is not None), view.thanks: thanks, view.comment: ""}


def _comment(store: FeedbackStore, view: View, text: str, rated: dict) -> dict:
    if not text.strip() or "last" not in rated:
        return {}
    store.comment(rated["last"], text)
    return {view.thanks: "Thanks, your comment is saved with the rating.", view.comment: ""}


def _export(exports: tempfile.TemporaryDirectory, labels: dict, exchanges: list) -> Any:
    if not exchanges:
        gr.Info("Nothing to export yet: ask a question first.")
        return gr.update(visible=False)
    folder = Path(exports.name) / uuid.uuid4().hex  # one folder per export: the file keeps its plain name
    folder.mkdir()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    (folder / EXPORT_NAME).write_text(conversation_to_markdown(exchanges, stamp, labels), encoding="utf-8")
    return gr.update(value=str(folder / EXPORT_NAME), visible=True)


def _cleared(view: View, chat: bool = True) -> dict:
    """A new chat: no messages, sources, exchanges, ratings, copied answer, export or comment box."""
    return ({view.chat: []} if chat else {}) | {
        view.sources: NO_SOURCES, view.exchanges: [], view.rated: {}, view.answer_text: "",
        view.download: gr.update(value=None, visible=False), view.feedback: gr.update(visible=False),
        view.review: None, view.rate_row: gr.update(visible=False)}


def _parts(holder: TutorHolder) -> Any:
    return gr.update(choices=[ALL_PARTS, *part_names(holder.get())])


def _status(settings: Settings) -> str:
    return status_to_markdown(status(settings))


def _reingest(settings: Settings, holder: TutorHolder, view: View, ingest: Callable[[], Any],
              progress: gr.Progress = gr.Progress(track_tqdm=True)) -> dict:
    """Run an ingest with a progress bar, then make the tutor read the new index."""
    progress(0, desc="Reading, extracting and chunking the sources…")
    try:
        ingest()
    except TutorError as error:
        return {view.status: f"⚠ {escape_text(str(error))}\n\n" + _status(settings)}
    progress(1, desc="Reloading the index…")
    holder.reload()
    return {view.status: "✓ Ingest finished; the tutor now reads the new index.\n\n" + _status(settings),
            view.part: _parts(holder)}


def _auth_from_env() -> list[tuple[str, str]] | None:
    """The chat's logins from TUTOR_AUTH, read at call time and never logged (None: no login asked for)."""
    return logins(os.environ.get("TUTOR_AUTH", ""))


def logins(raw: str) -> list[tuple[str, str]] | None:
    """TUTOR_AUTH="user:password" or several pairs separated by commas: the logins, or None when unset.

    A value that is set but malformed stops the chat (ConfigError): serving without the login the
    operator asked for would open the door they meant to close.
    """
    if not raw.strip():
        return None
    pairs: list[tuple[str, str]] = []
    for entry in raw.split(","):
        user, sep, password = entry.strip().partition(":")
        if not (sep and user and password):
            raise ConfigError(f"TUTOR_AUTH entry {len(pairs) + 1} is not 'user:password' (a user name, a colon and a "
                              "non-empty password; separate several with commas): fix it or unset TUTOR_AUTH. "
                              "The chat does not start without the login you asked for.")
        if any(user == u for u, _ in pairs):
            raise ConfigError(f"TUTOR_AUTH names the user {user!r} twice: give each learner one password")
        pairs.append((user, password))
    return pairs
