"""Ingest orchestration: gather pages, extract, drop duplicates, then refresh the index.

One failing source never stops a run: it is reported with its reason and
the run goes on. The index is only replaced once the new one is complete
(`index.build`), so killing an ingest at any point leaves the previous
index intact. What a refresh skips (unchanged pages, extraction, embedding,
the whole rebuild) is described in `ingest.refresh`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from tqdm import tqdm

from core.config import Settings
from core.errors import SourceError
from core.types import Document, Page
from ingest.catalog import update_user_sources, user_source
from ingest.crawl import Crawler
from ingest.dedup import Deduplicator
from ingest.extract import extract
from ingest.extract_cache import ExtractCache
from ingest.notes import read_notes
from ingest.refresh import refresh_index
from ingest.report import IngestReport, read_report, write_report
from ingest.save_warc import WarcSaver
from ingest.sitemap import sitemap_urls
from ingest.sources import find_source, load_sources, placement
from ingest.warc import read_warc

log = logging.getLogger(__name__)


def default_pages(settings: Settings) -> tuple[str, Iterator[Page] | None, list[str]]:
    """The default corpus: the snapshot WARC if present, else the curated URLs fetched live.

    Returns a label, the page iterator (or None if it must be fetched) and the URLs to fetch.
    """
    snapshot = settings.snapshot_path()
    if snapshot and snapshot.exists():
        return f"warc:{snapshot.resolve()}", read_warc(snapshot), []
    urls = [s.url for s in load_sources() if s.kind not in ("video", "paper")]
    return "curated list (live)", None, urls


def gather(settings: Settings, report: IngestReport, crawler, warcs: Sequence[str] = (), urls: Sequence[str] = (),
           notes: Sequence[str] = (), sitemaps: Sequence[str] = (), use_default: bool = True, saver=None,
           show_progress: bool = False, transient: set[str] | None = None) -> Iterator[tuple[Page, str]]:
    """Yield (page, where it came from) from every requested source; failures are reported and skipped.

    URLs whose fetch failed for a passing reason (timeout, 5xx, no connection)
    are added to `transient`: the run keeps their indexed copy.
    """
    streams: list[tuple[str, Iterable[Page]]] = []
    fetch: dict[str, str] = {}  # url -> origin label, in order
    if use_default:
        label, pages, default_urls = default_pages(settings)
        if pages is not None:
            streams.append((label, pages))
        fetch.update((u, label) for u in default_urls)
    streams += [(f"warc:{w}", read_warc(Path(w))) for w in warcs]
    streams += [(f"notes:{d}", read_notes(Path(d))) for d in notes]
    for label, pages in streams:
        count = 0
        try:
            for page in pages:
                count += 1
                yield page, label
        except SourceError as e:
            report.add_input(label, "failed", f"{e} ({count} pages read)" if count else str(e))
            continue
        report.add_input(label, "ok", f"{count} pages")
    for url in urls:
        fetch.setdefault(url, "url")
    for sitemap in sitemaps:
        found, problems = sitemap_urls(sitemap, crawler)
        reason = "; ".join([f"{len(found)} page URLs"] * bool(found) + problems)
        report.add_input(f"sitemap:{sitemap}", "ok" if found else "failed", reason)
        for url in found:
            fetch.setdefault(url, f"sitemap:{sitemap}")
    yield from _fetch_pages(crawler, fetch, report, saver, show_progress, transient if transient is not None else set())


def _fetch_pages(crawler, fetch: dict[str, str], report: IngestReport, saver, show_progress: bool, transient: set[str]):

    if not fetch:
        return
    order = list(fetch)
    results: list = [None] * len(order)
    with tqdm(total=len(order), desc="fetching", unit="page", disable=not show_progress) as bar:
        for i, got in crawler.fetch_all(order):
            results[i] = got
            bar.update(1)
    # Pages go on in input order, so the first copy of a duplicate is always the same one.
    same = 0
    for url, got in zip(order, results):
        if got is None or got.status == "failed":
            report.add(url, "failed", got.reason if got else "not fetched (the run was interrupted)", fetch[url])
            if got is None or got.transient:
                transient.add(url)
            continue
        same += got.status == "unchanged"
        if saver is not None:
            saver.add(got)
        yield got.page, fetch[url]
    report.notes.append(f"fetched {len(order)} URLs: {same} not modified on the server (304 or same bytes)")


# One page (a notes file, a WARC record) bigger than this is refused: a 50 MB notes file became 63,498 chunks
# and ~41 minutes of embedding without a word. The curated sources' largest page is well under 1 MB.
MAX_PAGE_BYTES = 5_000_000


def extract_all(pages: Iterable[tuple[Page, str]], report: IngestReport, cache=None,
                show_progress: bool = False, kept_copies: set[str] | None = None) -> list[tuple[Document, str]]:
    """Extract every page, dropping failures and duplicates (recorded in the report).

    A page over MAX_PAGE_BYTES is refused with what to do, and its URL added to `kept_copies`:
    its indexed copy, if any, stays.

    Returns:
        (document, origin) pairs in page order; the caller gives them their ok/unchanged status.
    """


    kept: dict[str, tuple[Document, str]] = {}
    dedup = Deduplicator()
    for page, origin in tqdm(pages, desc="extracting", unit="page", disable=not show_progress):
        if page.url in kept:
            report.add(page.url, "duplicate", f"same URL already read from {kept[page.url][1]} (first copy kept)", origin)
            continue
        if len(page.body) > MAX_PAGE_BYTES:
            report.add(page.url, "failed", f"{len(page.body) / 1e6:.1f} MB, over the {MAX_PAGE_BYTES / 1e6:g} MB limit for "
                       "one page or notes file: split it into smaller files (an indexed copy, if any, is kept)", origin)
            if kept_copies is not None:
                kept_copies.add(page.url)
            continue
        source = find_source(page.url)
        title = source.title if source else ""
        result = cache.get(page, title) if cache is not None else None
        if result is None:
            try:
                result = extract(page, title=title)
            except SourceError as e:
                result = str(e).removeprefix(f"{page.url}: ")
            except Exception as e:  # a bug in one parser must not sink the whole run
                log.exception("extraction crashed on %s", page.url)
                report.add(page.url, "failed", f"extraction failed: {type(e).__name__}: {e}", origin)
                continue
            if cache is not None:
                cache.put(page, title, result)
        if isinstance(result, str):
            report.add(page.url, "failed", result, origin)
            continue
        part, section = placement(page.url)
        doc = dataclasses.replace(result, part=part, section=section)
        why = dedup.check(page.url, doc.text)
        if why:
            report.add(page.url, "duplicate", why, origin)
            continue
        kept[page.url] = (doc, origin)
    return list(kept.values())


def run_ingest(settings: Settings, warcs: Sequence[str] = (), urls: Sequence[str] = (), notes: Sequence[str] = (),
               use_default: bool = True, embedders=None, show_progress: bool = True, *, sitemaps: Sequence[str] = (),
               remember: bool = False, remove: Sequence[str] = (), save_warc: str | Path | None = None,
               transport=None, allow_removal: bool = False) -> IngestReport:
    """Ingest the sources and refresh the index (atomically, and only if something changed).

    Args:
        settings: configuration (data directory, embedder, chunk size, fetch limits).
        warcs, urls, notes, sitemaps: extra sources: WARC files, page URLs, notes folders, sitemap URLs.
        use_default: also ingest the default corpus (the snapshot, else the curated list).
        embedders: Embedders to use instead of the configured ones (tests).
        remember: save the given sources in `<home>/user_sources.json` and ingest every saved
            one (what `tutor ingest` does), minus those named in `remove`.
        allow_removal: let the run remove more than `refresh.MAX_QUIET_REMOVALS` indexed documents that no
            source yields any more (implied by `remove`); otherwise such a run stops and keeps the index.
        save_warc: write every page fetched over HTTP to this WARC file.
        transport: an httpx transport for the crawler (tests).

    Raises:
        SourceError: no document at all could be extracted (the old index is kept).
    """
    started = time.perf_counter()
    report = IngestReport(started=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if remember:
        warcs, urls, notes, sitemaps = _remembered(settings, report, warcs, urls, notes, sitemaps, remove)
    saver = None
    if save_warc:
        saver = WarcSaver(save_warc)
    cache = ExtractCache(Path(settings.home) / "cache" / "extract.sqlite")
    transient: set[str] = set()
    try:
        with Crawler(settings, transport=transport) as crawler:
            pages = gather(settings, report, crawler, warcs, urls, notes, sitemaps, use_default, saver, show_progress,
                           transient)
            kept = extract_all(pages, report, cache, show_progress, transient)
    except BaseException:
        if saver is not None:  # interrupted mid-record perhaps: never publish a damaged WARC
            saver.abandon()
        raise
    finally:
        cache.close()
    if saver is not None:
        saver.close()
        report.notes.append(f"saved {saver.pages} fetched pages to {saver.path}")
    try:
        refresh_index(settings, report, kept, embedders, show_progress, transient,
                      allow_removal=allow_removal or bool(remove))
    except SourceError:  # nothing to index: the report says why each source failed
        report.seconds = round(time.perf_counter() - started, 2)
        write_report(settings.home, report)
        raise
    report.seconds = round(time.perf_counter() - started, 2)
    write_report(settings.home, report)
    return report


def _remembered(settings: Settings, report: IngestReport, warcs, urls, notes, sitemaps, remove):
    """Save the given sources, then return every saved source, kind by kind."""
    added = [user_source(kind, value) for kind, values in
             (("warc", warcs), ("url", urls), ("notes", notes), ("sitemap", sitemaps)) for value in values]
    saved, unmatched = update_user_sources(settings.home, added, list(remove))
    report.notes += [f"--remove {item}: none of your saved sources matches it (see `tutor sources`)" for item in unmatched]
    by_kind = {kind: [s.value for s in saved if s.kind == kind] for kind in ("warc", "url", "notes", "sitemap")}
    return by_kind["warc"], by_kind["url"], by_kind["notes"], by_kind["sitemap"]


def last_report(settings: Settings) -> IngestReport | None:
    """The last run's report (`<home>/last_ingest.json`), or None."""
    return read_report(settings.home)
