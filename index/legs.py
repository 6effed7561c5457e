"""A dense leg added to the live index after ingest, in the background.

EmbeddingGemma finds the right English source for a Chinese question far more
often than the fast legs, but embedding the snapshot with it takes many minutes
on 2 cores. So ingest builds the fast legs and the chat opens on them; this
module then embeds every chunk with the slow model, a batch at a time, and
publishes a new build that holds the old legs plus the new one (the old files
are hard-linked, not copied) by the same atomic CURRENT swap ingest uses. A
running tutor notices the new build and reads it (tutor/pipeline.py).

Progress survives a kill: vectors are checkpointed by chunk id under
`<index>/pending/`, with a small JSON status the chat shows ("40% of 2,817
passages"). A refresh that lands meanwhile is no problem: the leg is finished
for whatever build is live when the last batch is done.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from index.build import embed_text, faiss_index, remove_dead_partials
from index.store import (
    current_build,
    manifest_path,
    publish,
    read_chunks,
    read_manifest,
    store_path,
    vectors_path,
    write_manifest,
)

log = logging.getLogger(__name__)

BATCH = 32  # passages per checkpoint: about 15 s of EmbeddingGemma on 2 cores


@dataclass(frozen=True)
class LegStatus:
    """How far a background leg has got (`<index>/pending/<leg>.json`)."""

    model_id: str
    done: int
    total: int
    state: str  # "building", "ready" or "failed"
    updated: float
    message: str = ""

    @property
    def share(self) -> float:
        return self.done / self.total if self.total else 0.0


def status(index_dir: Path, model_id: str) -> LegStatus | None:
    """The background leg's status, or None if it has never been started."""
    try:
        return LegStatus(**json.loads(_status_path(index_dir, model_id).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def has_leg(index_dir: Path, model_id: str) -> bool:
    """Whether the live build already holds a dense leg of this model."""
    return model_id in read_manifest(current_build(Path(index_dir))).embedders


def add_leg(index_dir: Path, embedder, progress: Callable[[int, int], None] | None = None) -> Path:
    """Embed the live build's chunks with `embedder` and publish a build with that leg added.

    Returns the live build directory (unchanged when it already has the leg).
    """
    index_dir = Path(index_dir)
    model_id = embedder.model_id
    checkpoint = _pending(index_dir) / f"{_slug(model_id)}.npz"
    vectors = _load_checkpoint(checkpoint)
    while True:
        build = current_build(index_dir)
        manifest = read_manifest(build)
        if model_id in manifest.embedders:
            _write_status(index_dir, LegStatus(model_id, manifest.chunks, manifest.chunks, "ready", time.time()))
            checkpoint.unlink(missing_ok=True)
            return build
        chunks, _ = read_chunks(store_path(build))
        todo = sorted((c for c in chunks if c.id not in vectors), key=lambda c: len(embed_text(c)))  # even batches
        done = len(chunks) - len(todo)
        for lo in range(0, len(todo), BATCH):
            batch = todo[lo:lo + BATCH]
            for chunk, vector in zip(batch, embedder.embed_documents([embed_text(c) for c in batch])):
                vectors[chunk.id] = np.asarray(vector, dtype=np.float32)
            done += len(batch)
            _save_checkpoint(checkpoint, vectors)
            _write_status(index_dir, LegStatus(model_id, done, len(chunks), "building", time.time()))
            if progress:
                progress(done, len(chunks))
        if current_build(index_dir) != build:
            continue  # a refresh published a new build meanwhile: embed its new chunks, then publish
        matrix = np.vstack([vectors[c.id] for c in chunks]) if chunks else np.zeros((0, 1), np.float32)
        published = _publish(index_dir, build, manifest, model_id, matrix)
        if published is not None:
            _write_status(index_dir, LegStatus(model_id, len(chunks), len(chunks), "ready", time.time()))
            checkpoint.unlink(missing_ok=True)
            return published


def _publish(index_dir: Path, build: Path, manifest, model_id: str, matrix: np.ndarray) -> Path | None:
    """Write the new build next to `build` (old files hard-linked) and swap CURRENT; None if `build` went stale."""
    import faiss  # heavy: only when vectors are read or written

    builds = build.parent
    name = f"{build.name}+{_slug(model_id)[:24]}"
    remove_dead_partials(builds)
    partial = builds / f"{name}.{os.getpid()}.partial"
    partial.mkdir()
    try:
        for item in build.iterdir():
            if item != manifest_path(build):
                _link_or_copy(item, partial / item.name)
        index, kind = faiss_index(np.ascontiguousarray(matrix, dtype=np.float32), manifest.index_type(0))
        faiss.write_index(index, str(vectors_path(partial, len(manifest.embedders))))
        kinds = list(manifest.index_types) or ["flat"] * len(manifest.embedders)
        write_manifest(manifest_path(partial), replace(manifest, embedders=[*manifest.embedders, model_id],
                                                          dims=[*manifest.dims, int(matrix.shape[1])],
                                                          build=name, index_types=[*kinds, kind]))
        if current_build(index_dir) != build:
            shutil.rmtree(partial, ignore_errors=True)
            return None
        final = builds / name
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    publish(index_dir, name)
    log.info("published build %s with the %s leg", name, model_id)
    return final


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # builds are never written after publishing: sharing the bytes is safe
    except OSError:
        shutil.copy2(source, target)


def _pending(index_dir: Path) -> Path:
    path = index_dir / "pending"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _slug(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)


def _status_path(index_dir: Path, model_id: str) -> Path:
    return index_dir / "pending" / f"{_slug(model_id)}.json"


def _write_status(index_dir: Path, leg: LegStatus) -> None:
    path = _status_path(index_dir, leg.model_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(leg)), encoding="utf-8")
    os.replace(tmp, path)


def write_failure(index_dir: Path, model_id: str, message: str) -> None:
    """Record that the background leg could not be built (the chat says so; the fast legs serve)."""
    old = status(index_dir, model_id)
    _write_status(index_dir, LegStatus(model_id, old.done if old else 0, old.total if old else 0, "failed",
                                       time.time(), message))


def _load_checkpoint(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        return {}
    except Exception as e:  # a damaged checkpoint only costs time
        log.warning("starting the leg afresh: its checkpoint %s is unreadable (%s)", path, e)
        return {}


def _save_checkpoint(path: Path, vectors: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **vectors)
    os.replace(tmp, path)
