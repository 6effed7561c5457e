"""The on-disk index: a manifest, FAISS vectors and a SQLite store of documents and chunks.

Layout under `<home>/index/`:

    CURRENT                 name of the live build (swapped with os.replace: atomic)
    builds/<name>/manifest.json   format version, embedding model id, dimension, counts
    builds/<name>/vectors-<j>.faiss  FAISS inner-product index of dense leg j, row i = chunk pos i
                                     (exact flat, or IVF for large corpora: manifest `index_types`)
    builds/<name>/store.sqlite    documents, chunks (with BM25 tokens), in pos order

No pickle anywhere: FAISS writes its own binary format, the rest is SQL and JSON.
A reader only ever follows CURRENT, so a crashed or killed build is invisible.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable, Sequence

from core.errors import IndexMismatch, IndexMissing
from core.types import Chunk, Document

FORMAT_VERSION = 2


# The layout's names, spelled here only: every module reads and writes builds through these.
def builds_dir(index_dir: Path) -> Path:
    """Where the builds live (the live one, a partial one being written, old ones until cleaned)."""
    return index_dir / "builds"


def store_path(build_dir: Path) -> Path:
    """A build's SQLite store of documents and chunks."""
    return build_dir / "store.sqlite"


def vectors_path(build_dir: Path, leg: int) -> Path:
    """A build's FAISS index of dense leg `leg` (0-based, in the manifest's `embedders` order)."""
    return build_dir / f"vectors-{leg}.faiss"


def manifest_path(build_dir: Path) -> Path:
    return build_dir / "manifest.json"


def pointer_path(index_dir: Path) -> Path:
    """The file naming the live build: readers follow it, a build is published by replacing it."""
    return index_dir / "CURRENT"

_SCHEMA = """
CREATE TABLE documents (url TEXT PRIMARY KEY, title TEXT, text TEXT, content_type TEXT,
                        lang TEXT, date TEXT, part TEXT, section TEXT, id TEXT);
CREATE TABLE chunks (pos INTEGER PRIMARY KEY, id TEXT UNIQUE, doc_url TEXT, title TEXT, heading TEXT,
                     text TEXT, start INTEGER, "end" INTEGER, part TEXT, section TEXT, lang TEXT, tokens TEXT);
"""
_CHUNK_FIELDS = [f.name for f in fields(Chunk)]
_DOC_FIELDS = [f.name for f in fields(Document)]


@dataclass(frozen=True)
class Manifest:
    """What a build holds; checked on load so a mismatched index fails clearly."""

    format_version: int
    embedders: list[str]  # one dense leg per embedding model, in settings order
    dims: list[int]
    documents: int
    chunks: int
    created: str
    build: str
    # FAISS index kind per dense leg ("flat" or "ivf"); builds written before it are all flat.
    index_types: list[str] = field(default_factory=list)

    @property
    def embedder(self) -> str:
        return ",".join(self.embedders)

    def index_type(self, leg: int) -> str:
        return self.index_types[leg] if self.index_types else "flat"

    def check(self, embedder_ids: list[str], optional: Sequence[str] = ()) -> None:
        """Raise IndexMismatch unless this build can be read with these embedders.

        `optional` legs (built after ingest, in the background: index/legs.py) may follow the
        configured ones; a build without them is read on the configured legs alone.
        """
        if self.format_version != FORMAT_VERSION:
            raise IndexMismatch(
                f"the index has format {self.format_version}, this tutor reads {FORMAT_VERSION}: run `tutor ingest` to rebuild it"
            )
        required = list(embedder_ids)
        extra = list(self.embedders[len(required):])
        if list(self.embedders[:len(required)]) != required or any(e not in optional for e in extra):
            raise IndexMismatch(
                f"the index was built with embedder {self.embedder!r} but {','.join(embedder_ids)!r} is configured: "
                "run `tutor ingest` to rebuild, or set TUTOR_EMBEDDER to the index's embedder"
            )


def write_manifest(path: Path, manifest: Manifest) -> None:
    path.write_text(json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8")


def read_manifest(build_dir: Path) -> Manifest:
    path = manifest_path(build_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**{f.name: data[f.name] for f in fields(Manifest) if f.name in data})  # TypeError if one is missing
    except FileNotFoundError:
        raise IndexMissing(f"the index at {build_dir} has no manifest: run `tutor ingest` to rebuild it") from None
    except (ValueError, KeyError, TypeError) as e:
        raise IndexMismatch(f"the index manifest {path} is unreadable ({e}): run `tutor ingest` to rebuild it") from None


def publish(index_dir: Path, name: str) -> None:
    """Make builds/<name> the live build: CURRENT is replaced in one rename, so readers see the old or the new."""
    live = pointer_path(index_dir)
    pointer = live.with_name(live.name + ".tmp")
    pointer.write_text(name + "\n", encoding="utf-8")
    os.replace(pointer, live)


def current_build(index_dir: Path) -> Path:
    """The live build directory, following CURRENT.

    Raises:
        IndexMissing: no index has been built in `index_dir`.
    """
    pointer = pointer_path(index_dir)
    if not pointer.exists():
        raise IndexMissing(f"no index in {index_dir}: run `tutor ingest` first (or `make demo`)")
    build = builds_dir(index_dir) / pointer.read_text(encoding="utf-8").strip()
    if not build.is_dir():
        raise IndexMissing(f"the index in {index_dir} points at a missing build: run `tutor ingest` to rebuild it")
    return build


def write_store(path: Path, documents: Iterable[Document], chunks: Iterable[Chunk], tokens: Iterable[str]) -> None:
    """Write documents and chunks (in position order) with their BM25 token strings."""
    con = sqlite3.connect(path)
    try:
        con.executescript(_SCHEMA)
        con.executemany(
            f"INSERT INTO documents ({', '.join(_DOC_FIELDS)}, id) VALUES ({', '.join('?' * (len(_DOC_FIELDS) + 1))})",
            ([getattr(d, f) for f in _DOC_FIELDS] + [d.id] for d in documents),
        )
        cols = ", ".join(f'"{f}"' for f in _CHUNK_FIELDS)
        con.executemany(
            f"INSERT INTO chunks (pos, id, {cols}, tokens) VALUES ({', '.join('?' * (len(_CHUNK_FIELDS) + 3))})",
            ([pos, c.id] + [getattr(c, f) for f in _CHUNK_FIELDS] + [tok] for pos, (c, tok) in enumerate(zip(chunks, tokens))),
        )
        con.commit()
    finally:
        con.close()


def read_chunks(path: Path) -> tuple[list[Chunk], list[list[str]]]:
    """All chunks in position order, with their BM25 tokens."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cols = ", ".join(f'"{f}"' for f in _CHUNK_FIELDS)
        rows = con.execute(f"SELECT {cols}, tokens FROM chunks ORDER BY pos").fetchall()
    finally:
        con.close()
    chunks = [Chunk(**dict(zip(_CHUNK_FIELDS, row[:-1]))) for row in rows]
    return chunks, [row[-1].split() for row in rows]


def read_documents(path: Path) -> list[Document]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute(f"SELECT {', '.join(_DOC_FIELDS)} FROM documents ORDER BY url").fetchall()
    finally:
        con.close()
    return [Document(**dict(zip(_DOC_FIELDS, row))) for row in rows]
