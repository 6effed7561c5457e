"""Small ingest parts without a network: source statuses, saved sources, the extraction cache, dedup, the report."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from core.types import Page
from ingest import extract_cache
from ingest.catalog import load_user_sources, source_statuses, update_user_sources, user_source
from ingest.dedup import Deduplicator
from ingest.extract import extract
from ingest.extract_cache import ExtractCache
from ingest.report import IngestReport, write_report
from ingest.sources import load_sources

PAGE = Page("https://example.org/a", "text/markdown", ("# A page\n\n" + "Words worth keeping here. " * 20).encode())


def test_source_statuses_join_the_curated_list_with_the_last_report(settings, tmp_path):
    snapshot = tmp_path / "snap.warc.gz"
    settings = settings.replace(snapshot=str(snapshot))
    curated = load_sources()
    captured = next(s for s in curated if s.warc_uri)
    missing = next(s for s in curated if not s.warc_uri)
    assert {r.status for r in source_statuses(settings)} == {"not ingested"}
    notes = tmp_path / "notes"
    update_user_sources(settings.home, [user_source("notes", str(notes)), user_source("url", "https://example.org/x")], [])
    report = IngestReport(started="2024-06-05T00:00:00+00:00")
    report.add_input(f"warc:{snapshot.resolve()}", "ok", "1 pages")
    report.add_input(f"notes:{notes.resolve()}", "failed", "notes folder does not exist")
    report.add(captured.warc_uri + "/", "failed", "only 25 characters", "warc")  # a trailing slash still matches
    report.add("https://example.org/x", "unchanged")
    write_report(settings.home, report)
    rows = {(r.owner, r.source): r for r in source_statuses(settings)}
    assert (rows["curated", captured.url].status, rows["curated", captured.url].reason) == ("failed", "only 25 characters")
    assert rows["curated", missing.url].status == "not captured"
    assert rows["yours", str(notes.resolve())].status == "failed"
    assert rows["yours", "https://example.org/x"].status == "unchanged"
    assert len(rows) == len(curated) + 2


def test_saved_sources_are_normalised_deduplicated_and_removable(settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    saved, unmatched = update_user_sources(settings.home, [user_source("notes", "my-notes"), user_source("notes", str(tmp_path / "my-notes")),
                                                           user_source("url", " https://example.org/x ")], ["nothing"])
    assert [(s.kind, s.value) for s in saved] == [("notes", str(tmp_path / "my-notes")), ("url", "https://example.org/x")]
    assert unmatched == ["nothing"]
    saved, unmatched = update_user_sources(settings.home, [], ["my-notes"])  # a relative path matches too
    assert [s.value for s in load_user_sources(settings.home)] == ["https://example.org/x"] and not unmatched
    (settings.home / "user_sources.json").write_text("{broken")
    with pytest.raises(Exception, match="damaged"):
        load_user_sources(settings.home)
    with pytest.raises(ValueError):
        user_source("ftp", "x")


def test_the_extraction_cache_serves_results_and_forgets_them_when_the_code_changes(tmp_path, monkeypatch):
    cache = ExtractCache(tmp_path / "extract.sqlite")
    doc = extract(PAGE)
    cache.put(PAGE, "", doc)
    cache.put(Page("https://example.org/short", "text/plain", b"hi"), "", "only 2 characters")
    cache.close()
    cache = ExtractCache(tmp_path / "extract.sqlite")
    assert cache.get(PAGE, "") == doc
    assert cache.get(Page("https://example.org/short", "text/plain", b"hi"), "") == "only 2 characters"
    assert cache.get(PAGE, "another fallback title") is None
    assert cache.get(Page(PAGE.url, PAGE.content_type, PAGE.body + b"!"), "") is None
    monkeypatch.setattr(extract_cache, "code_version", lambda: "edited-extractor")
    assert cache.get(PAGE, "") is None
    cache.close()
    (tmp_path / "bad.sqlite").write_bytes(b"not a database at all" * 100)
    damaged = ExtractCache(tmp_path / "bad.sqlite")
    assert damaged.get(PAGE, "") is None  # started afresh, no crash
    damaged.close()


def test_dedup_threshold_and_chinese_text():
    words = " ".join(f"token{i} filler{i % 13}" for i in range(400))
    dedup = Deduplicator(threshold=0.9)
    assert dedup.check("a", words) == ""
    assert dedup.check("b", words.replace("token7 ", "changed ", 1)).startswith("near duplicate")
    assert dedup.check("c", " ".join(f"token{i} filler{i % 13}" for i in range(200))) == ""  # half: J ~ 0.5
    zh = "注意力机制让每个词元都能关注序列中的其他词元，" + "".join(f"第{i}层的表示逐步变得更加抽象。" for i in range(60))
    assert dedup.check("zh", zh) == ""
    assert dedup.check("zh-edit", zh.replace("第5层", "第五层")).endswith("of zh")
    with pytest.raises(ValueError):
        Deduplicator(threshold=0)


def test_the_summary_has_one_line_per_source_and_the_totals():
    report = IngestReport(started="now", documents=2, chunks=5, embedded=1, seconds=1.25, embedder="fake", build="b1", rebuilt=True)
    report.add_input("warc:/x.warc.gz", "ok", "3 pages")
    report.add("https://a.example/", "ok", "new")
    report.add("https://b.example/", "unchanged")
    report.add("https://c.example/", "failed", "HTTP 404")
    report.add("https://d.example/", "duplicate", "same text as https://a.example/")
    with pytest.raises(ValueError):
        report.add("https://e.example/", "weird")
    lines = report.summary().splitlines()
    assert lines[:5] == ["ok         warc:/x.warc.gz: 3 pages", "ok         https://a.example/ (new)",
                         "unchanged  https://b.example/", "failed     https://c.example/: HTTP 404",
                         "duplicate  https://d.example/: same text as https://a.example/"]
    assert lines[5] == ("2 documents, 5 chunks (1 newly embedded): 1 new, 0 changed, 1 unchanged, 1 failed, "
                        "1 duplicates, 0 removed; index rebuilt (b1); 1.2 s with fake")
    assert report.ok == ["https://a.example/", "https://b.example/"] and len(report.skipped) == 2
    assert IngestReport.from_json(json.loads(json.dumps(asdict(report)))) == report  # saved as JSON, read back whole
