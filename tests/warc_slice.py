"""Write a smaller WARC holding only some records of a real one (for fast real-data tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable


def write_warc_slice(source: Path, target: Path, keep: Callable[[str], bool]) -> Path:
    """Copy the records whose WARC-Target-URI satisfies `keep` into a new gzipped WARC."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    with open(source, "rb") as src, open(target, "wb") as dst:
        writer = WARCWriter(dst, gzip=True)
        for record in ArchiveIterator(src):
            if record.rec_type in ("response", "resource") and keep(record.rec_headers.get_header("WARC-Target-URI")):
                writer.write_record(record)
    return target
