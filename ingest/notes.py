"""Read a folder of the learner's own notes (markdown, rst, plain text) as pages."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from core.errors import SourceError
from core.types import Page

log = logging.getLogger(__name__)

# Quarto (.qmd) is markdown with a few extra fences, which extract() handles.
CONTENT_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".mdx": "text/markdown",
    ".qmd": "text/markdown",
    ".rst": "text/x-rst",
    ".txt": "text/plain",
}


def read_notes(folder: str | Path) -> Iterator[Page]:
    """Yield a `Page` for every notes file under `folder`, recursively, in sorted order.

    Files and folders whose name starts with "." (e.g. `.git`) are skipped.

    Args:
        folder: the notes folder.

    Yields:
        Pages whose `url` is the file's absolute `file://` URI, whose
        `content_type` follows the extension (`text/markdown`, `text/x-rst`
        or `text/plain`, all `charset=utf-8`), whose `date` is the file's
        modification time (UTC, ISO 8601) and whose `origin` is `notes:<folder>`.

    Raises:
        SourceError: the folder does not exist or is not a folder, or a file
            cannot be read.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise SourceError(f"notes folder {root} {what}; pass a folder of .md/.rst/.txt files")
    root = root.resolve()
    origin = f"notes:{root}"
    found = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        kind = CONTENT_TYPES.get(path.suffix.lower())
        if kind is None:
            continue
        try:
            body = path.read_bytes()
            mtime = path.stat().st_mtime
        except OSError as e:
            raise SourceError(f"cannot read notes file {path}: {e.strerror or e}") from None
        found += 1
        yield Page(
            url=path.as_uri(),
            content_type=f"{kind}; charset=utf-8",
            body=body,
            date=datetime.fromtimestamp(mtime, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            origin=origin,
        )
    if not found:
        log.warning("no notes files (%s) under %s", ", ".join(CONTENT_TYPES), root)
