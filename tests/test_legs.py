"""A slow dense leg added after ingest, in the background: resumable, atomic, and read by a running tutor."""

import json

import pytest

from core.errors import IndexMismatch
from index.store import current_build, read_manifest
from tests.conftest import DOCS, make_chunks
from tests.fake_backends import HashEmbedder


class SlowEmbedder(HashEmbedder):
    """The background leg's stand-in: another model id, and it can be told to die after n passages."""

    model_id = "fake/slow-leg-256"

    def __init__(self, die_after: int | None = None) -> None:
        super().__init__(dim=256)
        self.die_after = die_after

    def embed_documents(self, texts):
        if self.die_after is not None and self.calls + len(texts) > self.die_after:
            raise KeyboardInterrupt("killed")
        return super().embed_documents(texts)

    embed_queries = embed_documents


@pytest.fixture
def many_docs():
    from core.types import Document

    extra = [Document(f"https://example.org/p{i}", f"Page {i}", f"Page {i} says something numbered {i}.")
             for i in range(70)]
    return DOCS + extra


def build(settings, docs, embedder):
    from index.build import build_index

    build_index(settings.index_dir, docs, make_chunks(docs), embedder)


def test_a_leg_is_added_to_the_live_index_atomically_and_resumes_after_a_kill(settings, embedder, many_docs):
    from index.legs import BATCH, add_leg, status

    build(settings, many_docs, embedder)
    before = current_build(settings.index_dir)
    with pytest.raises(KeyboardInterrupt):
        add_leg(settings.index_dir, SlowEmbedder(die_after=BATCH + 5))
    assert current_build(settings.index_dir) == before  # nothing published by a killed build
    half = status(settings.index_dir, SlowEmbedder.model_id)
    assert half.state == "building" and half.done == BATCH and half.total == len(many_docs)

    resumed = SlowEmbedder()
    after = add_leg(settings.index_dir, resumed)
    assert resumed.calls == len(many_docs) - BATCH  # the checkpoint's passages are not embedded again
    manifest = read_manifest(after)
    assert manifest.embedders == [embedder.model_id, SlowEmbedder.model_id] and manifest.dims == [1024, 256]
    assert current_build(settings.index_dir) == after and status(settings.index_dir, SlowEmbedder.model_id).state == "ready"
    assert not list((settings.index_dir / "pending").glob("*.npz"))

    from index.search import Index

    index = Index.load(settings.index_dir, [embedder.model_id], optional=[SlowEmbedder.model_id])
    positions = [p for p, _ in index.dense(SlowEmbedder().embed_queries(["Page 7 says something numbered 7."])[0], 1, leg=1)]
    assert index.chunks[positions[0]].doc_url == "https://example.org/p7"
    # ... read without it when it is not expected, never silently with a leg nobody configured
    with pytest.raises(IndexMismatch):
        Index.load(settings.index_dir, [embedder.model_id])
    assert add_leg(settings.index_dir, SlowEmbedder()) == after  # already there: nothing to do


def test_a_running_tutor_reads_the_new_build_once_the_leg_is_published(settings, embedder, monkeypatch):
    from index import embed
    from index.legs import add_leg
    from tests.fake_backends import ScriptedGenerator
    from tutor.pipeline import Tutor

    monkeypatch.setitem(embed.EMBEDDERS, "fake-fast", HashEmbedder)
    monkeypatch.setitem(embed.EMBEDDERS, "fake-slow", SlowEmbedder)
    settings = settings.replace(embedder="fake-fast", judge_embedder="fake-fast", background_embedder="fake-slow")
    build(settings, DOCS, embedder)
    tutor = Tutor(settings, generator=ScriptedGenerator("x [1]"))
    assert tutor.retrieve("What does LoRA freeze?").hits and len(tutor.embedders) == 1
    add_leg(settings.index_dir, SlowEmbedder())
    hits = tutor.retrieve("What does LoRA freeze?").hits
    assert [e.model_id for e in tutor.embedders] == [embedder.model_id, SlowEmbedder.model_id]
    assert hits[0].chunk.doc_url == "https://example.org/lora" and len(tutor.index.vectors) == 2


def test_a_refresh_keeps_the_background_leg(settings, embedder, monkeypatch):
    from core.types import Document
    from index import embed
    from index.legs import add_leg
    from ingest.refresh import refresh_index
    from ingest.report import IngestReport

    monkeypatch.setitem(embed.EMBEDDERS, "fake-fast", HashEmbedder)
    monkeypatch.setitem(embed.EMBEDDERS, "fake-slow", SlowEmbedder)
    settings = settings.replace(embedder="fake-fast", background_embedder="fake-slow")
    build(settings, DOCS, embedder)
    add_leg(settings.index_dir, SlowEmbedder())
    new = Document("https://example.org/new", "New", "A new page about tokenizers and byte pair encoding.")
    refresh_index(settings, IngestReport(started="now"), [(d, "test") for d in [*DOCS, new]], None, False)
    manifest = read_manifest(current_build(settings.index_dir))
    assert manifest.embedders == [embedder.model_id, SlowEmbedder.model_id] and manifest.chunks == len(DOCS) + 1


