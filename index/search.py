"""Read side of the index: load a build once, search its dense and keyword legs."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from core.errors import IndexMismatch
from core.types import Chunk, Document
from index.bm25 import Bm25
from index.build import IVF_NPROBE
from index.store import Manifest, current_build, read_chunks, read_documents, read_manifest, store_path, vectors_path

log = logging.getLogger(__name__)


class Index:
    """A loaded build: FAISS vectors, chunk texts and BM25 statistics, all in memory.

    Use `Index.load(index_dir, embedder_ids)`; the constructor only wires parts.
    `vectors[j]` is the FAISS index of dense leg j (one per embedding model).
    """

    def __init__(self, manifest: Manifest, vectors, chunks: list[Chunk], bm25: Bm25, build_dir: Path) -> None:
        self.manifest = manifest
        self.vectors = vectors
        self.chunks = chunks
        self.bm25 = bm25
        self.build_dir = build_dir
        self._by_id = {c.id: c for c in chunks}
        self._written: tuple[str, str, str, frozenset[str]] | None = None  # all indexed text, for `mentions`
        self._lock = threading.Lock()

    @classmethod
    def load(cls, index_dir: Path, embedder_ids: str | list[str], optional: Sequence[str] = ()) -> "Index":
        """Load the live build, checking its manifest against the configured embedder.

        Args:
            optional: model ids of legs built in the background (index/legs.py), read when present.

        Raises:
            IndexMissing: nothing has been built yet.
            IndexMismatch: another format version or embedding model, or damaged files.
        """
        import faiss  # heavy: only when vectors are read or written

        build = current_build(Path(index_dir))
        manifest = read_manifest(build)
        manifest.check([embedder_ids] if isinstance(embedder_ids, str) else list(embedder_ids), optional)
        try:
            vectors = [faiss.read_index(str(vectors_path(build, j))) for j in range(len(manifest.embedders))]
            chunks, tokens = read_chunks(store_path(build))
        except Exception as e:
            raise IndexMismatch(f"the index in {build} is damaged ({e}): run `tutor ingest` to rebuild it") from None
        if any(v.ntotal != len(chunks) for v in vectors) or len(chunks) != manifest.chunks:
            raise IndexMismatch(f"the index in {build} is inconsistent: run `tutor ingest` to rebuild it")
        for leg, v in enumerate(vectors):
            expected = faiss.IndexIVFFlat if manifest.index_type(leg) == "ivf" else faiss.IndexFlat
            if not isinstance(v, expected):
                raise IndexMismatch(f"the index in {build} holds a {type(v).__name__} for leg {leg} but its manifest "
                                    f"says {manifest.index_type(leg)}: run `tutor ingest` to rebuild it")
            if isinstance(v, faiss.IndexIVFFlat):
                v.nprobe = IVF_NPROBE  # FAISS does not save it
        return cls(manifest, vectors, chunks, Bm25(tokens), build)

    def __len__(self) -> int:
        return len(self.chunks)

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self._by_id.get(chunk_id)

    def documents(self) -> list[Document]:
        return read_documents(store_path(self.build_dir))

    def dense(self, query_vector: np.ndarray, k: int, leg: int = 0) -> list[tuple[int, float]]:
        """Top-k (position, cosine) pairs for one normalised query vector of dense leg `leg`."""
        if not len(self.chunks) or k <= 0:
            return []
        scores, ids = self.vectors[leg].search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), min(k, len(self.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def cosine(self, query_vector: np.ndarray, positions: list[int], leg: int = 0) -> np.ndarray:
        """Cosine of the query with the given chunks (exact, from the stored vectors of leg `leg`)."""
        if not positions:
            return np.zeros(0, dtype=np.float32)
        matrix = np.vstack([self.vectors[leg].reconstruct(int(p)) for p in positions])
        return matrix @ np.asarray(query_vector, dtype=np.float32).reshape(-1)

    def mentions(self, name: str) -> bool:
        """Whether any indexed text writes `name`, case, spaces, hyphens and punctuation aside.

        "Mixture-of-Depths" is written as "mixture of depths" too; a short name must stand as words of its own
        ("MoD" is not in "model"). Titles, section headings and addresses count: a source's name is named.
        """
        with self._lock:
            if self._written is None:  # built on first use (or by `warm_up`): only coined names ask
                text = "\n".join(f"{c.title}\n{c.heading}\n{c.doc_url}\n{c.text}" for c in self.chunks).lower()
                words = re.findall(r"[0-9a-z]+", text)
                self._written = (text, "".join(words), f" {' '.join(words)} ", frozenset(words))
        text, squeezed, spaced, vocabulary = self._written
        words = re.findall(r"[0-9a-z]+", name.lower())
        if not words:
            return name.lower() in text  # (a Chinese name)
        if len("".join(words)) >= 7:  # long enough not to turn up by chance across word boundaries
            return "".join(words) in squeezed
        return "".join(words) in vocabulary or f" {' '.join(words)} " in spaced

    def keyword(self, query: str, k: int) -> list[tuple[int, float]]:
        return self.bm25.search(query, k)
