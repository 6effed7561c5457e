"""One learner's chat without gradio: the exchanges so far, the shared tutor, one streamed turn.

`ui.app` keeps a list of `Exchange`s per browser session and hands it to the
functions here; they return plain values (markdown strings, new exchanges),
so the chat logic is tested without a server.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from core.errors import TutorError
from core.types import Answer, Message
from tutor.feedback import FeedbackStore
from tutor.teach.modes import MODES
from tutor.teach.outline import english_place
from ui.exchange import Exchange
from ui.render import answer_to_markdown, partial_to_markdown, sources_to_markdown

log = logging.getLogger(__name__)

ALL_PARTS = "All parts"
NO_SOURCES = "_Sources appear here as soon as they are retrieved._"
SEARCHING = "_Searching the handbook's sources…_"
GENERIC_ERROR = "⚠ Something went wrong while answering. The server log has the details; please try again."


@dataclass(frozen=True)
class Update:
    """One step of a streamed turn: the reply and sources so far; `exchange` is set on the last."""

    reply: str
    sources: str
    exchange: Exchange | None = None


def mode_choices(modes: Mapping[str, str] | Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(label, name) pairs for the mode selector.

    Args:
        modes: name -> label (as `tutor.pipeline.MODES`) or a list of names;
            None reads the tutor's own `MODES`.
    """
    if modes is None:
        modes = MODES
    pairs = modes.items() if isinstance(modes, Mapping) else ((name, "") for name in modes)
    return [(label or MODES.get(name) or name.replace("_", " ").title(), name) for name, label in pairs]


def history(exchanges: Sequence[Exchange]) -> tuple[Message, ...]:
    """The chat so far as tutor messages; failed turns are left out.

    Assistant messages carry the ids of the passages the answer cited (all
    retrieved passages if it cited none) and its mode, which the Quiz and
    Socratic modes need for the next turn.
    """
    messages: list[Message] = []
    for exchange in exchanges:
        if exchange.answer is not None:
            answer = exchange.answer
            messages += [Message("user", exchange.question),
                         Message("assistant", answer.text, chunk_ids(answer), answer.mode or exchange.mode)]
    return tuple(messages)


def chunk_ids(answer: Answer) -> tuple[str, ...]:
    """Ids of the cited chunks, in citation order, else of every retrieved chunk."""
    cited = tuple(dict.fromkeys(c.chunk_id for c in answer.citations if c.chunk_id))
    return cited or tuple(hit.chunk.id for hit in answer.hits)


def stream_turn(tutor: Callable[[], Any], question: str, exchanges: Sequence[Exchange], mode: str,
                level: str, part: str | None = None, reply_index: int = 1) -> Iterator[Update]:
    """Answer one question, yielding what the chat and the sources panel show as it goes.

    Progress messages stand in for the reply until the first token; a
    `TutorError` becomes its message (it says what to do), anything else a
    generic apology with the details in the log.

    Args:
        tutor: returns the shared tutor (it may be built on this first call).
        question, mode, level: as typed and selected; `part` None means all parts.
        exchanges: the earlier exchanges of this chat.
        reply_index: where the reply sits in the chat's message list.
    """
    done = dict(question=question, mode=mode, level=level, part=part or "", reply_index=reply_index)
    sources, text = NO_SOURCES, ""
    yield Update(SEARCHING, sources)
    try:
        for step in tutor().stream(question, history(exchanges), mode=mode, level=level, part=part):
            if step.kind == "sources":
                sources = sources_to_markdown(step.hits)
                yield Update(_writing(len(step.hits)), sources)
            elif step.kind == "token":
                text += step.text
                yield Update(partial_to_markdown(text), sources)
            elif step.kind == "status":  # under the reply so far, until the next token replaces it
                yield Update(f"{partial_to_markdown(text)}\n\n_{step.text}_", sources)
            elif step.answer is not None:
                # The final text may differ from the streamed tokens (verified citations).
                yield Update(answer_to_markdown(step.answer), sources, Exchange(answer=step.answer, **done))
                return
    except TutorError as error:
        yield Update(f"⚠ {partial_to_markdown(str(error))}", sources, Exchange(error=f"⚠ {error}", **done))
    except Exception:
        log.exception("answering %r failed", question)
        yield Update(GENERIC_ERROR, sources, Exchange(error=GENERIC_ERROR, **done))


def rate(store: FeedbackStore, exchanges: Sequence[Exchange], rated: Mapping, index: Any, liked: Any,
         config: Mapping[str, Any]) -> tuple[dict, int | None]:
    """Store a thumbs up/down on one reply; a second click changes it, un-clicking takes it back.

    Args:
        store: where ratings go.
        exchanges: the chat's exchanges; the one whose `reply_index` is `index` is rated.
        rated: reply index -> feedback row id of this chat, plus "last": the latest row.
        index: the rated message's position in the chat.
        liked: True or "Like" for up, False or "Dislike" for down, anything else (None) takes it back.
        config: the non-secret settings stored with the rating.

    Returns:
        The new `rated` mapping and the row id now holding the rating (None if there is none).
    """
    rated = dict(rated)
    exchange = next((e for e in exchanges if e.reply_index == index), None)
    row = rated.get(index)
    if exchange is None:  # a question, or a reply still streaming
        return rated, None
    if liked not in (True, False, "Like", "Dislike"):
        if row is not None:
            store.remove(row)
            del rated[index]
        rated.pop("last", None)
        return rated, None
    rating = "up" if liked in (True, "Like") else "down"
    if row is None:
        row = store.add(rating, exchange.reply, level=exchange.level, part=exchange.part, config=config)
    else:
        store.rate(row, rating)
    rated[index] = rated["last"] = row
    return rated, row


def part_names(tutor: Any) -> list[tuple[str, str]]:
    """(label, part) choices to filter by, labelled in English; none when the index cannot be read (the chat says why)."""
    try:
        return [(english_place(p), p) for p in tutor.parts()]
    except TutorError as error:
        log.warning("cannot list the handbook parts: %s", error)
        return []


def _writing(found: int) -> str:
    if not found:
        return "_No passage matched; checking what the handbook covers…_"
    return f"_Found {found} passage{'s' if found != 1 else ''} · writing the answer…_"


class TutorHolder:
    """The one tutor the UI shares: given, or built by a factory on first use.

    Args:
        source: a tutor (anything with `stream`), or a no-argument factory.
        reload: builds the tutor that replaces the current one after a
            re-ingest (e.g. a new `Tutor` reusing the old one's models); by
            default a factory-made tutor is dropped and made again on next use.
    """

    def __init__(self, source: Any, reload: Callable[[Any], Any] | None = None) -> None:
        self._factory = None if hasattr(source, "stream") else source
        self._tutor = source if self._factory is None else None
        self._reload = reload
        self._lock = threading.Lock()  # two first questions at once must not build two tutors

    def get(self) -> Any:
        with self._lock:
            if self._tutor is None:
                self._tutor = self._factory()
            return self._tutor

    @property
    def built(self) -> bool:
        return self._tutor is not None

    def reload(self) -> None:
        """Make the next `get` read the index again."""
        with self._lock:
            if self._tutor is not None and self._reload is not None:
                self._tutor = self._reload(self._tutor)
            elif self._factory is not None:
                self._tutor = None
