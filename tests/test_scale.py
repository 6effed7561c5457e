"""The FAISS index-type switch (flat below IVF_FROM chunks, IVF above) and bench/scale.py's helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import IndexMismatch
from tests.conftest import DOCS, make_chunks


def test_auto_is_flat_for_a_small_corpus(settings, built_index):
    assert built_index.manifest.index_types == ["flat"]


def test_auto_switches_to_ivf_for_a_large_corpus(settings, embedder, monkeypatch):
    import faiss

    from index import build
    from index.search import Index
    from tutor.retrieval.retrieve import Retriever

    monkeypatch.setattr(build, "IVF_FROM", 3)  # the 3-document corpus counts as "large"
    manifest, _ = build.build_index(settings.index_dir, DOCS, make_chunks(), embedder)
    assert manifest.index_types == ["ivf"]
    index = Index.load(settings.index_dir, embedder.model_id)
    assert isinstance(index.vectors[0], faiss.IndexIVFFlat) and index.vectors[0].nprobe == build.IVF_NPROBE
    hits = Retriever(index, embedder, candidates=5, mode="dense").search("What does LoRA freeze?", 1)
    assert hits[0].chunk.doc_url == DOCS[0].url
    q = embedder.embed_queries(["LoRA low-rank"])[0]
    exact = embedder.embed_documents([build.embed_text(c) for c in make_chunks()[:2]]) @ q
    assert np.allclose(index.cosine(q, [0, 1]), exact, atol=1e-5)  # stored vectors still readable (direct map)
    # a re-ingest reuses the IVF build's vectors instead of embedding again
    assert build.build_index(settings.index_dir, DOCS, make_chunks(), embedder)[1] == 0


def test_explicit_index_type_and_bad_value(embedder):
    from index.build import faiss_index

    vectors = embedder.embed_documents(["a b c", "d e f", "g h i"])
    assert faiss_index(vectors, "ivf")[1] == "ivf" and faiss_index(vectors, "flat")[1] == "flat"
    with pytest.raises(ValueError, match="auto, flat, ivf"):
        faiss_index(vectors, "hnsw")


def test_manifest_index_type_is_checked_on_load(settings, built_index, embedder):
    from index.search import Index
    from index.store import current_build

    path = current_build(settings.index_dir) / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "index_types": ["ivf"]}), encoding="utf-8")
    with pytest.raises(IndexMismatch, match="IndexFlatIP for leg 0 but its manifest says ivf"):
        Index.load(settings.index_dir, embedder.model_id)
    data.pop("index_types")  # a build written before the switch: read as flat
    path.write_text(json.dumps(data), encoding="utf-8")
    assert Index.load(settings.index_dir, embedder.model_id).manifest.index_type(0) == "flat"


def test_scale_bench_helpers_copy_perturb_and_measure_recall():
    from bench.scale import build, measure, synthetic

    rng = np.random.default_rng(1)
    base = rng.normal(size=(50, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    big = synthetic(base, 4, noise=0.3)
    assert big.shape == (200, 16) and np.allclose(np.linalg.norm(big, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(big[:50], base) and 0.8 < float(np.mean(np.sum(big[50:100] * base, axis=1))) < 0.999
    queries = base[:5]
    flat, _ = build("flat", big)
    exact = flat.search(queries, 10)[1]
    assert measure(flat, "flat", ("", 0), queries, exact)["recall"] == 1.0
    for kind, param in (("hnsw-16", ("efSearch", 64)), ("ivf", ("nprobe", 16))):
        index, seconds = build(kind, big)
        result = measure(index, kind, param, queries, exact)
        assert seconds >= 0 and result["recall"] >= 0.9 and result["p50"] <= result["p95"]
