"""Make the index hold exactly this run's documents, doing as little work as possible.

A refresh does as little as it can:
- live pages are fetched with conditional requests (`ingest.crawl`), so an
  unchanged page costs a 304;
- extraction results are cached by page content (`ingest.extract_cache`),
  so an unchanged page is not extracted again;
- chunks whose id is already in the index are not embedded again
  (`index.build` copies their vectors), so a changed document costs only
  its own chunks, and a source that is gone simply is not in the new build;
- when the documents and chunks come out identical to the live build's
  (and its files are intact), nothing is rebuilt at all;
- a changed embedding model re-embeds everything for that model, and says so.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from tqdm import tqdm

from core.config import Settings
from core.errors import SourceError, TutorError
from core.types import Chunk, Document
from index.build import build_index
from index.embed import make_embedders
from index.store import (
    FORMAT_VERSION,
    current_build,
    read_chunks,
    read_documents,
    read_manifest,
    store_path,
    vectors_path,
)
from ingest.chunk import chunk
from ingest.report import IngestReport

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class _Live:
    """The live build, as far as a refresh needs it."""

    build: str
    embedders: list[str]
    documents: dict[str, Document]
    chunks: list[Chunk]
    intact: bool  # manifest, vectors and store agree


# More documents than this leaving the index in one run ("--no-default" drops the whole default corpus)
# need an explicit --allow-removal: the run stops first and says which would go.
MAX_QUIET_REMOVALS = 10


def refresh_index(settings: Settings, report: IngestReport, kept: list[tuple[Document, str]], embedders,
                  show_progress: bool, transient: set[str] = frozenset(), *, allow_removal: bool = True) -> None:
    """Chunk the kept documents, give each its status in `report`, and rebuild the index if anything changed.

    Args:
        settings: index folder, embedder names and chunk size.
        report: this run's report; page statuses, totals and notes are added.
        kept: (document, origin) pairs that extraction kept, in input order.
        embedders: Embedders to use instead of the configured ones (tests).
        show_progress: show the embedding progress bar.
        transient: URLs whose fetch failed for a passing reason; their indexed copy is kept.

    Raises:
        SourceError: there is no document at all to index (the old index is kept).
    """
    live = _live(settings.index_dir)
    old_docs = live.documents if live else {}
    documents = [doc for doc, _ in kept]
    # A page that failed for a passing reason keeps its indexed copy: one
    # flaky night must not delete a source from the tutor.
    kept_urls = {doc.url for doc in documents}
    held = [old_docs[url] for url in sorted(transient) if url in old_docs and url not in kept_urls]
    report.kept_copies({url for url in transient if url in old_docs})
    documents += held
    if not documents:
        raise SourceError("no document could be extracted from the given sources; the existing index was kept. "
                          "Check the paths/URLs (see the report in last_ingest.json)")
    # An input that could not be read whole (a truncated WARC, a notes folder gone) says nothing about
    # which of its pages left the sources: every page not seen this run keeps its indexed copy, and the
    # report says so. A later run with the input mended drops the pages that really left.
    broken = report.sources("failed", inputs=True)
    if broken:
        unseen = sorted(set(old_docs) - {d.url for d in documents})
        documents += [old_docs[url] for url in unseen]
        if unseen:
            report.notes.append(f"kept the indexed copy of {len(unseen)} pages not read this run, because "
                                f"{', '.join(broken)} failed (see above); mend it and ingest again")
    leaving = sorted(set(old_docs) - {d.url for d in documents})
    if len(leaving) > MAX_QUIET_REMOVALS and not allow_removal:
        raise SourceError(f"this run would remove {len(leaving)} indexed documents that no source given yields any "
                          f"more (e.g. {', '.join(leaving[:3])}); nothing was changed. Run again with "
                          "--allow-removal to remove them, or add back their source (without --no-default the "
                          "default corpus stays)")
    chunks: list[Chunk] = [c for doc in documents for c in chunk(doc, max_chars=settings.chunk_chars)]
    embedders = embedders or make_embedders(settings.embedder, settings.models_dir)
    embedders = list(embedders) if isinstance(embedders, (list, tuple)) else [embedders]
    if live and settings.background_embedder.strip():
        # A background leg the live index already holds (index/legs.py) is kept: its vectors are reused,
        # only new and changed passages are embedded with it.
        slow = make_embedders(settings.background_embedder, settings.models_dir)
        held = set(live.embedders[len(embedders):])
        embedders += [e for e in slow if e.model_id in held and e.model_id not in {f.model_id for f in embedders}]
    ids = [e.model_id for e in embedders]
    for doc, origin in kept:
        before = old_docs.get(doc.url)
        if before == doc:
            report.add(doc.url, "unchanged", "", origin)
        else:
            report.add(doc.url, "ok", "changed" if before else "new", origin)
    current = {doc.url for doc in documents}
    failed = set(report.sources("failed", "duplicate"))
    for url in sorted(set(old_docs) - current):
        report.add(url, "removed", "its page failed or was a duplicate this run (see above)" if url in failed
                   else "no longer in any source")
    report.documents, report.chunks, report.embedder = len(documents), len(chunks), ",".join(ids)
    if live and live.intact and live.embedders == ids and live.chunks == chunks and old_docs == {d.url: d for d in documents}:
        report.build = live.build
        return
    if live and live.embedders != ids:
        report.notes.append(f"the embedding model changed ({','.join(live.embedders)} -> {','.join(ids)}): "
                            "every chunk is embedded again with the new model (full rebuild)")
    manifest, report.embedded = build_index(settings.index_dir, documents, chunks, embedders,
                                            progress=progress_bar(show_progress))
    report.build, report.rebuilt = manifest.build, True


def _live(index_dir: Path) -> _Live | None:
    """The live build's documents and chunks, or None if there is no readable index."""
    try:
        build = current_build(index_dir)
        manifest = read_manifest(build)
        chunks, _ = read_chunks(store_path(build))
        documents = {d.url: d for d in read_documents(store_path(build))}
    except TutorError:
        return None
    except Exception as e:  # a damaged index must never block a rebuild
        log.warning("cannot read the live index (%s): it will be rebuilt", e)
        return None
    intact = manifest.format_version == FORMAT_VERSION and manifest.chunks == len(chunks)
    if intact:
        import faiss  # heavy: only when vectors are read or written

        try:
            intact = all(faiss.read_index(str(vectors_path(build, j))).ntotal == len(chunks)
                         for j in range(len(manifest.embedders)))
        except Exception:  # unreadable vectors: rebuild
            intact = False
    return _Live(build.name, list(manifest.embedders), documents, chunks, intact)


def progress_bar(enabled: bool):
    if not enabled:
        return None

    state: dict = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(total=total, desc="embedding", unit="chunk")
        state["bar"].update(done - state["bar"].n)
        if done >= total:
            state["bar"].close()

    return update
