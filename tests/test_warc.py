"""Source readers: read_warc (incl. broken files), read_notes, and fetch (on a mock transport)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import httpx
import pytest

from core.errors import SourceError, UnsafeUrl
from ingest.fetch import USER_AGENT, fetch
from ingest.guard import HostGuard
from ingest.notes import read_notes
from ingest.warc import read_warc

BODY = "<html><body><article><p>" + "Attention is all you need. " * 40 + "</p></article></body></html>"


def write_warc(path: Path, gz: bool = True) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=gz)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            "https://example.org/a", "response", payload=io.BytesIO(BODY.encode()), http_headers=http,
            warc_headers_dict={"WARC-Date": "2024-06-05T00:00:00Z"}))
        writer.write_record(writer.create_warc_record(
            "https://example.org/a", "request", payload=io.BytesIO(b"GET /a HTTP/1.1\r\n\r\n"),
            warc_content_type="application/http; msgtype=request"))
        for i in range(3):
            writer.write_record(writer.create_warc_record(
                f"seed:note{i}.md", "resource", payload=io.BytesIO(f"# Note {i}\n\nText {i}.".encode()),
                warc_content_type="text/markdown; charset=utf-8", warc_headers_dict={"WARC-Date": f"2024-01-0{i + 1}T00:00:00Z"}))
        writer.write_record(writer.create_warc_record(
            "https://example.org/a", "metadata", payload=io.BytesIO(b"via: test"), warc_content_type="application/warc-fields"))
    return path


@pytest.mark.parametrize("gz", [True, False])
def test_read_warc_yields_response_and_resource_records(tmp_path, gz):
    path = write_warc(tmp_path / ("t.warc.gz" if gz else "t.warc"), gz=gz)
    pages = list(read_warc(path))
    assert [p.url for p in pages] == ["https://example.org/a", "seed:note0.md", "seed:note1.md", "seed:note2.md"]
    html = pages[0]
    assert html.content_type == "text/html; charset=utf-8"  # from the HTTP headers, not application/http
    assert html.body == BODY.encode() and html.date == "2024-06-05T00:00:00Z" and html.origin == f"warc:{path.name}"
    assert pages[1].content_type == "text/markdown; charset=utf-8" and pages[1].body == b"# Note 0\n\nText 0."
    assert pages[2].date == "2024-01-02T00:00:00Z"


def test_a_truncated_warc_keeps_the_records_before_the_damage(tmp_path):
    data = write_warc(tmp_path / "t.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[:-60])  # inside the last record
    seen = []
    with pytest.raises(SourceError, match="Re-download") as info:
        for page in read_warc(cut):
            seen.append(page.url)
    assert seen == ["https://example.org/a", "seed:note0.md", "seed:note1.md", "seed:note2.md"][:len(seen)]
    assert len(seen) >= 3 and str(cut) in str(info.value)


def test_a_corrupt_gzip_member_is_reported(tmp_path):
    data = bytearray(write_warc(tmp_path / "t.warc.gz").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 40] = b"\xff" * 40
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(bytes(data))
    seen = []
    with pytest.raises(SourceError):
        for page in read_warc(bad):
            seen.append(page)
    assert 1 <= len(seen) < 4


@pytest.mark.parametrize("content", [b"", b"hello, not a warc\n", gzip.compress(b"<html>not a warc</html>")])
def test_a_file_that_is_not_a_warc_is_refused(tmp_path, content):
    path = tmp_path / "x.warc.gz"
    path.write_bytes(content)
    with pytest.raises(SourceError, match="not a WARC file"):
        list(read_warc(path))


def test_a_missing_warc_says_what_to_do(tmp_path):
    with pytest.raises(SourceError, match="does not exist; check the path"):
        list(read_warc(tmp_path / "nope.warc.gz"))


@pytest.mark.slow
def test_the_snapshot_has_134_page_records():
    from core.config import Settings

    path = Settings().snapshot_path()
    if path is None:
        pytest.skip("no snapshot WARC beside the checkout (../shared/corpus/genai-handbook.warc.gz)")
    pages = list(read_warc(path))
    assert len(pages) == 134 and len({p.url for p in pages}) == 134
    assert sum(p.content_type.startswith("text/html") for p in pages) == 11
    assert all(p.date and p.body for p in pages)


# -- read_notes ---------------------------------------------------------------

def test_read_notes_reads_text_files_recursively_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.md").write_text("# A")
    (tmp_path / "b" / "c.rst").write_text("C\n=")
    (tmp_path / "b" / "d.txt").write_text("d")
    (tmp_path / "b" / "e.mdx").write_text("e")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".git" / "notes.md").write_text("hidden")
    pages = list(read_notes(tmp_path))
    assert [Path(p.url).name for p in pages] == ["a.md", "c.rst", "d.txt", "e.mdx"]
    assert pages[0].url == (tmp_path / "a.md").resolve().as_uri()
    assert [p.content_type.split(";")[0] for p in pages] == ["text/markdown", "text/x-rst", "text/plain", "text/markdown"]
    assert pages[0].body == b"# A" and pages[0].date.endswith("Z") and pages[0].origin.startswith("notes:")


def test_read_notes_refuses_a_missing_folder(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        list(read_notes(tmp_path / "missing"))


# -- fetch --------------------------------------------------------------------

def mock(handler) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def _public(host, port, type=0):  # example.org resolves to a public address (no network in tests)
    return [(2, 1, 6, "", ("93.184.216.34", port))]


PUBLIC = HostGuard(resolve=_public)


def test_fetch_goes_only_where_the_crawler_may():
    def handler(request):
        if request.url.path == "/away":
            return httpx.Response(302, headers={"Location": "http://127.0.0.1:8080/admin"})
        return httpx.Response(200, headers={"Content-Type": "text/plain"}, content=b"secret")

    with pytest.raises(UnsafeUrl):
        fetch("http://169.254.169.254/latest/meta-data", transport=mock(handler))
    with pytest.raises(UnsafeUrl):  # a public page that redirects inside
        fetch("https://example.org/away", guard=PUBLIC, transport=mock(handler))
    assert fetch("http://127.0.0.1:8080/notes", guard=HostGuard(allow="127.0.0.1"), transport=mock(handler)).body


def test_fetch_returns_a_page_and_sends_the_user_agent():
    seen = {}

    def handler(request):
        seen["ua"] = request.headers["user-agent"]
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "https://example.org/new"})
        return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8",
                                            "Last-Modified": "Wed, 05 Jun 2024 10:00:00 GMT"}, content=BODY.encode())

    page = fetch("https://example.org/old", guard=PUBLIC, transport=mock(handler))
    assert seen["ua"] == USER_AGENT
    assert page.url == "https://example.org/old" and page.body == BODY.encode()
    assert page.content_type == "text/html; charset=utf-8" and page.date == "2024-06-05T10:00:00Z" and page.origin == "http"


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "example.org/x"])
def test_fetch_refuses_other_schemes(url):
    with pytest.raises(SourceError, match="only http:// and https://"):
        fetch(url, guard=PUBLIC, transport=mock(lambda r: httpx.Response(200)))


@pytest.mark.parametrize("response, reason", [
    (httpx.Response(404), "HTTP 404"),
    (httpx.Response(200, headers={"Content-Type": "application/pdf"}, content=b"%PDF"), "content type application/pdf"),
    (httpx.Response(200, headers={"Content-Type": "text/html", "Content-Length": "99999"}, content=b"x" * 99999), "over the 1,000-byte limit"),
    (httpx.Response(200, headers={"Content-Type": "text/plain"}, content=iter([b"x" * 600, b"y" * 600])), "over the 1,000-byte limit"),
])
def test_fetch_errors_name_the_url_and_the_reason(response, reason):
    with pytest.raises(SourceError, match=reason) as info:
        fetch("https://example.org/x", max_bytes=1000, guard=PUBLIC, transport=mock(lambda r: response))
    assert str(info.value).startswith("https://example.org/x: ")


def test_fetch_stops_after_five_redirects():
    loop = mock(lambda r: httpx.Response(302, headers={"Location": f"https://example.org/{len(r.url.path)}"}))
    with pytest.raises(SourceError, match="more than 5 redirects"):
        fetch("https://example.org/start", guard=PUBLIC, transport=loop)


def test_fetch_reports_network_errors():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(SourceError, match="ConnectError"):
        fetch("https://example.org/x", guard=PUBLIC, transport=mock(refuse))
