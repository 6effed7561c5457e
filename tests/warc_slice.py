"""Write a smaller WARC holding only some records of a real one (for fast real-data tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence


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


def ingest_slice(home: Path, urls: Sequence[str]):
    """Index the snapshot's records of `urls` with the default embedders into `home`; return its Settings.

    Skips the calling test when the snapshot is not beside the checkout.
    """
    import pytest

    from core.config import Settings
    from ingest.run import run_ingest

    snapshot = Settings.load(env={}).snapshot_path()
    if snapshot is None:
        pytest.skip("the corpus snapshot ../shared/corpus/genai-handbook.warc.gz is not beside the checkout")
    warc = write_warc_slice(snapshot, home / "slice.warc.gz", lambda url: url in urls)
    settings = Settings.load(env={}, home=home / "data")
    report = run_ingest(settings, warcs=[str(warc)], use_default=False, show_progress=False)
    assert report.documents == len(urls) and not report.skipped
    return settings
