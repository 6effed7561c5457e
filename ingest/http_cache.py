"""On-disk cache of fetched pages, so a refresh can ask "has this changed?" (ETag / Last-Modified).

Layout under `<home>/cache/http/`, one pair of files per requested URL:

    <key>.body   the response body as received (after content decoding)
    <key>.json   url, final_url, content_type, etag, last_modified, date,
                 fetched, sha256 and size of the body, response headers

Both are written to a temporary name and renamed (atomic on POSIX), the body
first: a reader that finds the JSON finds the body it describes, and a body
whose sha256 does not match (a crash between the two renames, a disk error)
makes the entry a miss, never a wrong page.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedPage:
    """A cached response: what a 304 Not Modified stands for."""

    url: str
    final_url: str
    content_type: str
    etag: str
    last_modified: str
    date: str  # the Page date given when this body was first fetched
    fetched: str  # when it was last fetched or revalidated (ISO 8601 UTC)
    sha256: str
    size: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def conditional_headers(self) -> dict[str, str]:
        """Headers that ask the server to answer 304 if the page is unchanged."""
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


class HttpCache:
    """Read and write cached pages under `root` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def get(self, url: str) -> CachedPage | None:
        """The cached page for `url`, or None if absent, unreadable or damaged."""
        meta_path, body_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            body = body_path.read_bytes()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.warning("ignoring unreadable HTTP cache entry for %s: %s", url, e)
            return None
        if meta.get("url") != url or hashlib.sha256(body).hexdigest() != meta.get("sha256"):
            return None
        try:
            meta["headers"] = tuple(tuple(h) for h in meta.get("headers", ()))
            return CachedPage(**meta, body=body)
        except TypeError:  # written by another version of this module
            return None

    def put(self, page: CachedPage) -> None:
        """Store `page` (body included), replacing any older entry atomically."""
        meta_path, body_path = self._paths(page.url)
        self.root.mkdir(parents=True, exist_ok=True)
        meta = asdict(page)
        meta.pop("body")
        _atomic_write(body_path, page.body)
        _atomic_write(meta_path, (json.dumps(meta, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
        return self.root / f"{key}.json", self.root / f"{key}.body"


def _atomic_write(path: Path, data: bytes) -> None:
    # Unique temporary name: worker threads may write entries at the same time.
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