def test_the_status_panel_shows_the_leg_being_built(settings, embedder, monkeypatch):
    from index import embed
    from index.legs import BATCH, add_leg
    from ui.status import status, status_to_markdown

    monkeypatch.setitem(embed.EMBEDDERS, "fake-slow", SlowEmbedder)
    settings = settings.replace(embedder="fake-fast", background_embedder="fake-slow")
    monkeypatch.setitem(embed.EMBEDDERS, "fake-fast", HashEmbedder)
    build(settings, DOCS, embedder)
    text = status_to_markdown(status(settings))
    assert "background leg fake/slow-leg-256: not built yet" in text
    (settings.index_dir / "pending").mkdir(exist_ok=True)
    (settings.index_dir / "pending" / "fake_slow-leg-256.json").write_text(json.dumps(
        {"model_id": SlowEmbedder.model_id, "done": BATCH, "total": 4 * BATCH, "state": "building", "updated": 0.0}))
    assert f"building, {BATCH} of {4 * BATCH} passages (25%)" in status_to_markdown(status(settings))
    add_leg(settings.index_dir, SlowEmbedder())
    assert "background leg fake" not in status_to_markdown(status(settings)).split("### Models")[0]


def test_tutor_leg_builds_it_and_says_so_and_records_a_failure(settings, embedder, monkeypatch, capsys):
    import io

    from index import embed
    from index.legs import status
    from tutor.cli import main

    monkeypatch.setitem(embed.EMBEDDERS, "fake-fast", HashEmbedder)
    monkeypatch.setitem(embed.EMBEDDERS, "fake-slow", SlowEmbedder)
    monkeypatch.setenv("TUTOR_HOME", str(settings.home))
    monkeypatch.setenv("TUTOR_EMBEDDER", "fake-fast")
    build(settings, DOCS, embedder)
    monkeypatch.setenv("TUTOR_BACKGROUND_EMBEDDER", "embeddinggemma")  # its model is not prepared in this home
    assert main(["leg", "--quiet"], stdout=io.StringIO()) == 1
    assert "make gemma" in capsys.readouterr().err
    failed = status(settings.index_dir, "google/embeddinggemma-300m")
    assert failed.state == "failed" and "make gemma" in failed.message
    monkeypatch.setenv("TUTOR_BACKGROUND_EMBEDDER", "fake-slow")
    out = io.StringIO()
    assert main(["leg", "--quiet"], stdout=out) == 0
    assert "fake/slow-leg-256 leg is in the live index" in out.getvalue()
    assert status(settings.index_dir, SlowEmbedder.model_id).state == "ready"


def test_a_leg_weighted_zero_for_a_language_is_not_asked(settings, embedder):
    from index.legs import add_leg
    from index.search import Index
    from tutor.retrieval.retrieve import Retriever

    build(settings, DOCS, embedder)
    add_leg(settings.index_dir, SlowEmbedder())
    index = Index.load(settings.index_dir, [embedder.model_id], optional=[SlowEmbedder.model_id])
    slow = SlowEmbedder()
    retriever = Retriever(index, [embedder, slow], candidates=5, judge=embedder)
    retriever.leg_weights, retriever.leg_weights_zh = {slow.model_id: 0.0}, {slow.model_id: 2.0}
    assert retriever.search("What does LoRA freeze?", 2)[0].chunk.doc_url == "https://example.org/lora"
    assert slow.calls == 0
    retriever.search("LoRA 冻结什么？", 2)
    retriever.retrieve("LoRA 冻结什么？", 2, english="What does LoRA freeze?")
    assert slow.calls == 3  # the Chinese question, then the question and its English rendering


def test_the_chat_starts_the_leg_only_when_the_index_lacks_it_or_the_evidence_sentences(settings, embedder,
                                                                                        monkeypatch):
    from index import embed
    from index.legs import add_leg
    from index.remember import RememberingEmbedder, sentences_file
    from tests.fake_backends import EvidenceEmbedder
    from ui import background

    started = []

    class Popen:
        def __init__(self, args, **kw):
            started.append((args, kw["env"]))
            self.pid = 1

    monkeypatch.setattr(background.subprocess, "Popen", Popen)
    monkeypatch.setitem(embed.EMBEDDERS, "fake-slow", SlowEmbedder)
    monkeypatch.setitem(embed.EMBEDDERS, "fake-evidence", EvidenceEmbedder)
    settings = settings.replace(background_embedder="fake-slow", evidence_embedder="fake-evidence")
    assert background.build_background_leg(settings) is None and not started  # no index yet: nothing to add to
    build(settings, DOCS, embedder)
    assert background.build_background_leg(settings) is not None
    args, env = started[-1]
    assert args[-3:] == ["tutor", "leg", "--quiet"] and env["TUTOR_BACKGROUND_EMBEDDER"] == "fake-slow"
    assert env["TUTOR_EVIDENCE_EMBEDDER"] == "fake-evidence"
    add_leg(settings.index_dir, SlowEmbedder())
    # the leg is there, the evidence embedder's sentences are not yet: `tutor leg` keeps them
    assert background.build_background_leg(settings) is not None and len(started) == 2
    RememberingEmbedder(EvidenceEmbedder()).save(sentences_file(settings.home, EvidenceEmbedder.model_id), ["x"])
    assert background.build_background_leg(settings) is None and len(started) == 2
    assert background.build_background_leg(settings.replace(background_embedder="")) is None
    assert background.build_background_leg(settings.replace(evidence_embedder="")) is None
