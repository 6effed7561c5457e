"""One HTTP GET with limits: the single exchange under the crawler's politeness and retries.

`get` sends one request (no redirect following: the crawler checks every
hop itself), checks the address the connection reached against the SSRF
guard before reading anything, refuses a content type we do not ingest
before downloading the body, and streams the body with a size cap and an
overall deadline. Failures that may pass on a later run (timeouts, a
server that trickles bytes, broken connections) raise `TransientError`;
connect errors are re-raised as httpx's own so the crawler can retry them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from core.errors import SourceError
from ingest.guard import HostGuard


class TransientError(SourceError):
    """A failure that may pass on a later run: no answer, a timeout, 429/5xx, robots.txt unreadable."""


@dataclass
class Reply:
    """A server's reply: status and headers always; body and content type only for a 2xx.

    Not frozen: `get` fills in the body as it streams it. It stays inside ingest (the crawler reads it and
    makes a `Page`); it is not the tutor's `Answer`.
    """

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    content_type: str = ""
    http_version: str = "HTTP/1.1"
    request_headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str:
        """The first value of header `name` (lower case), or ""."""
        return next((v for k, v in self.headers if k.lower() == name), "")


def get(client, url: str, headers: dict, *, guard: HostGuard, accept: tuple[str, ...] | None, max_bytes: int,
        timeout: float, truncate: bool = False) -> Reply:
    """Send one GET and read the answer within the limits.

    Args:
        client: an `httpx.Client` with follow_redirects=False.
        url: the URL (already checked by `guard.check`).
        headers: extra request headers (conditional request headers).
        guard: checks the address the connection reached.
        accept: content types to accept (None: any, e.g. robots.txt).
        max_bytes: body cap; over it the request fails, or with `truncate` the body is cut.
        timeout: the client's timeout, for messages and the overall read deadline (3x).

    Raises:
        httpx.ConnectError, httpx.ConnectTimeout: no connection (the caller retries).
        TransientError: a read timeout, a too slow or broken transfer.
        SourceError: a refused content type, a body over the cap, a refused peer address.
    """
    import httpx  # only when something is fetched over the network

    deadline = time.monotonic() + 3 * timeout  # a server trickling bytes must not hold a worker forever
    try:
        with client.stream("GET", url, headers=headers) as r:
            stream = r.extensions.get("network_stream")
            peer = stream.get_extra_info("server_addr") if stream is not None else None
            if peer:
                guard.check_peer(url, peer[0])
            answer = Reply(r.status_code, r.reason_phrase, list(r.headers.multi_items()),
                            http_version=r.http_version, request_headers=tuple(r.request.headers.multi_items()))
            if not 200 <= r.status_code < 300:
                return answer
            answer.content_type = r.headers.get("content-type", "")
            if accept is not None:
                check_type(url, answer.content_type, b"", accept)
            declared = r.headers.get("content-length", "")
            if not truncate and declared.isdigit() and int(declared) > max_bytes:
                raise SourceError(f"{url}: {int(declared):,} bytes is over the {max_bytes:,}-byte limit (TUTOR_FETCH_MAX_BYTES)")
            body = bytearray()
            for part in r.iter_bytes():
                body += part
                if len(body) > max_bytes:
                    if truncate:
                        del body[max_bytes:]
                        break
                    raise SourceError(f"{url}: the body is over the {max_bytes:,}-byte limit (TUTOR_FETCH_MAX_BYTES)")
                if time.monotonic() > deadline:
                    raise TransientError(f"{url}: the server sends too slowly (over {3 * timeout:g} s)")
            answer.body = bytes(body)
            if accept is not None:
                answer.content_type = check_type(url, answer.content_type, answer.body, accept)
            return answer
    except (httpx.ConnectError, httpx.ConnectTimeout):
        raise
    except httpx.TimeoutException:
        raise TransientError(f"{url}: timed out after {timeout:g} s (TUTOR_FETCH_TIMEOUT)") from None
    except httpx.HTTPError as e:
        raise TransientError(f"{url}: {describe(e)}") from None


def check_type(url: str, content_type: str, body: bytes, accept: tuple[str, ...]) -> str:
    """Return the content type to use, or raise SourceError for one we do not ingest.

    A missing (or `application/octet-stream`) type is decided from the first
    bytes: NUL bytes mean binary; `<html` / `<?xml` are sniffed; else plain text.
    With an empty `body` such a type is let through, to be decided later.
    """
    base = content_type.split(";")[0].strip().lower()
    if base in accept:
        return content_type
    if base and base != "application/octet-stream":
        kind = "" if base.startswith("text/") else "binary content, "
        raise SourceError(f"{url}: {kind}content type {base} refused; only {', '.join(sorted(set(accept)))} are ingested")
    if not body:
        return content_type
    if b"\x00" in body[:1024]:
        raise SourceError(f"{url}: binary content refused (no usable content type and NUL bytes in the body)")
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    sniffed = "text/html" if head.startswith((b"<!doctype html", b"<html")) else (
        "application/xml" if head.startswith((b"<?xml", b"<urlset", b"<sitemapindex")) else "text/plain")
    if sniffed not in accept:
        raise SourceError(f"{url}: the server gave no usable content type and the body looks like {sniffed}")
    return sniffed


def retry_after(value: str) -> float:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date); 0 if unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def describe(error: BaseException | None) -> str:
    """`ExceptionName: message`, for one report line."""
    return f"{type(error).__name__}: {str(error) or 'no details'}"
