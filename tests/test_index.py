import json
import os

import numpy as np
import pytest

from core.errors import IndexMismatch, IndexMissing
from index.build import build_index
from index.search import Index
from index.store import current_build
from tests.conftest import DOCS, make_chunks
from tests.fake_backends import HashEmbedder


def test_build_then_load_and_search(built_index, embedder):
    assert len(built_index) == 3
    m = built_index.manifest
    assert (m.format_version, m.embedders, m.dims, m.documents, m.chunks) == (2, [embedder.model_id], [1024], 3, 3)
    q = embedder.embed_queries(["low-rank matrices for fine-tuning"])[0]
    pos, score = built_index.dense(q, 2)[0]
    assert built_index.chunks[pos].doc_url == "https://example.org/lora" and 0 < score <= 1.0001
    assert built_index.chunks[built_index.keyword("gaussian noise", 1)[0][0]].doc_url.endswith("diffusion")
    assert {d.url for d in built_index.documents()} == {d.url for d in DOCS}


def test_missing_index_says_what_to_run(settings):
    with pytest.raises(IndexMissing, match="tutor ingest"):
        Index.load(settings.index_dir, "any")


def test_manifest_mismatch_is_refused(built_index, settings):
    with pytest.raises(IndexMismatch, match="TUTOR_EMBEDDER"):
        Index.load(settings.index_dir, "another/model")
    build = current_build(settings.index_dir)
    data = json.loads((build / "manifest.json").read_text())
    (build / "manifest.json").write_text(json.dumps({**data, "format_version": 99}))
    with pytest.raises(IndexMismatch, match="format 99"):
        Index.load(settings.index_dir, data["embedders"])


def test_no_pickle_files(built_index):
    for f in built_index.build_dir.iterdir():
        assert f.suffix in (".json", ".faiss", ".sqlite")
        assert not f.read_bytes().startswith(b"\x80")  # pickle protocol header


class ExplodingEmbedder(HashEmbedder):
    def embed_documents(self, texts):
        raise RuntimeError("killed mid-build")


def test_failed_build_leaves_previous_index_intact(built_index, settings):
    before = current_build(settings.index_dir)
    changed = [c.__class__(**{**c.to_dict(), "text": c.text + " new"}) for c in make_chunks()]
    with pytest.raises(RuntimeError):
        build_index(settings.index_dir, DOCS, changed, ExplodingEmbedder())
    assert current_build(settings.index_dir) == before
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [before.name]
    assert len(Index.load(settings.index_dir, HashEmbedder.model_id)) == 3


def test_rebuild_reuses_vectors_of_unchanged_chunks(built_index, settings):
    emb = HashEmbedder()
    chunks = make_chunks()
    manifest, embedded = build_index(settings.index_dir, DOCS, chunks, emb)
    assert embedded == 0 and emb.calls == 0
    edited = chunks[:2] + [chunks[2].__class__(**{**chunks[2].to_dict(), "text": "Totally new text about GANs."})]
    _, embedded = build_index(settings.index_dir, DOCS, edited, emb)
    assert embedded == 1
    index = Index.load(settings.index_dir, emb.model_id)
    assert np.allclose(index.vectors[0].reconstruct(2), emb.embed_documents(["Diffusion models > Diffusion models\nTotally new text about GANs."])[0])


class SmallHashEmbedder(HashEmbedder):
    model_id = "fake/hash-embedder-64"

    def __init__(self):
        super().__init__(dim=64)


def test_one_dense_leg_per_embedder(settings):
    legs = [HashEmbedder(), SmallHashEmbedder()]
    manifest, _ = build_index(settings.index_dir, DOCS, make_chunks(), legs)
    assert manifest.embedders == [e.model_id for e in legs] and manifest.dims == [1024, 64]
    index = Index.load(settings.index_dir, [e.model_id for e in legs])
    q = legs[1].embed_queries(["Gaussian noise denoising"])[0]
    assert index.chunks[index.dense(q, 1, leg=1)[0][0]].doc_url.endswith("diffusion")
    with pytest.raises(IndexMismatch, match="fake/hash-embedder-1024,fake/hash-embedder-64"):
        Index.load(settings.index_dir, [legs[0].model_id])
    # Adding a leg re-embeds only for the new model; the existing leg's vectors are reused.
    fresh = [HashEmbedder(), SmallHashEmbedder()]
    build_index(settings.index_dir, DOCS, make_chunks(), fresh)
    assert [e.calls for e in fresh] == [0, 0]


def test_only_a_dead_process_s_half_written_build_is_removed(tmp_path):
    import subprocess
    import sys

    from index.build import remove_dead_partials

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    builds = tmp_path / "builds"
    dead = [builds / f"20261205T101010-{gone.pid}-abc123.partial", builds / f"B+google_gemma.{gone.pid}.partial"]
    alive = [builds / f"20261205T101010-{os.getpid()}-abc124.partial", builds / f"B+google_gemma.{os.getppid()}.partial",
             builds / "20261205T101010-1-abc125"]  # (a finished build is not a partial)
    for folder in dead + alive:
        folder.mkdir(parents=True)
    remove_dead_partials(builds)
    assert [p.exists() for p in dead + alive] == [False, False, True, True, True]


def test_mentions_a_name_as_written_whatever_its_case_spaces_or_hyphens(built_index):
    assert built_index.mentions("low-rank matrices") and built_index.mentions("Low Rank Matrices")
    assert built_index.mentions("multi-head") and built_index.mentions("MultiHead")
    assert built_index.mentions("self attention") and built_index.mentions("LoRA")
    assert built_index.mentions("example.org")  # addresses and titles are indexed text too
    # A short name must stand as words of its own: "ora" is inside "LoRA", "rank" inside "ranking".
    assert not built_index.mentions("ora") and not built_index.mentions("rank matrix")
    assert not built_index.mentions("Mixture-of-Depths") and not built_index.mentions("DP-SGD")
    assert not built_index.mentions("低秩")
