"""Export cards to Anki (.apkg) or a spreadsheet (.csv), so a learner can review them outside the tutor.

An Anki note's GUID is derived from the card's id, and the note type and deck ids from fixed names: importing a
newer export of the same cards updates the notes already in Anki (and keeps their review history) instead of
adding duplicates. Every field is HTML-escaped, since cards hold text taken from web pages and Anki renders HTML.

Both writers replace the file atomically: a failed or empty export never leaves a half-written or clobbered file.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path

from core.errors import ConfigError, LearnerError
from tutor.learn.cards import Card

FORMATS = ("apkg", "csv")
CSV_COLUMNS = ("id", "question", "answer", "quote", "url", "link", "title", "part", "section", "language", "origin")
DEFAULT_DECK = "Generative AI Handbook"
# Renaming this gives a new note type id: do it when the fields below change, since Anki keeps a note type's fields.
MODEL_NAME = "handbook-tutor card v1"
FIELDS = ("Question", "Answer", "Quote", "Source", "Where", "CardId")  # CardId: not shown, lets a note be traced back

_FRONT = '<div class="question">{{Question}}</div>'
_BACK = ('{{FrontSide}}\n<hr id=answer>\n{{#Answer}}<div class="answer">{{Answer}}</div>{{/Answer}}\n'
         '<blockquote>{{Quote}}</blockquote>\n<div class="source">{{Source}}{{#Where}}<br>{{Where}}{{/Where}}</div>')
_CSS = (".card { font-family: sans-serif; font-size: 20px; text-align: left; }\n"
        "blockquote { margin: 1em 0; padding-left: 1em; border-left: 3px solid #999; color: #444; }\n"
        ".source { font-size: 14px; color: #666; }")


def export(cards: Sequence[Card], path: Path, fmt: str | None = None) -> Path:
    """Write `cards` to `path` as `fmt` ("apkg" or "csv"), or as the path's suffix says when `fmt` is None."""
    path = Path(path)
    chosen = (fmt if fmt is not None else path.suffix).lower().lstrip(".")
    if chosen == "apkg":
        return to_apkg(cards, path)
    if chosen == "csv":
        return to_csv(cards, path)
    given = f"format {fmt!r}" if fmt is not None else f"file name {path.name!r}"
    raise ConfigError(f"cannot export to {given}: choose apkg (Anki) or csv (spreadsheet), or a .apkg or .csv file")


def to_apkg(cards: Sequence[Card], path: Path, deck_name: str = DEFAULT_DECK) -> Path:
    """Write an Anki package with one note per card; re-importing it updates the notes rather than duplicating."""
    _require(cards)
    import genanki  # only when a deck is exported

    model = genanki.Model(_anki_id(MODEL_NAME), "Handbook tutor card", fields=[{"name": f} for f in FIELDS],
                          templates=[{"name": "Recall", "qfmt": _FRONT, "afmt": _BACK}], css=_CSS)
    # The deck id follows its name, so the same deck is the same id on every export and two named decks never merge.
    deck = genanki.Deck(_anki_id(f"handbook-tutor deck: {deck_name}"), deck_name)
    for card in cards:
        deck.add_note(genanki.Note(model=model, fields=_fields(card), tags=_tags(card),
                                   guid=genanki.guid_for(card.id)))
    return _write_atomically(Path(path), lambda tmp: genanki.Package(deck).write_to_file(str(tmp)))


def to_csv(cards: Sequence[Card], path: Path) -> Path:
    """Write a CSV with a header row and one row per card, readable by spreadsheet apps (UTF-8 with a BOM)."""
    _require(cards)

    def write(tmp: Path) -> None:
        # utf-8-sig: without the BOM, Excel reads UTF-8 as the local code page and garbles Chinese.
        with tmp.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(CSV_COLUMNS)
            writer.writerows([getattr(card, column) for column in CSV_COLUMNS] for card in cards)

    return _write_atomically(Path(path), write)


def _require(cards: Sequence[Card]) -> None:
    if not cards:
        raise LearnerError("no cards to export yet: save an answer as a card or answer a quiz first")


def _anki_id(name: str) -> int:
    """A stable id for `name` in [2**30, 2**31), the range genanki recommends for note type and deck ids."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def _fields(card: Card) -> list[str]:
    # A card without a checked rendering answers with the quote itself; the back shows the quote anyway.
    answer = "" if card.answer == card.quote else card.answer
    title = escape(card.title or card.url)
    # Only a web link becomes a link: a page's URL is not trusted to be one (a javascript: URL would run in Anki).
    source = (f'<a href="{escape(card.link, quote=True)}">{title}</a>'
              if card.link.startswith(("https://", "http://")) else title)
    where = " › ".join(escape(s) for s in (card.part, card.section) if s)
    return [escape(card.question), escape(answer), escape(card.quote), source, where, escape(card.id)]


def _tags(card: Card) -> list[str]:
    # Anki splits tags on whitespace, so a part name like "Part IV: Fine-tuning" must become one word.
    return ["_".join(tag.split()) for tag in (card.origin, card.part) if tag.strip()]


def _write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Run `write` on a temp file beside `path`, then move it into place: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with tmp.open("rb") as done:
            os.fsync(done.fileno())  # the rename must not expose a file whose bytes are not on disk yet
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; an export is meant to be opened by other apps
        os.replace(tmp, path)
        return path
    finally:
        tmp.unlink(missing_ok=True)
