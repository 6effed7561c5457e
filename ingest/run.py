"""Ingest orchestration: gather pages, extract, chunk, and build the index.

One failing source never stops a run: it is skipped and reported with its
reason. The index is only replaced once the new one is complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from tutor.config import Settings
from tutor.errors import SourceError
from tutor.types import Chunk, Document, Page

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest run did, source by source."""

    started: str
    sources: list[str] = field(default_factory=list)
    ok: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"url", "reason"}
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    embedder: str = ""
    build: str = ""

    def summary(self) -> str:
        lines = [
            f"ingested {self.documents} documents ({self.chunks} chunks, {self.embedded} newly embedded) "
            f"in {self.seconds:.1f} s with {self.embedder}",
        ]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} records:")
            lines += [f"  - {s['url']}: {s['reason']}" for s in self.skipped]
        return "\n".join(lines)


def default_pages(settings: Settings) -> tuple[str, Iterator[Page] | None, list[str]]:
    """The default corpus: the snapshot WARC if present, else the curated URLs fetched live.

    Returns a label, the page iterator (or None if it must be fetched) and the URLs to fetch.
    """
    from ingest.sources import load_sources
    from ingest.warc import read_warc

    snapshot = settings.snapshot_path()
    if snapshot and snapshot.exists():
        return f"warc:{snapshot}", read_warc(snapshot), []
    urls = [s.url for s in load_sources() if s.kind not in ("video", "paper")]
    return "curated list (live)", None, urls


def gather(settings: Settings, warcs: Sequence[str] = (), urls: Sequence[str] = (), notes: Sequence[str] = (),
           use_default: bool = True, report: IngestReport | None = None) -> Iterator[Page]:
    """Yield pages from every requested source; a source that fails is reported and skipped."""
    from ingest.fetch import fetch
    from ingest.notes import read_notes
    from ingest.warc import read_warc

    report = report or IngestReport(started="")
    fetch_list = list(urls)
    streams: list[tuple[str, Iterable[Page]]] = []
    if use_default:
        label, pages, default_urls = default_pages(settings)
        if pages is not None:
            streams.append((label, pages))
        fetch_list = default_urls + fetch_list
    streams += [(f"warc:{w}", read_warc(Path(w))) for w in warcs]
    streams += [(f"notes:{d}", read_notes(Path(d))) for d in notes]
    for label, pages in streams:
        report.sources.append(label)
        try:
            yield from pages
        except SourceError as e:
            report.skipped.append({"url": label, "reason": str(e)})
    for url in fetch_list:
        try:
            yield fetch(url)
        except SourceError as e:
            report.skipped.append({"url": url, "reason": str(e)})


def extract_all(pages: Iterable[Page], report: IngestReport) -> list[Document]:
    """Extract every page; skip (and report) failures and duplicates."""
    from ingest.extract import extract
    from ingest.sources import find_source, placement

    documents: dict[str, Document] = {}
    seen_text: dict[str, str] = {}
    for page in pages:
        if page.url in documents:
            report.skipped.append({"url": page.url, "reason": "duplicate URL (first copy kept)"})
            continue
        part, section = placement(page.url)
        source = find_source(page.url)
        try:
            doc = extract(page, part=part, section=section, title=source.title if source else "")
        except SourceError as e:
            report.skipped.append({"url": page.url, "reason": str(e).removeprefix(f"{page.url}: ")})
            continue
        except Exception as e:  # a bug in one parser must not sink the whole run
            log.exception("extraction crashed on %s", page.url)
            report.skipped.append({"url": page.url, "reason": f"extraction failed: {type(e).__name__}: {e}"})
            continue
        digest = hashlib.sha256(doc.text.encode()).hexdigest()
        if digest in seen_text:
            report.skipped.append({"url": page.url, "reason": f"same text as {seen_text[digest]} (kept once)"})
            continue
        seen_text[digest] = page.url
        documents[page.url] = doc
        report.ok.append(page.url)
    return list(documents.values())


def run_ingest(settings: Settings, warcs: Sequence[str] = (), urls: Sequence[str] = (), notes: Sequence[str] = (),
               use_default: bool = True, embedders=None, show_progress: bool = True) -> IngestReport:
    """Ingest the sources and atomically replace the index.

    Args:
        settings: configuration (data directory, embedder, chunk size).
        warcs, urls, notes: extra sources: WARC files, page URLs, folders of notes.
        use_default: also ingest the default corpus (the snapshot, else the curated list).
        embedders: Embedders to use instead of the configured ones (tests).

    Raises:
        SourceError: no document at all could be extracted (the old index is kept).
    """
    from index.build import build_index
    from index.embed import make_embedders
    from ingest.chunk import chunk

    started = time.perf_counter()
    report = IngestReport(started=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    documents = extract_all(gather(settings, warcs, urls, notes, use_default, report), report)
    if not documents:
        _write_report(settings, report)
        raise SourceError("no document could be extracted from the given sources; the existing index was kept. "
                          "Check the paths/URLs (see the ingest report)")
    chunks: list[Chunk] = [c for doc in documents for c in chunk(doc, max_chars=settings.chunk_chars)]
    embedders = embedders or make_embedders(settings.embedder)
    bar = _progress_bar(show_progress)
    manifest, embedded = build_index(settings.index_dir, documents, chunks, embedders, progress=bar)
    report.documents, report.chunks, report.embedded = manifest.documents, manifest.chunks, embedded
    report.embedder, report.build = manifest.embedder, manifest.build
    report.seconds = round(time.perf_counter() - started, 2)
    _write_report(settings, report)
    return report


def last_report(settings: Settings) -> dict | None:
    path = Path(settings.home) / "last_ingest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _write_report(settings: Settings, report: IngestReport) -> None:
    home = Path(settings.home)
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / "last_ingest.json.tmp"
    tmp.write_text(json.dumps(asdict(report), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(home / "last_ingest.json")


def _progress_bar(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    state: dict = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(total=total, desc="embedding", unit="chunk")
        state["bar"].update(done - state["bar"].n)
        if done >= total:
            state["bar"].close()

    return update
