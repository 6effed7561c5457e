"""Build a new index beside the live one, then swap it in atomically.

The new build is written to `builds/<name>.partial`, renamed when complete,
and only then does CURRENT point at it (os.replace is atomic). Killing the
process at any moment leaves the previous index intact and loadable.
Vectors of chunks that the live index already holds (same chunk id, same
embedding model) are copied instead of recomputed, so a re-ingest of
unchanged sources embeds nothing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.errors import TutorError
from core.types import Chunk, Document
from index.bm25 import tokenize
from index.store import (
    FORMAT_VERSION,
    Manifest,
    builds_dir,
    current_build,
    manifest_path,
    publish,
    read_chunks,
    read_manifest,
    store_path,
    vectors_path,
    write_manifest,
    write_store,
)

log = logging.getLogger(__name__)


def embed_text(chunk: Chunk) -> str:
    """The text a chunk is embedded as: its title and heading path give the passage context."""
    head = " > ".join(p for p in (chunk.title, chunk.heading) if p)
    return f"{head}\n{chunk.text}" if head else chunk.text


# Exact (flat) search below this many chunks, IVF from there on. Measured with bench/scale.py
# (bench/RESULTS.md, one thread, a loaded 2-core machine): flat search costs ~20 ms at 28k
# vectors and ~140 ms at 281k per leg and query; IVF (nlist = 4*sqrt(n), nprobe 16) stays under
# 1 ms with recall@10 >= 0.987 against exact search at both sizes. HNSW (M=32) lost recall on
# the 100x corpus (0.78 at efSearch 128), so it is not offered.
IVF_FROM = 50_000
IVF_NPROBE = 16  # not saved by FAISS: index.search.Index.load sets it
INDEX_TYPES = ("auto", "flat", "ivf")


def faiss_index(vectors: np.ndarray, index_type: str = "auto"):
    """A FAISS inner-product index over the vectors, and its kind ("flat" or "ivf").

    "auto" picks flat (exact) below IVF_FROM vectors and IVF above. An IVF index keeps
    a direct map, so stored vectors can still be read back (`reconstruct`).
    """
    import faiss  # heavy: only when vectors are read or written

    if index_type not in INDEX_TYPES:
        raise ValueError(f"index_type must be one of {', '.join(INDEX_TYPES)}, not {index_type!r}")
    kind = index_type if index_type != "auto" else ("ivf" if len(vectors) >= IVF_FROM else "flat")
    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = max(1, min(int(4 * np.sqrt(len(vectors))), len(vectors)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).choice(len(vectors), min(len(vectors), 64 * nlist), replace=False)
        index.train(vectors[np.sort(sample)])
        index.nprobe = IVF_NPROBE
    index.add(vectors)
    if kind == "ivf":
        index.make_direct_map()
    return index, kind


def build_index(
    index_dir: Path,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    embedders,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 64,
    index_type: str = "auto",
) -> tuple[Manifest, int]:
    """Embed chunks, write a complete build and make it the live index.

    Args:
        index_dir: the index root (`<home>/index`).
        documents, chunks: what the index will hold; chunk order is index order.
        embedders: one `core.protocols.Embedder` or a list; each gets its own dense leg.
        progress: called with (done, total) after each embedding batch.
        index_type: FAISS index per leg: "flat" (exact), "ivf", or "auto" (flat below
            IVF_FROM chunks); recorded in the manifest and checked on load.

    Returns:
        The new build's manifest and how many chunks were embedded (the rest were reused).
    """
    import faiss  # heavy: only when vectors are read or written

    builds = builds_dir(index_dir)
    builds.mkdir(parents=True, exist_ok=True)
    # Sortable by time, unique even for two builds in the same second.
    name = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    remove_dead_partials(builds)
    partial = builds / f"{name}.partial"
    partial.mkdir()
    try:
        embedders = list(embedders) if isinstance(embedders, (list, tuple)) else [embedders]
        embedded, dims, kinds = 0, [], []
        for leg, embedder in enumerate(embedders):
            reused = _reusable_vectors(index_dir, embedder.model_id)
            vectors, count = _embed_all(chunks, embedder, reused, progress, batch)
            embedded = max(embedded, count)
            dims.append(int(vectors.shape[1]))
            index, kind = faiss_index(vectors, index_type)
            kinds.append(kind)
            faiss.write_index(index, str(vectors_path(partial, leg)))
        write_store(store_path(partial), documents, chunks, (" ".join(tokenize(embed_text(c))) for c in chunks))
        manifest = Manifest(FORMAT_VERSION, [e.model_id for e in embedders], dims, len(documents), len(chunks),
                            datetime.now(timezone.utc).isoformat(timespec="seconds"), name, kinds)
        write_manifest(manifest_path(partial), manifest)
        partial.rename(builds / name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    publish(index_dir, name)
    _remove_old_builds(builds, keep=name)
    return manifest, embedded


def _reusable_vectors(index_dir: Path, model_id: str) -> dict[str, np.ndarray]:
    """Chunk id -> vector from the live build's leg for the same embedding model, if any."""
    import faiss  # heavy: only when vectors are read or written

    try:
        build = current_build(index_dir)
        manifest = read_manifest(build)
        if model_id not in manifest.embedders:
            log.warning("embedding model %s is new to this index: every chunk will be embedded with it", model_id)
            return {}
        old = faiss.read_index(str(vectors_path(build, manifest.embedders.index(model_id))))
        chunks, _ = read_chunks(store_path(build))
        matrix = old.reconstruct_n(0, old.ntotal)
    except TutorError:
        return {}
    except Exception as e:  # a damaged old build must never block a rebuild
        log.warning("could not reuse vectors from the previous index: %s", e)
        return {}
    return {c.id: matrix[i] for i, c in enumerate(chunks)}


