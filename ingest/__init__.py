"""Ingestion stages: read sources, extract clean text, cut it into chunks.

    for page in read_warc(path):          # or read_notes(folder), fetch(url)
        part, section = placement(page.url)
        doc = extract(page, part=part, section=section)
        chunks = chunk(doc, max_chars=1000)

Each stage takes and returns the shared types of `core.types`. Importing
this package is cheap: warcio, trafilatura, lxml and httpx are imported on
first use. Orchestration (skipping, reporting, indexing) is in `ingest.run`;
polite live fetching of many URLs (robots.txt, delays, retries, SSRF guard,
conditional requests) is `ingest.crawl.Crawler`.
"""

from ingest.chunk import chunk
from ingest.extract import extract
from ingest.fetch import fetch
from ingest.notes import read_notes
from ingest.warc import read_warc

# The source-list names resolve lazily so that `python -m ingest.sources`
# does not find its own module already imported by the package.
_FROM_SOURCES = ("Source", "find_source", "load_sources", "placement")

__all__ = ["chunk", "extract", "fetch", "read_notes", "read_warc", *_FROM_SOURCES]


def __getattr__(name: str):
    if name in _FROM_SOURCES:
        from ingest import sources

        return getattr(sources, name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
