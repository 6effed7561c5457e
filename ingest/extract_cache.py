"""Remember what extraction made of a page, so a refresh does not extract unchanged pages again.

Extraction (trafilatura, the container fallback, the markup cleaners) is
the slowest step of a refresh in which nothing changed. Its result depends
only on the page (URL, content type, body), the fallback title and the
extraction code, so those are the cache key:

    sha256(code version, url, content type, title, sha256(body))

The code version hashes the source of the extraction modules and the
trafilatura version: editing the extractor invalidates every entry, so the
cache never serves text an older extractor produced. Failures ("only 135
characters of text") are cached too. Entries live in one SQLite file,
`<home>/cache/extract.sqlite`; an entry not used for `KEEP_DAYS` is dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from core.types import Document, Page

log = logging.getLogger(__name__)

KEEP_DAYS = 30
_CODE = ("extract.py", "html_text.py", "markup.py", "markup_rules.py")


class ExtractCache:
    """Extraction results keyed by page content; a damaged cache file is started afresh.

    Args:
        path: the SQLite file (its folder is created on first use).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._con: sqlite3.Connection | None = None
        self._today = datetime.now(timezone.utc).date().isoformat()

    def get(self, page: Page, title: str) -> Document | str | None:
        """The cached Document, the cached failure reason (str), or None on a miss."""
        key = self._key(page, title)
        row = self._db().execute("SELECT doc, error FROM extracted WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self._db().execute("UPDATE extracted SET used = ? WHERE key = ?", (self._today, key))
        if row[1] is not None:
            return row[1]
        try:
            return Document(**json.loads(row[0]))
        except (TypeError, ValueError):
            return None

    def put(self, page: Page, title: str, result: Document | str) -> None:
        """Remember a Document, or a failure reason (str), for this page."""
        doc, error = (None, result) if isinstance(result, str) else (json.dumps(result.to_dict(), ensure_ascii=False), None)
        self._db().execute("INSERT OR REPLACE INTO extracted (key, doc, error, used) VALUES (?, ?, ?, ?)",
                           (self._key(page, title), doc, error, self._today))

    def close(self) -> None:
        """Commit, drop stale entries and close (safe to call twice)."""
        if self._con is None:
            return
        cutoff = (datetime.now(timezone.utc) - timedelta(days=KEEP_DAYS)).date().isoformat()
        self._con.execute("DELETE FROM extracted WHERE used < ?", (cutoff,))
        self._con.commit()
        self._con.close()
        self._con = None

    def _db(self) -> sqlite3.Connection:
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._con = self._open()
            except sqlite3.DatabaseError as e:  # a cache is disposable: never let it stop an ingest
                log.warning("extraction cache %s is damaged (%s); starting a new one", self.path, e)
                self.path.unlink(missing_ok=True)
                self._con = self._open()
        return self._con

    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path)
        con.execute("CREATE TABLE IF NOT EXISTS extracted (key TEXT PRIMARY KEY, doc TEXT, error TEXT, used TEXT)")
        return con

    @staticmethod
    def _key(page: Page, title: str) -> str:
        body = hashlib.sha256(page.body).hexdigest()
        return hashlib.sha256("\x1f".join((code_version(), page.url, page.content_type, title, body)).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the extraction code and the trafilatura version."""
    digest = hashlib.sha256()
    for name in _CODE:
        digest.update((Path(__file__).with_name(name)).read_bytes())
    try:
        digest.update(metadata.version("trafilatura").encode())
    except metadata.PackageNotFoundError:
        pass
    return digest.hexdigest()[:16]