def _embed_all(chunks, embedder, reused, progress, batch) -> tuple[np.ndarray, int]:
    todo = [i for i, c in enumerate(chunks) if c.id not in reused]
    rows: list[np.ndarray | None] = [reused.get(c.id) for c in chunks]
    started = time.perf_counter()
    for lo in range(0, len(todo), batch):
        ids = todo[lo : lo + batch]
        vecs = embedder.embed_documents([embed_text(chunks[i]) for i in ids])
        for i, v in zip(ids, vecs):
            rows[i] = v
        if progress:
            progress(min(lo + batch, len(todo)), len(todo))
    if todo:
        log.info("embedded %d chunks in %.1f s", len(todo), time.perf_counter() - started)
    if not rows:
        dim = embedder.embed_documents(["dimension probe"]).shape[1]
        return np.zeros((0, dim), dtype=np.float32), 0
    return np.ascontiguousarray(np.vstack(rows), dtype=np.float32), len(todo)


def _remove_old_builds(builds: Path, keep: str) -> None:
    for entry in builds.iterdir():
        if entry.name == keep or entry.name.endswith(".partial") and not _dead(entry):
            continue  # (a live .partial is a concurrent ingest or leg build)
        shutil.rmtree(entry, ignore_errors=True)


def remove_dead_partials(builds: Path) -> None:
    """Remove the half-written builds of processes that died (a killed ingest or leg build) before starting one."""
    if builds.is_dir():
        for entry in builds.iterdir():
            if entry.name.endswith(".partial") and _dead(entry):
                shutil.rmtree(entry, ignore_errors=True)


# A build folder's name holds the pid of the process writing it: "<time>-<pid>-<hex>.partial" for an ingest,
# "<build>+<leg>.<pid>.partial" for a background leg.
_PID = re.compile(r"^\d{8}T\d{6}-(\d+)-[0-9a-f]+\.partial$|\.(\d+)\.partial$")
STALE_PARTIAL = 6 * 3600  # seconds; a partial this old is dead even if its pid was reused


def _dead(entry: Path) -> bool:
    try:
        if entry.stat().st_mtime < time.time() - STALE_PARTIAL:
            return True
    except FileNotFoundError:
        return False
    m = _PID.search(entry.name)
    if not m:
        return False
    pid = int(m.group(1) or m.group(2))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
