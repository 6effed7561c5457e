"""Ingest runs end to end with the fake embedder: refreshes, removals, duplicates, reports, WARC saving, kills.

Live pages come from the local test server of `tests/test_crawl.py`; notes
folders are written per test. Every run reads the real ingest code path
(`run_ingest`, or `tutor ingest` through the CLI); only the embedder is fake.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import REPO_ROOT
from core.errors import SourceError
from index.search import Index
from index.store import current_build
from ingest.report import IngestReport
from ingest.run import run_ingest
from ingest.warc import read_warc
from tests.fake_backends import HashEmbedder
from tests.test_crawl_site import Site, article
from tutor.cli import main

NOTES = {
    "lora.md": "# LoRA\n\n" + "LoRA freezes the pretrained weights and trains two small low-rank matrices instead. " * 8,
    "attention.md": "# Attention\n\n" + "Self-attention lets every token look at every other token of the sequence. " * 8,
    "diffusion.md": "# Diffusion\n\n" + "A diffusion model learns to reverse a gradual noising process, one step at a time. " * 8,
}
LONG = "# Scaling\n\n" + "\n\n".join(
    " ".join(f"scaling law {i} says loss falls as a power of compute {j} and data {i * j}." for j in range(12))
    for i in range(8))


def write_notes(folder: Path, notes: dict[str, str] = NOTES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in notes.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def ingest(settings, embedder=None, **kw):
    kw.setdefault("use_default", False)
    return run_ingest(settings, embedders=embedder or HashEmbedder(), show_progress=False, **kw)


def statuses(report) -> dict[str, str]:
    return {Path(i.source).name if i.source.startswith("file:") else i.source: i.status for i in report.items}


def indexed(settings) -> dict[str, str]:
    """url -> text of the documents in the live index."""
    return {d.url: d.text for d in Index.load(settings.index_dir, HashEmbedder.model_id).documents()}


@pytest.fixture
def polite(settings):
    return settings.replace(allow_hosts="127.0.0.1", fetch_delay=0.0, fetch_timeout=1.0, fetch_retries=1)


# -- incremental refresh ----------------------------------------------------------

def test_a_refresh_with_nothing_changed_extracts_embeds_and_rebuilds_nothing(settings, tmp_path, monkeypatch):
    notes = write_notes(tmp_path / "notes")
    first = ingest(settings, notes=[str(notes)])
    assert first.rebuilt and first.embedded == first.chunks > 0
    assert set(statuses(first).values()) == {"ok"} and {i.reason for i in first.items} == {"new"}
    build = current_build(settings.index_dir)

    def no_extraction(*args, **kwargs):
        raise AssertionError("an unchanged page was extracted again")

    monkeypatch.setattr("ingest.run.extract", no_extraction)  # where a run looks it up
    embedder = HashEmbedder()
    second = ingest(settings, embedder, notes=[str(notes)])
    assert (second.embedded, embedder.calls, second.rebuilt) == (0, 0, False)
    assert current_build(settings.index_dir) == build and second.build == build.name
    assert statuses(second) == dict.fromkeys(NOTES, "unchanged")
    assert "index unchanged" in second.summary()


def test_a_changed_document_replaces_only_its_own_chunks(settings, tmp_path):
    notes = write_notes(tmp_path / "notes", {**NOTES, "scaling.md": LONG})
    first = ingest(settings, notes=[str(notes)])
    before = {c.id: c.doc_url for c in Index.load(settings.index_dir, HashEmbedder.model_id).chunks}
    (notes / "scaling.md").write_text(LONG.replace("power of compute", "power law of compute"), encoding="utf-8")
    embedder = HashEmbedder()
    second = ingest(settings, embedder, notes=[str(notes)])
    after = {c.id: c.doc_url for c in Index.load(settings.index_dir, HashEmbedder.model_id).chunks}
    scaling = (notes / "scaling.md").resolve().as_uri()
    new_scaling = [cid for cid, url in after.items() if url == scaling]
    assert statuses(second)["scaling.md"] == "ok" and statuses(second)["lora.md"] == "unchanged"
    assert second.rebuilt and second.embedded == embedder.calls == len(new_scaling) > 1
    assert {cid for cid, url in before.items() if url != scaling} <= set(after)  # the others kept their chunks
    assert not {cid for cid, url in before.items() if url == scaling} & set(after)  # the old version is gone
    assert first.chunks == second.chunks


def test_a_removed_source_leaves_the_index(settings, tmp_path):
    mine = write_notes(tmp_path / "mine")
    extra = write_notes(tmp_path / "extra", {"scaling.md": LONG})
    ingest(settings, notes=[str(mine)], remember=True)
    both = ingest(settings, notes=[str(extra)], remember=True)  # the first folder is remembered
    assert len(indexed(settings)) == 4 and statuses(both)["lora.md"] == "unchanged"
    after = ingest(settings, remember=True, remove=[str(extra)])
    assert statuses(after)["scaling.md"] == "removed" and sorted(indexed(settings)) == sorted(
        (mine / name).resolve().as_uri() for name in NOTES)
    json_sources = json.loads((settings.home / "user_sources.json").read_text())["sources"]
    assert [(s["kind"], s["value"]) for s in json_sources] == [("notes", str(mine.resolve()))]
    unknown = ingest(settings, remember=True, remove=["https://never.example/added"])
    assert any("none of your saved sources matches" in n for n in unknown.notes)


def test_an_input_that_fails_keeps_its_pages_indexed_copies_and_the_cli_says_so(settings, tmp_path, monkeypatch,
                                                                                  capsys):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    warc = tmp_path / "mine.warc.gz"
    with warc.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for name, text in NOTES.items():
            body = f"<html><body><article><h1>{name}</h1><p>{text}</p></article></body></html>".encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(f"https://example.org/{name}", "response",
                                                          payload=io.BytesIO(body), http_headers=http))
    ingest(settings, warcs=[str(warc)], remember=True)
    before = indexed(settings)
    assert len(before) == 3
    data = warc.read_bytes()
    warc.write_bytes(data[:len(data) // 2])  # the file is truncated later (a partial copy, a full disk)
    monkeypatch.setenv("TUTOR_HOME", str(settings.home))
    monkeypatch.setenv("TUTOR_EMBEDDER", "hash")
    monkeypatch.setattr("ingest.refresh.make_embedders", lambda *a, **k: [HashEmbedder()])
    code = main(["ingest", "--no-default", "--quiet"])
    out = capsys.readouterr().out
    assert code == 2 and "failed" in out and "kept the indexed copy" in out
    assert indexed(settings) == before  # nothing it could not read was removed


def test_changing_the_embedding_model_rebuilds_everything_and_says_so(settings, tmp_path):
    class OtherEmbedder(HashEmbedder):
        model_id = "fake/other-embedder-64"

        def __init__(self):
            super().__init__(dim=64)

    notes = write_notes(tmp_path / "notes")
    first = ingest(settings, notes=[str(notes)])
    other = OtherEmbedder()
    second = ingest(settings, other, notes=[str(notes)])
    assert second.rebuilt and second.embedded == other.calls == first.chunks
    assert any("embedding model changed (fake/hash-embedder-1024 -> fake/other-embedder-64)" in n for n in second.notes)
    assert Index.load(settings.index_dir, other.model_id).manifest.dims == [64]


# -- duplicates and failures --------------------------------------------------------

def test_exact_and_near_duplicates_are_kept_once_and_reported(settings, tmp_path):
    notes = write_notes(tmp_path / "notes", {
        "a-scaling.md": LONG,
        "b-copy.md": LONG.replace("\n\n", "\n\n\n"),  # same words, other whitespace
        "c-edited.md": LONG.replace("compute 5 and data 15.", "compute 5 and data fifteen."),  # one word changed
        "d-lora.md": NOTES["lora.md"],
    })
    report = ingest(settings, notes=[str(notes)])
    reasons = {Path(i.source).name: i.reason for i in report.items if i.status == "duplicate"}
    first = (notes / "a-scaling.md").resolve().as_uri()
    assert reasons["b-copy.md"] == f"same text as {first}"
    assert reasons["c-edited.md"].startswith("near duplicate (Jaccard 0.9") and reasons["c-edited.md"].endswith(first)
    assert sorted(Path(u).name for u in indexed(settings)) == ["a-scaling.md", "d-lora.md"]


def test_failures_are_reported_one_line_each_and_the_run_goes_on(polite, tmp_path):
    notes = write_notes(tmp_path / "notes")
    (notes / "short.md").write_text("# Too short\n\nhi", encoding="utf-8")
    with Site() as site:
        report = ingest(polite, notes=[str(notes)], warcs=[str(tmp_path / "missing.warc.gz")],
                        urls=[site.url("/page/a"), site.url("/nowhere"), site.url("/private/secret"), site.url("/pdf")])
    got = statuses(report)
    assert got[site.url("/page/a")] == "ok" and got["lora.md"] == "ok"
    assert [got[site.url(p)] for p in ("/nowhere", "/private/secret", "/pdf")] == ["failed"] * 3
    assert got["short.md"] == "failed"
    inputs = {Path(i.source.split(":", 1)[1]).name: i.status for i in report.inputs}
    assert inputs == {"notes": "ok", "missing.warc.gz": "failed"}
    lines = report.summary().splitlines()
    assert any(line.startswith("failed") and "missing.warc.gz" in line and "does not exist" in line for line in lines)
    assert any(line.startswith("failed") and "/nowhere: the server answered HTTP 404" in line for line in lines)
    assert any("disallowed by robots.txt" in line for line in lines)
    assert lines[-2].startswith("4 documents") and "4 new" in lines[-2] and "4 failed" in lines[-2]
    assert len(indexed(polite)) == 4
    saved = json.loads((polite.home / "last_ingest.json").read_text())
    assert IngestReport.from_json(saved) == report  # what is saved reads back as the same report


def test_a_passing_failure_keeps_the_indexed_copy_and_a_404_removes_it(polite):
    with Site() as site:
        urls = [site.url("/page/a"), site.url("/page/b")]
        ingest(polite, urls=urls)
        site.routes["/page/a"] = (503, {}, b"down for maintenance")
        site.routes["/page/b"] = (404, {}, b"gone")
        report = ingest(polite, urls=urls)
    failed = {i.source: i.reason for i in report.items if i.status == "failed"}
    assert "HTTP 503" in failed[urls[0]] and failed[urls[0]].endswith("the copy already in the index was kept")
    assert statuses(report)[urls[1]] == "removed"
    assert list(indexed(polite)) == [urls[0]]


def test_no_document_at_all_keeps_the_old_index(settings, tmp_path):
    notes = write_notes(tmp_path / "notes")
    ingest(settings, notes=[str(notes)])
    build = current_build(settings.index_dir)
    with pytest.raises(SourceError, match="existing index was kept"):
        ingest(settings, notes=[str(tmp_path / "empty")])
    assert current_build(settings.index_dir) == build


# -- live sources: sitemap, save-warc, `tutor sources` -----------------------------------

def test_save_warc_replays_to_the_same_pages_and_index(polite, tmp_path):
    with Site() as site:
        urls = [site.url("/page/a"), site.url("/old"), site.url("/etag"), site.url("/nowhere")]
        warc = tmp_path / "crawl.warc.gz"
        live = ingest(polite, urls=urls, save_warc=warc)
        again = ingest(polite, urls=urls, save_warc=tmp_path / "again.warc.gz")  # everything 304 / unchanged
        bodies = {u: site.routes[p][2] if p != "/etag" else article("Tagged")
                  for u, p in zip(urls[:3], ("/page/a", "/page/a", "/etag"))}
    assert not (tmp_path / "crawl.warc.gz.partial").exists()
    for path in (warc, tmp_path / "again.warc.gz"):
        pages = list(read_warc(path))
        assert [p.url for p in pages] == urls[:3] and {p.url: p.body for p in pages} == bodies
        assert all(p.content_type.startswith("text/html") for p in pages)
    # /old redirects to /page/a: same text, kept once.
    assert statuses(again) == {urls[0]: "unchanged", urls[1]: "duplicate", urls[2]: "unchanged", urls[3]: "failed"}
    replay = polite.replace(home=tmp_path / "replay")
    ingest(replay, warcs=[str(warc)])
    live_docs = {d.url: (d.title, d.text) for d in Index.load(polite.index_dir, HashEmbedder.model_id).documents()}
    replayed = {d.url: (d.title, d.text) for d in Index.load(replay.index_dir, HashEmbedder.model_id).documents()}
    assert live.documents == 2 and replayed == live_docs


def test_the_cli_adds_sources_and_lists_their_status(polite, tmp_path, monkeypatch, capsys):
    from index import embed

    monkeypatch.setitem(embed.EMBEDDERS, "hash", HashEmbedder)
    for key, value in {"TUTOR_EMBEDDER": "hash", "TUTOR_ALLOW_HOSTS": "127.0.0.1", "TUTOR_FETCH_DELAY": "0",
                       "TUTOR_FETCH_RETRIES": "0", "TUTOR_HOME": str(polite.home)}.items():
        monkeypatch.setenv(key, value)
    with Site() as site:
        sitemap = f"<urlset><url><loc>{site.url('/page/b')}</loc></url></urlset>"
        site.routes["/sitemap.xml"] = (200, {"Content-Type": "text/xml"}, sitemap.encode())
        code = main(["ingest", "--no-default", "--quiet", "--url", site.url("/page/a"), "--url", site.url("/nowhere"),
                     "--sitemap", site.url("/sitemap.xml"), "--save-warc", str(tmp_path / "out.warc.gz")])
        out = capsys.readouterr().out
        assert code == 0 and f"ok         {site.url('/page/a')} (new)" in out
        assert [p.url for p in read_warc(tmp_path / "out.warc.gz")] == [site.url("/page/a"), site.url("/page/b")]
        assert main(["ingest", "--no-default", "--quiet"]) == 0  # the saved sources are refreshed
        assert f"unchanged  {site.url('/page/b')}" in capsys.readouterr().out
        assert main(["sources"]) == 0
        listing = capsys.readouterr().out
        assert main(["sources", "--status", "failed"]) == 0
        failed = capsys.readouterr().out
    assert listing.startswith("curated sources (ingest/sources.jsonl): ")
    assert "not in last run" in listing and "your sources: 3" in listing
    assert f"unchanged       url          {site.url('/page/a')}" in listing
    assert f"ok              sitemap      {site.url('/sitemap.xml')}" in listing
    assert site.url("/nowhere") in failed and site.url("/page/a") not in failed


# -- killing an ingest -----------------------------------------------------------------

KILL_SCRIPT = """
import pathlib, sys, time
from index import embed
from tests.fake_backends import HashEmbedder

