"""Write what a crawl fetched as a standard WARC (`tutor ingest --save-warc FILE`).

Each fetched page becomes a `request` record and a `response` record
(gzip per record, written by warcio), so the file replays through
`ingest.warc.read_warc` or any WARC tool, and `tutor ingest --warc FILE`
rebuilds the same index offline.

Choices that keep the replay faithful to what was ingested:
- `WARC-Target-URI` is the URL as asked for, which is the page's identity
  in the index; when the server redirected, a `metadata` record
  (concurrent to the response) names the final URL.
- the body is stored as httpx delivered it (content encodings removed), so
  `Content-Encoding`/`Transfer-Encoding` are dropped from the stored
  headers and `Content-Length` is set to the stored length.
- a page that came back 304 Not Modified is stored as the cached 200
  response it stands for: a snapshot needs the page, not the revalidation.

The file is written as `FILE.partial` and renamed when the crawl is over,
so an interrupted or killed run never leaves a damaged WARC under the asked name.
"""

from __future__ import annotations

import io
import os
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from ingest.crawl import Fetched

_DROPPED = {"content-encoding", "transfer-encoding", "content-length"}


class WarcSaver:
    """Append fetched exchanges to a gzipped WARC; `close()` (or the `with` block) publishes it.

    Args:
        path: the WARC to write; an existing file is replaced when this one is complete.
        software: written into the `warcinfo` record.
    """

    def __init__(self, path: str | Path, software: str = "handbook-tutor") -> None:
        from warcio.warcwriter import WARCWriter  # only when a WARC archive is read or written

        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.partial.open("wb")
        self._writer = WARCWriter(self._file, gzip=True, warc_version="1.1")
        self._writer.write_record(self._writer.create_warcinfo_record(
            self.path.name, {"software": software, "format": "WARC File Format 1.1",
                             "description": "pages fetched by tutor ingest"}))
        self.pages = 0

    def __enter__(self) -> "WarcSaver":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def add(self, fetched: Fetched) -> None:
        """Write the request and response records of one successful fetch (failed ones are skipped)."""
        from warcio.statusandheaders import StatusAndHeaders  # only when a WARC archive is read or written

        if fetched.page is None:
            return
        w = self._writer
        url, body = fetched.url, fetched.page.body
        date = _warc_date(fetched.fetched or fetched.page.date)
        target = fetched.final_url or url
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = [(k, v) for k, v in fetched.request_headers if k.lower() not in ("if-none-match", "if-modified-since")]
        if not any(k.lower() == "host" for k, _ in request_headers):
            request_headers.insert(0, ("Host", parts.netloc))
        request = w.create_warc_record(
            url, "request", http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1", request_headers, is_http_request=True),
            warc_headers_dict={"WARC-Date": date})
        headers = [(k, v) for k, v in fetched.response_headers if k.lower() not in _DROPPED]
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", fetched.page.content_type))
        headers.append(("Content-Length", str(len(body))))
        response = w.create_warc_record(
            url, "response", payload=io.BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders("200 OK", headers, protocol=fetched.http_version or "HTTP/1.1"),
            warc_headers_dict={"WARC-Date": date})
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        request.rec_headers.add_header("WARC-Concurrent-To", response_id)
        w.write_record(request)
        w.write_record(response)
        if target != url:
            info = f"final-uri: {target}\r\n".encode("utf-8")
            w.write_record(w.create_warc_record(
                url, "metadata", payload=io.BytesIO(info), length=len(info),
                warc_content_type="application/warc-fields",
                warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id}))
        self.pages += 1

    def close(self) -> None:
        """Finish the file and rename it to its real name (idempotent)."""
        if self._file.closed:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        """Drop the partial file (the run failed before anything worth keeping)."""
        if not self._file.closed:
            self._file.close()
        self.partial.unlink(missing_ok=True)


def _warc_date(value: str) -> str:
    """WARC-Date wants ISO 8601 UTC with a Z; fall back to now for anything else."""
    from warcio.timeutils import datetime_to_iso_date  # only when a WARC archive is read or written

    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        when = datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return datetime_to_iso_date(when.astimezone(timezone.utc).replace(tzinfo=None))
