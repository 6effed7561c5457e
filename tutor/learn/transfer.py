"""A learner's data as one JSON document: `tutor learner export` writes it, `tutor learner import` merges it back.

Import merges, it never replaces: a card already there keeps whichever copy has seen more reviews, a review or an
activity record already there is not added twice, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path

from core.errors import LearnerError
from tutor.learn.cards import Card
from tutor.learn.store import SCHEMA, LearnerStore

FORMAT = "handbook-tutor-learner"
_CARD_FIELDS = {f.name for f in fields(Card)}


def export_learner(store: LearnerStore, learner: str) -> dict:
    """Everything the store keeps for one learner, as plain JSON values."""
    store.require(learner)
    with store.transaction() as con:
        created, parameters = con.execute("SELECT created, parameters FROM learners WHERE name = ?", (learner,)).fetchone()
        cards = [{**json.loads(c), "state": s, "due": d, "reviews": n, "stale": bool(x), "created": t}
                 for c, s, d, n, x, t in con.execute(
                     "SELECT card, state, due, reviews, stale, created FROM cards WHERE learner = ? ORDER BY created, id",
                     (learner,))]
        reviews = [dict(zip(("card_id", "at", "rating", "proposed", "reply"), r)) for r in con.execute(
            "SELECT card_id, at, rating, proposed, reply FROM reviews WHERE learner = ? ORDER BY at", (learner,))]
        events = [dict(zip(("kind", "part", "section", "at", "ref"), r)) for r in con.execute(
            "SELECT kind, part, section, at, ref FROM events WHERE learner = ? ORDER BY at", (learner,))]
    return {"format": FORMAT, "schema": SCHEMA, "learner": learner, "created": created,
            "parameters": json.loads(parameters) if parameters else None,
            "cards": cards, "reviews": reviews, "events": events}


def write_export(store: LearnerStore, learner: str, path: Path) -> Path:
    data = export_learner(store, learner)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def import_learner(store: LearnerStore, data: dict, learner: str | None = None) -> dict[str, int]:
    """Merge an export into the store (as `learner`, default the exported name); returns what was added."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LearnerError(f"not a learner export (expected \"format\": \"{FORMAT}\"): export one with "
                           "`tutor learner export`")
    if int(data.get("schema", 0)) > SCHEMA:
        raise LearnerError("this export was written by a newer handbook-tutor: upgrade to import it")
    name = learner or str(data.get("learner") or "")
    try:
        cards = [(Card(**{k: str(v) for k, v in c.items() if k in _CARD_FIELDS}), c) for c in data.get("cards", [])]
        for _, c in cards:
            datetime.fromisoformat(c["due"]), datetime.fromisoformat(c["created"])
    except (TypeError, KeyError, ValueError) as e:
        raise LearnerError(f"the export's cards are malformed ({e}); nothing was imported") from e
    if not name.strip():
        raise LearnerError("the export names no learner: give one with --learner")
    created = str(data.get("created") or "")
    store.ensure(name, datetime.fromisoformat(created) if created else datetime.now(timezone.utc))
    try:
        return _merge(store, name, cards, data)
    except (TypeError, KeyError, ValueError) as e:
        raise LearnerError(f"the export has a malformed record ({e!r}); nothing was imported") from e


def _merge(store: LearnerStore, name: str, cards: list, data: dict) -> dict[str, int]:
    added = {"cards": 0, "reviews": 0, "events": 0}
    with store.transaction() as con:  # one transaction: a malformed record imports nothing
        for card, c in cards:
            row = con.execute("SELECT reviews FROM cards WHERE learner = ? AND id = ?", (name, card.id)).fetchone()
            values = (json.dumps(asdict(card), ensure_ascii=False), str(c["state"]), str(c["due"]), int(c.get("reviews", 0)),
                      int(bool(c.get("stale"))), str(c["created"]), name, card.id)
            if row is None:
                con.execute("INSERT INTO cards (card, state, due, reviews, stale, created, learner, id) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
                added["cards"] += 1
            elif row[0] < values[3]:
                con.execute("UPDATE cards SET card = ?, state = ?, due = ?, reviews = ?, stale = ?, created = ? "
                            "WHERE learner = ? AND id = ?", values)
        for r in data.get("reviews", []):
            done = con.execute("INSERT OR IGNORE INTO reviews (learner, card_id, at, rating, proposed, reply) "
                               "VALUES (?, ?, ?, ?, ?, ?)", (name, str(r["card_id"]), str(r["at"]), str(r["rating"]),
                                                              str(r.get("proposed", "")), str(r.get("reply", ""))))
            added["reviews"] += done.rowcount
        for e in data.get("events", []):
            done = con.execute("INSERT OR IGNORE INTO events (learner, kind, part, section, at, ref) VALUES (?, ?, ?, ?, ?, ?)",
                               (name, str(e["kind"]), str(e["part"]), str(e["section"]), str(e["at"]), str(e.get("ref", ""))))
            added["events"] += done.rowcount
        if data.get("parameters"):
            con.execute("UPDATE learners SET parameters = ? WHERE name = ? AND parameters = ''",
                        (json.dumps(data["parameters"]), name))
    return added


def read_import(store: LearnerStore, path: Path, learner: str | None = None) -> dict[str, int]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise LearnerError(f"no file {path}") from e
    except ValueError as e:
        raise LearnerError(f"{path} is not JSON ({e}); nothing was imported") from e
    return import_learner(store, data, learner)