class StallingEmbedder(HashEmbedder):
    def embed_documents(self, texts):
        pathlib.Path(sys.argv[1]).write_text("embedding started")
        time.sleep(120)  # killed long before this ends
        return super().embed_documents(texts)

embed.EMBEDDERS["stall"] = StallingEmbedder
from tutor.cli import main
sys.exit(main(["ingest", "--no-default", "--quiet", "--notes", sys.argv[2]]))
"""


def test_killing_ingest_mid_build_leaves_the_previous_index_loadable(settings, tmp_path):
    notes = write_notes(tmp_path / "notes")
    before = ingest(settings, notes=[str(notes)])
    old_build, old_docs = current_build(settings.index_dir), indexed(settings)
    (notes / "lora.md").write_text(NOTES["lora.md"].replace("small", "tiny"), encoding="utf-8")
    marker = tmp_path / "embedding-started"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_")}
    env.update(TUTOR_HOME=str(settings.home), TUTOR_EMBEDDER="stall")
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(marker), str(notes)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"ingest never reached embedding: {proc.stderr.read().decode()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert any(p.name.endswith(".partial") for p in (settings.index_dir / "builds").iterdir())  # killed mid-build
    assert current_build(settings.index_dir) == old_build
    index = Index.load(settings.index_dir, HashEmbedder.model_id)
    assert len(index) == before.chunks and indexed(settings) == old_docs
    assert json.loads((settings.home / "last_ingest.json").read_text())["build"] == old_build.name
    after = ingest(settings, notes=[str(notes)])  # the next run completes over the debris
    assert after.rebuilt and "tiny low-rank" in indexed(settings)[(notes / "lora.md").resolve().as_uri()]
    # ... and clears it: the killed process's half-written build is gone, however young
    assert not any(p.name.endswith(".partial") for p in (settings.index_dir / "builds").iterdir())


def test_a_notes_file_over_the_size_limit_is_refused_with_what_to_do_and_nothing_else_is_lost(settings, tmp_path,
                                                                                               monkeypatch):
    notes = write_notes(tmp_path / "notes")
    ingest(settings, notes=[str(notes)])
    monkeypatch.setattr("ingest.run.MAX_PAGE_BYTES", 2_000)  # (the real limit is 5 MB; a small file stands in)
    (notes / "lora.md").write_text(NOTES["lora.md"] * 5, encoding="utf-8")
    (notes / "huge.md").write_text("# Huge\n\n" + "A line of notes about transformers. " * 100, encoding="utf-8")
    report = ingest(settings, notes=[str(notes)])
    got = {Path(i.source).name: (i.status, i.reason) for i in report.items}
    assert got["huge.md"][0] == "failed" and "split it" in got["huge.md"][1]
    assert got["lora.md"][0] == "failed"  # grew over the limit: refused, and its indexed copy kept
    assert sorted(Path(u).name for u in indexed(settings)) == ["attention.md", "diffusion.md", "lora.md"]


def test_a_run_that_would_empty_much_of_the_index_stops_unless_removal_is_allowed(settings, tmp_path):
    many = write_notes(tmp_path / "many", {f"note{i}.md": f"# Note {i}\n\n" + NOTES["lora.md"].replace("LoRA", f"LoRA-{i}")
                                           for i in range(12)})
    ingest(settings, notes=[str(many)])
    build = current_build(settings.index_dir)
    other = write_notes(tmp_path / "other", {"attention.md": NOTES["attention.md"]})
    with pytest.raises(SourceError, match=r"would remove 12 indexed documents.*--allow-removal"):
        ingest(settings, notes=[str(other)])  # (like --no-default with one --url: the default corpus would go)
    assert current_build(settings.index_dir) == build and len(indexed(settings)) == 12
    report = ingest(settings, notes=[str(other)], allow_removal=True)
    assert report.counts()["removed"] == 12 and len(indexed(settings)) == 1
