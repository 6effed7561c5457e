"""Learners' cards, reviews and activity, kept in SQLite (`<TUTOR_HOME>/learners.sqlite`).

Nothing is lost on an upgrade, a re-ingest or a crash mid-write:
- the schema has a version (`PRAGMA user_version`) and numbered migrations; before migrating a file that holds
  data, a copy of it is kept beside it (`learners.sqlite.v<N>.bak`), and each migration commits whole or not at all;
- every write is one transaction (WAL journal), so a crash leaves the last committed state;
- a file that is not a readable learner database, or one written by a newer version, is refused with a clear
  error and left untouched (it is checked read-only before anything is written);
- a review counts only if the card is still as the learner saw it: two tabs of one learner answering the same
  card count one review (`ReviewConflict` for the other).
A re-ingest never touches this file; cards whose quote left its page are flagged (`stale`), never deleted.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from contextlib import closing, contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from core.errors import LearnerError, ReviewConflict
from tutor.learn.cards import Card
from tutor.learn.schedule import Schedule

FILE = "learners.sqlite"
LOCAL = "local"  # the learner when the chat asks for no login
_HEADER = b"SQLite format 3\x00"
MIGRATIONS = (
    # 1: learners and their cards, each card's FSRS state and every review
    """
    CREATE TABLE learners (name TEXT PRIMARY KEY, created TEXT NOT NULL, parameters TEXT NOT NULL DEFAULT '');
    CREATE TABLE cards (learner TEXT NOT NULL REFERENCES learners(name), id TEXT NOT NULL, card TEXT NOT NULL,
                        state TEXT NOT NULL, due TEXT NOT NULL, reviews INTEGER NOT NULL DEFAULT 0,
                        created TEXT NOT NULL, PRIMARY KEY (learner, id));
    CREATE TABLE reviews (learner TEXT NOT NULL, card_id TEXT NOT NULL, at TEXT NOT NULL, rating TEXT NOT NULL,
                          proposed TEXT NOT NULL DEFAULT '', reply TEXT NOT NULL DEFAULT '',
                          PRIMARY KEY (learner, card_id, at));
    """,
    # 2: what a learner did where on the roadmap (for the progress map), and cards whose passage left
    """
    CREATE TABLE events (learner TEXT NOT NULL, kind TEXT NOT NULL, part TEXT NOT NULL, section TEXT NOT NULL,
                         at TEXT NOT NULL, ref TEXT NOT NULL DEFAULT '', PRIMARY KEY (learner, kind, at, ref));
    ALTER TABLE cards ADD COLUMN stale INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX cards_due ON cards (learner, due);
    """,
)
SCHEMA = len(MIGRATIONS)
EVENTS = ("asked", "quizzed")


class LearnerStore:
    """One learner database; cheap to make (the file is opened, checked and migrated on first use)."""

    def __init__(self, path: str | Path, migrations: tuple[str, ...] = MIGRATIONS) -> None:
        self.path, self.migrations = Path(path), migrations
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings) -> LearnerStore:
        return cls(Path(settings.home) / FILE)

    # --- opening -------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction (BEGIN IMMEDIATE: writers queue instead of failing half-way); it commits
        when the block ends and rolls back if it raises."""
        with self._lock:
            if not self._ready:
                self._open()
                self._ready = True
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as con:
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _open(self) -> None:
        version = self._check() if self.path.exists() else 0
        if version > len(self.migrations):
            raise LearnerError(f"{self.path} was written by a newer handbook-tutor (schema {version}, this one "
                               f"knows {len(self.migrations)}): upgrade handbook-tutor; the file was left untouched")
        if version and version < len(self.migrations):
            shutil.copy2(self.path, self.path.with_name(f"{self.path.name}.v{version}.bak"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as con:
            _write_ahead(con)
            for number, script in enumerate(self.migrations[version:], start=version + 1):
                # The version is read again under the write lock: another store or process opening the same file
                # at the same moment may have run this step already (20 chats starting at once did).
                con.execute("BEGIN IMMEDIATE")
                try:
                    if con.execute("PRAGMA user_version").fetchone()[0] < number:
                        for statement in _statements(script):
                            con.execute(statement)
                        con.execute(f"PRAGMA user_version = {number}")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")

    def _check(self) -> int:
        """The file's schema version, read without writing; a file that is not a sound learner database raises."""
        untouched = (f"{self.path} is not a readable learner database; it was left untouched. Move it aside to start "
                     "afresh, or restore a copy (`tutor learner import` reads an export)")
        with open(self.path, "rb") as f:
            head = f.read(len(_HEADER))
        if head and head != _HEADER:
            raise LearnerError(untouched)
        if not head:
            return 0
        try:
            with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
                if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise LearnerError(untouched)
                return int(con.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as e:
            raise LearnerError(untouched) from e

    # --- learners --------------------------------------------------------------------------------------------
    def learners(self) -> list[str]:
        with self.transaction() as con:
            return [r[0] for r in con.execute("SELECT name FROM learners ORDER BY name")]

    def ensure(self, learner: str, at: datetime) -> str:
        """The learner, created on first use (the logged-in user, or `LOCAL`)."""
        if not learner.strip():
            raise LearnerError("a learner needs a name")
        with self.transaction() as con:
            con.execute("INSERT OR IGNORE INTO learners (name, created) VALUES (?, ?)", (learner, at.isoformat()))
        return learner

    def require(self, learner: str) -> str:
        """The learner if they exist, else a LearnerError naming those who do."""
        known = self.learners()
        if learner not in known:
            raise LearnerError(f"no learner {learner!r} in {self.path}; known: {', '.join(known) or 'none yet'}")
        return learner

    def schedule(self, learner: str, retention: float = 0.9) -> Schedule:
        with self.transaction() as con:
            row = con.execute("SELECT parameters FROM learners WHERE name = ?", (learner,)).fetchone()
        return Schedule(json.loads(row[0]) if row and row[0] else None, retention)

    def set_parameters(self, learner: str, parameters: list[float]) -> None:
        with self.transaction() as con:
            con.execute("UPDATE learners SET parameters = ? WHERE name = ?", (json.dumps(parameters), learner))

    # --- cards and reviews -----------------------------------------------------------------------------------
    def add(self, learner: str, card: Card, at: datetime) -> bool:
        """Keep a card for the learner (due at once); False when they already had it (same content, same id)."""
        self.ensure(learner, at)
        state = Schedule().new_state(at)
        with self.transaction() as con:
            done = con.execute("INSERT OR IGNORE INTO cards (learner, id, card, state, due, created) VALUES (?, ?, ?, ?, ?, ?)",
                               (learner, card.id, json.dumps(asdict(card), ensure_ascii=False), state,
                                at.isoformat(), at.isoformat()))
            return done.rowcount == 1

    def cards(self, learner: str) -> list[tuple[Card, str, int, bool]]:
        """Every card of the learner with its FSRS state, review count and stale flag, oldest first."""
        with self.transaction() as con:
            rows = con.execute("SELECT card, state, reviews, stale FROM cards WHERE learner = ? ORDER BY created, id",
                               (learner,)).fetchall()
        return [(Card(**json.loads(c)), s, n, bool(x)) for c, s, n, x in rows]

    def due(self, learner: str, at: datetime, limit: int = 20) -> list[tuple[Card, int, bool]]:
        """Cards due at `at`, most overdue first, each with its review count (what a review must find unchanged)
        and whether its quote left its page."""
        with self.transaction() as con:
            rows = con.execute("SELECT card, reviews, stale FROM cards WHERE learner = ? AND due <= ? ORDER BY due, id "
                               "LIMIT ?", (learner, at.isoformat(), limit)).fetchall()
        return [(Card(**json.loads(c)), n, bool(x)) for c, n, x in rows]

    def count_due(self, learner: str, at: datetime) -> int:
        with self.transaction() as con:
            return con.execute("SELECT COUNT(*) FROM cards WHERE learner = ? AND due <= ?",
                               (learner, at.isoformat())).fetchone()[0]

    def review(self, learner: str, card_id: str, rating: str, at: datetime, seen: int, schedule: Schedule, *,
               proposed: str = "", reply: str = "") -> datetime:
        """Record a review of a card the learner saw after `seen` reviews; returns when it is due next.

        Raises ReviewConflict when the card was reviewed meanwhile (another tab): the review is not counted twice.
        """
        with self.transaction() as con:
            row = con.execute("SELECT state, reviews FROM cards WHERE learner = ? AND id = ?",
                              (learner, card_id)).fetchone()
            if row is None:
                raise LearnerError(f"{learner!r} has no card {card_id}")
            if row[1] != seen:
                raise ReviewConflict("this card was just reviewed (in another tab?): that review counts, not this one")
            state, due = schedule.review(row[0], rating, at)
            con.execute("UPDATE cards SET state = ?, due = ?, reviews = reviews + 1 WHERE learner = ? AND id = ?",
                        (state, due.isoformat(), learner, card_id))
            con.execute("INSERT INTO reviews (learner, card_id, at, rating, proposed, reply) VALUES (?, ?, ?, ?, ?, ?)",
                        (learner, card_id, at.isoformat(), rating, proposed, reply))
        return due

    def reviews(self, learner: str) -> list[tuple[str, str, datetime]]:
        """(card id, rating, time) of every review, oldest first."""
        with self.transaction() as con:
            rows = con.execute("SELECT card_id, rating, at FROM reviews WHERE learner = ? ORDER BY at", (learner,))
            return [(c, r, datetime.fromisoformat(t)) for c, r, t in rows]

    def flag_stale(self, learner: str, still_quoted: Callable[[Card], bool]) -> int:
        """Flag the cards whose quote is no longer on its page (and unflag those back); returns how many are stale."""
        cards = self.cards(learner)
        with self.transaction() as con:
            for card, _, _, _ in cards:
                con.execute("UPDATE cards SET stale = ? WHERE learner = ? AND id = ?",
                            (0 if still_quoted(card) else 1, learner, card.id))
            return con.execute("SELECT COUNT(*) FROM cards WHERE learner = ? AND stale = 1", (learner,)).fetchone()[0]

    # --- activity on the roadmap -----------------------------------------------------------------------------
    def note(self, learner: str, kind: str, part: str, section: str, at: datetime, ref: str = "") -> None:
        """Remember that the learner asked about (or was quizzed on) a passage of this part and section."""
        if kind not in EVENTS:
            raise ValueError(f"kind must be one of {EVENTS}, got {kind!r}")
        self.ensure(learner, at)
        with self.transaction() as con:
            con.execute("INSERT OR IGNORE INTO events (learner, kind, part, section, at, ref) VALUES (?, ?, ?, ?, ?, ?)",
                        (learner, kind, part, section, at.isoformat(), ref))

    def events(self, learner: str) -> list[tuple[str, str, str, str]]:
        """(kind, part, section, ISO time) of everything the learner did on the roadmap, oldest first."""
        with self.transaction() as con:
            return [tuple(r) for r in con.execute(
                "SELECT kind, part, section, at FROM events WHERE learner = ? ORDER BY at", (learner,))]


def _statements(script: str) -> list[str]:
    """A migration's SQL statements one by one (executescript would commit the transaction they must run in)."""
    out, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out


def _write_ahead(con: sqlite3.Connection, patience: float = 10.0) -> None:
    """Switch the file to WAL (once; it stays). Switching needs the file to itself and SQLite does not wait for
    that as it waits for a write lock, so a store opening it beside others tries again for a while."""
    deadline = time.monotonic() + patience
    while True:
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
