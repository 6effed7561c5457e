"""Learner feedback on answers (thumbs up/down, an optional comment) kept in SQLite.

One row per rated answer, with everything needed to study it later without
the chat: the question, the answer text, its citations (JSON), the tutoring
mode and level, the model that wrote it and the non-secret settings in force.
`FeedbackStore.export` writes the rows as JSON lines (`tutor feedback export`).
Each call opens its own short-lived connection, so the store can be shared by
the UI's worker threads; the file and its folder are created on first write.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import urllib.parse
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, TextIO

from core.config import Settings
from core.errors import ConfigError
from core.types import Answer

RATINGS = ("up", "down")
FILE_NAME = "feedback.sqlite"
_SECRET_FIELDS = ("llm_api_key",)  # never stored, whatever its value

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    mode TEXT NOT NULL,
    level TEXT NOT NULL,
    part TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL,
    config TEXT NOT NULL
)
"""
_COLUMNS = ("id", "time", "rating", "comment", "question", "answer", "citations", "mode", "level", "part", "model", "config")


def public_config(settings: Settings) -> dict[str, Any]:
    """The settings worth keeping with a rating, without secrets.

    The API key is dropped and a user name or password inside a URL is removed.
    """
    config = {}
    for name, value in dataclasses.asdict(settings).items():
        if name in _SECRET_FIELDS:
            continue
        if isinstance(value, Path):
            value = str(value)
        config[name] = _without_credentials(value) if isinstance(value, str) else value
    return config


class FeedbackStore:
    """Ratings of answers in one SQLite file.

    Args:
        path: the database file (see `for_settings` for the usual place).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_settings(cls, settings: Settings) -> "FeedbackStore":
        """The store at `<settings.home>/feedback.sqlite`."""
        return cls(Path(settings.home) / FILE_NAME)

    def add(self, rating: str, answer: Answer, *, level: str, comment: str = "", part: str = "",
            config: Mapping[str, Any] | None = None) -> int:
        """Store a rating of an answer.

        Args:
            rating: "up" or "down".
            answer: the rated answer (question, text, citations, mode and model come from it).
            level: the learner level the answer was written for.
            comment: optional free text.
            part: the handbook part the question was restricted to ("" for all).
            config: the non-secret settings (see `public_config`).

        Returns:
            The id of the new row, for `comment` and `remove`.

        Raises:
            ConfigError: an unknown rating.
        """
        _check_rating(rating)
        citations = [{"n": c.n, "chunk_id": c.chunk_id, "url": c.url, "title": c.title, "quote": c.quote,
                      "supported": c.supported, "link": c.link} for c in answer.citations]
        row = (_now(), rating, comment.strip(), answer.question, answer.text, json.dumps(citations, ensure_ascii=False),
               answer.mode, level, part or "", answer.model, json.dumps(dict(config or {}), ensure_ascii=False))
        with closing(self._connect(create=True)) as con, con:
            cursor = con.execute(f"INSERT INTO feedback ({', '.join(_COLUMNS[1:])}) VALUES ({', '.join('?' * 11)})", row)
            return int(cursor.lastrowid)

    def rate(self, feedback_id: int, rating: str) -> None:
        """Change the rating of a stored row (the learner switched thumbs)."""
        _check_rating(rating)
        self._update("UPDATE feedback SET rating = ?, time = ? WHERE id = ?", (rating, _now(), feedback_id))

    def comment(self, feedback_id: int, text: str) -> None:
        """Set the comment of a stored row."""
        self._update("UPDATE feedback SET comment = ? WHERE id = ?", (text.strip(), feedback_id))

    def remove(self, feedback_id: int) -> None:
        """Delete a row (the learner took the rating back)."""
        self._update("DELETE FROM feedback WHERE id = ?", (feedback_id,))

    def records(self) -> list[dict[str, Any]]:
        """All rows, oldest first, with citations and config decoded."""
        if not self.path.exists():
            return []
        with closing(self._connect(create=False)) as con:
            rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM feedback ORDER BY id").fetchall()
        records = [dict(zip(_COLUMNS, row)) for row in rows]
        for record in records:
            record["citations"] = json.loads(record["citations"])
            record["config"] = json.loads(record["config"])
        return records

    def export(self, out: TextIO) -> int:
        """Write every row as one JSON line.

        Returns:
            The number of rows written.
        """
        records = self.records()
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return len(records)

    def _update(self, sql: str, params: tuple) -> None:
        if self.path.exists():
            with closing(self._connect(create=False)) as con, con:
                con.execute(sql, params)

    def _connect(self, create: bool) -> sqlite3.Connection:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        con.execute(_SCHEMA)
        return con


def _check_rating(rating: str) -> None:
    if rating not in RATINGS:
        raise ConfigError(f"rating {rating!r} is not one of: {', '.join(RATINGS)}")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _without_credentials(value: str) -> str:
    """Drop `user:password@` from a URL-looking value; other strings pass unchanged."""
    if "://" not in value or "@" not in value:
        return value
    try:
        parts = urllib.parse.urlsplit(value)
        if not (parts.username or parts.password):
            return value
        netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    except ValueError:  # a malformed port: keep only what follows the '@'
        return value.split("://", 1)[0] + "://" + value.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
