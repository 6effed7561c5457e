"""Fetch one web page over HTTP(S) as a `Page`, with size and type limits.

Deliberately small: one request, no robots.txt, no rate limit, no cache. Where it
may connect is checked as the crawler checks it (`ingest.guard`: public addresses
only, every redirect and the connected peer included). `tutor ingest` uses the
polite crawler in `ingest.crawl` (robots.txt, per-host delay, retries, conditional
requests); this stays for scripts that fetch a known page.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from core.errors import SourceError
from core.types import Page
from ingest.guard import HostGuard

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

USER_AGENT = "handbook-tutor/0.1 (+offline tutor)"
MAX_REDIRECTS = 5
ALLOWED_TYPES = ("text/html", "application/xhtml+xml", "text/markdown", "text/plain", "text/x-rst")


def fetch(
    url: str,
    timeout: float = 20.0,
    max_bytes: int = 10_000_000,
    *,
    guard: HostGuard | None = None,
    transport: "httpx.BaseTransport | None" = None,
) -> Page:
    """Download `url` and return it as a `Page` (origin "http").

    Args:
        url: an http:// or https:// URL.
        timeout: seconds allowed for connecting and for each read.
        max_bytes: refuse bodies larger than this (checked against
            Content-Length and while streaming).
        guard: where requests may go (default: public addresses only; `HostGuard(allow=...)` for a
            private host you trust, as `TUTOR_ALLOW_HOSTS` does for ingest).
        transport: an httpx transport to use instead of the network (tests).

    Returns:
        A Page whose `url` is the URL asked for (so it matches the source
        list even after redirects), `content_type` is the response header and
        `date` is Last-Modified if given, else the time of the fetch (UTC).

    Raises:
        UnsafeUrl: the URL, a redirect or the connection reaches a non-public address.
        SourceError: a non-http(s) URL, a network error or timeout, more than
            5 redirects, an HTTP error status, a body over `max_bytes`, or a
            content type other than HTML, XHTML, markdown, rst or plain text.
    """
    import httpx  # only when something is fetched over the network

    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise SourceError(f"{url}: only http:// and https:// URLs can be fetched (got {scheme or 'no scheme'}://)")
    guard = guard or HostGuard()

    def where_to(request: "httpx.Request") -> None:  # every request, each redirect's too
        guard.check(str(request.url))

    def where_reached(response: "httpx.Response") -> None:  # the address the connection really reached
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer:
            guard.check_peer(str(response.url), peer[0])

    client = httpx.Client(
        event_hooks={"request": [where_to], "response": [where_reached]},
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept": ", ".join(ALLOWED_TYPES) + ";q=0.9, */*;q=0.1"},
        transport=transport,
    )
    try:
        with client, client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise SourceError(f"{url}: the server answered HTTP {response.status_code} {response.reason_phrase}")
            content_type = response.headers.get("content-type", "")
            base = content_type.split(";")[0].strip().lower()
            if base not in ALLOWED_TYPES:
                raise SourceError(f"{url}: content type {base or 'missing'} is not supported; expected one of {', '.join(ALLOWED_TYPES)}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SourceError(f"{url}: {int(declared):,} bytes is over the {max_bytes:,}-byte limit")
            body = bytearray()
            for part in response.iter_bytes():
                body += part
                if len(body) > max_bytes:
                    raise SourceError(f"{url}: the body is over the {max_bytes:,}-byte limit")
            if str(response.url) != url:
                log.debug("%s redirected to %s", url, response.url)
            date = http_date(response.headers.get("last-modified", ""))
    except httpx.TooManyRedirects:
        raise SourceError(f"{url}: more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException:
        raise SourceError(f"{url}: timed out after {timeout:g} s") from None
    except httpx.HTTPError as e:
        raise SourceError(f"{url}: {type(e).__name__}: {e}") from None
    return Page(url=url, content_type=content_type, body=bytes(body), date=date, origin="http")


def http_date(value: str) -> str:
    """An HTTP date (Last-Modified) as ISO 8601 UTC; now if missing or unparseable."""
    when = None
    if value:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
    when = when or datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
