"""Polite live fetching of many pages: the crawler behind `tutor ingest --url/--sitemap`.

For every URL: the SSRF guard (`ingest.guard`) on each hop, the site's
robots.txt (read once per origin, `ingest.robots`), at least
`fetch_delay` seconds (or the site's Crawl-delay) between two requests to one
host, timeouts, up to `fetch_retries` retries with exponential backoff on
connect errors, 429 and 5xx (Retry-After honoured up to a cap), at most
5 redirects with loop detection, a body cap checked while streaming, and a
content-type check that refuses binaries before downloading them.

Pages are cached on disk (`ingest.http_cache`); the next fetch sends
If-None-Match / If-Modified-Since, and a 304 (or a byte-identical body)
comes back as "unchanged" with the cached copy. Hosts are fetched in
parallel by a small thread pool, one queue per host, so the delay for one
slow site never holds up another.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

from core.config import Settings
from core.errors import SourceError
from core.types import Page
from ingest.fetch import ALLOWED_TYPES, MAX_REDIRECTS, USER_AGENT, http_date
from ingest.guard import HostGuard
from ingest.http_cache import CachedPage, HttpCache
from ingest.http_get import Reply, TransientError, describe, get, retry_after
from ingest.robots import MAX_BYTES as ROBOTS_MAX_BYTES
from ingest.robots import Robots, robots_from_answer

log = logging.getLogger(__name__)

PAGE_TYPES = (*ALLOWED_TYPES, "text/x-markdown")
SITEMAP_TYPES = ("application/xml", "text/xml", "application/gzip", "application/x-gzip", "text/plain")
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Fetched:
    """The outcome of fetching one URL: a page ("ok" / "unchanged") or a reason ("failed").

    `page.url` is the URL asked for, so it matches the source list after
    redirects; `final_url` is where the body came from. The header tuples and
    `http_version` are what `ingest.save_warc` needs to write the exchange.
    """

    url: str
    status: str  # "ok" | "unchanged" | "failed"
    page: Page | None = None
    reason: str = ""
    final_url: str = ""
    request_headers: tuple[tuple[str, str], ...] = ()
    response_headers: tuple[tuple[str, str], ...] = ()
    http_version: str = "HTTP/1.1"
    fetched: str = ""
    transient: bool = False  # failed for a reason that may pass (timeout, 5xx): keep what was indexed


class _Host:
    """Per-host state: one request at a time, the delay between them, robots rules per origin.

    Keyed by host name, not origin: http:// and https:// (or two ports) of
    one server share the delay, while robots.txt is per origin (RFC 9309).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.robots_lock = threading.Lock()
        self.robots: dict[str, Robots] = {}
        self.next_at = 0.0


class Crawler:
    """Fetches URLs politely; use as a context manager so connections are closed.

    Args:
        settings: `fetch_*` limits, `allow_hosts` and `home` (for the cache).
        transport: an httpx transport instead of the network (tests).
        backoff: seconds before the first retry; doubled for each next one.
        max_retry_after: the longest Retry-After honoured; a longer one fails the URL.
        use_cache: keep pages under `<home>/cache/http` and send conditional requests.
    """

    def __init__(self, settings: Settings, *, transport=None, backoff: float = 1.0,
                 max_retry_after: float = 60.0, use_cache: bool = True) -> None:
        self.settings = settings
        self.guard = HostGuard(settings.allow_hosts)
        self.cache = HttpCache(Path(settings.home) / "cache" / "http") if use_cache else None
        self.transport = transport
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._clients: list = []
        self._stop = threading.Event()

    def __enter__(self) -> "Crawler":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def fetch(self, url: str, accept: Sequence[str] = PAGE_TYPES) -> Fetched:
        """Fetch one URL; never raises for a bad URL or server, returns status "failed" instead."""
        try:
            return self._fetch(url.strip(), tuple(accept))
        except SourceError as e:
            return Fetched(url, "failed", reason=str(e).removeprefix(f"{url}: "), transient=isinstance(e, TransientError))

    def fetch_all(self, urls: Sequence[str]) -> Iterator[tuple[int, Fetched]]:
        """Fetch many URLs, hosts in parallel; yields (position in `urls`, result) as each completes."""
        groups: dict[str, list[tuple[int, str]]] = {}
        for i, url in enumerate(urls):
            groups.setdefault(_host_name(url), []).append((i, url))
        if not groups:
            return
        results: queue.Queue = queue.Queue()
        self._stop.clear()

        def work(items: list[tuple[int, str]]) -> None:
            for i, url in items:
                if self._stop.is_set():
                    return
                try:
                    results.put((i, self.fetch(url)))
                except Exception as e:  # a bug must cost one URL, not the run
                    log.exception("fetching %s crashed", url)
                    results.put((i, Fetched(url, "failed", reason=f"internal error: {type(e).__name__}: {e}")))

        pool = ThreadPoolExecutor(max_workers=max(1, min(self.settings.fetch_workers, len(groups))),
                                  thread_name_prefix="crawl")
        futures = [pool.submit(work, items) for items in groups.values()]
        received = 0
        try:
            while received < len(urls):
                try:
                    item = results.get(timeout=0.2)  # a timeout keeps Ctrl-C responsive
                except queue.Empty:
                    if all(f.done() for f in futures) and results.empty():
                        break
                    continue
                received += 1
                yield item
        finally:
            self._stop.set()  # tells workers still running (Ctrl-C, a consumer that stopped early) to quit
            pool.shutdown(wait=False, cancel_futures=True)
            if all(f.done() for f in futures):
                self._stop.clear()

    # -- one URL ---------------------------------------------------------------

    def _fetch(self, url: str, accept: tuple[str, ...]) -> Fetched:
        cached = self.cache.get(url) if self.cache else None
        chain, current = [url], url
        for _ in range(MAX_REDIRECTS + 1):
            self.guard.check(current)
            host = self._host(current)
            robots = self._robots(host, current)
            if robots.refusal:
                raise TransientError(f"{url}: {robots.refusal}")
            if not robots.allows(current, USER_AGENT):
                raise SourceError(f"{url}: disallowed by robots.txt for {_origin(current)}")
            conditional = cached.conditional_headers() if cached and cached.final_url == current else {}
            answer = self._send(host, current, conditional, accept, self.settings.fetch_max_bytes, robots)
            if answer.status in REDIRECTS:
                location = answer.header("location")
                if not location:
                    raise SourceError(f"{url}: HTTP {answer.status} redirect without a Location header")
                target = _no_fragment(urljoin(current, location))
                if target in chain:
                    raise SourceError(f"{url}: redirect loop ({' -> '.join(chain + [target])})")
                chain.append(target)
                current = target
                continue
            return self._outcome(url, current, answer, cached)
        raise SourceError(f"{url}: more than {MAX_REDIRECTS} redirects ({' -> '.join(chain[:3])} -> ...)")

    def _outcome(self, url: str, final: str, answer: Reply, cached: CachedPage | None) -> Fetched:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        common = dict(final_url=final, request_headers=answer.request_headers, http_version=answer.http_version, fetched=now)
        if answer.status == 304 and cached is not None:
            page = Page(url=url, content_type=cached.content_type, body=cached.body, date=cached.date, origin="http")
            return Fetched(url, "unchanged", page, response_headers=cached.headers, **common)
        where = f" (at {final})" if final != url else ""
        if answer.status == 429 or answer.status >= 500:
            raise TransientError(f"{url}: the server answered HTTP {answer.status} {answer.reason}{where}".rstrip())
        if answer.status >= 400:
            raise SourceError(f"{url}: the server answered HTTP {answer.status} {answer.reason}{where}".rstrip())
        if not 200 <= answer.status < 300:
            raise SourceError(f"{url}: unexpected HTTP {answer.status} {answer.reason}{where}".rstrip())
        digest = hashlib.sha256(answer.body).hexdigest()
        same = cached is not None and cached.sha256 == digest
        # An unchanged body keeps the date it was first seen: a page without
        # Last-Modified must not look "changed" on every refresh.
        date = cached.date if same else http_date(answer.header("last-modified"))
        headers = tuple(answer.headers)
        if self.cache:
            self.cache.put(CachedPage(url, final, answer.content_type, answer.header("etag"), answer.header("last-modified"),
                                      date, now, digest, len(answer.body), headers, answer.body))
        page = Page(url=url, content_type=answer.content_type, body=answer.body, date=date, origin="http")
        return Fetched(url, "unchanged" if same else "ok", page, response_headers=headers, **common)

    # -- hosts, robots.txt, politeness -------------------------------------------

    def _host(self, url: str) -> _Host:
        with self._lock:
            return self._hosts.setdefault(_host_name(url), _Host())

    def _robots(self, host: _Host, url: str) -> Robots:
        origin = _origin(url)
        with host.robots_lock:
            if origin not in host.robots:
                host.robots[origin] = self._read_robots(origin + "/robots.txt")
            return host.robots[origin]

    def _read_robots(self, robots_url: str) -> Robots:
        current, chain = robots_url, [robots_url]
        try:
            for _ in range(MAX_REDIRECTS + 1):  # RFC 9309: follow at least five redirects
                self.guard.check(current)
                answer = self._send(self._host(current), current, {}, None, ROBOTS_MAX_BYTES, None, truncate=True)
                target = _no_fragment(urljoin(current, answer.header("location"))) if answer.status in REDIRECTS else ""
                if not target or target in chain:
                    return robots_from_answer(answer.status if not target else 404, answer.body)
                chain.append(target)
                current = target
            return robots_from_answer(404)  # too many redirects: RFC 9309 says treat as unavailable
        except SourceError as e:
            return robots_from_answer(0, problem=str(e).removeprefix(f"{current}: "))

    def _send(self, host: _Host, url: str, headers: dict, accept, max_bytes: int, robots: Robots | None,
              truncate: bool = False) -> Reply:
        """One request with the host's delay, retried on connect errors, 429 and 5xx."""
        import httpx  # only when something is fetched over the network

        delay = max(self.settings.fetch_delay, robots.delay(USER_AGENT) if robots else 0.0)
        attempt = 0
        while True:
            answer, error = None, None
            with host.lock:
                wait = host.next_at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    answer = get(self._client(), url, headers, guard=self.guard, accept=accept, max_bytes=max_bytes,
                                 timeout=self.settings.fetch_timeout, truncate=truncate)
                except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                    error = e
                finally:
                    host.next_at = time.monotonic() + delay
            if answer is not None and answer.status != 429 and answer.status < 500:
                return answer
            if attempt >= self.settings.fetch_retries:
                if answer is not None:
                    if attempt:
                        answer.reason = f"{answer.reason} (after {attempt} retries)".strip()
                    return answer
                raise TransientError(f"{url}: cannot connect ({describe(error)}) after {attempt} retries")
            pause = self.backoff * 2 ** attempt
            if answer is not None and answer.header("retry-after"):
                asked = retry_after(answer.header("retry-after"))
                if asked > self.max_retry_after:
                    raise TransientError(f"{url}: HTTP {answer.status}: the server asks to retry after {asked:.0f} s, "
                                      f"longer than the {self.max_retry_after:.0f} s we wait; try again later")
                pause = max(pause, asked)
            attempt += 1
            log.info("%s: %s, retry %d in %.1f s", url, describe(error) if error else f"HTTP {answer.status}", attempt, pause)
            if self._stop.wait(pause):
                raise TransientError(f"{url}: interrupted")

    def _client(self):
        import httpx  # only when something is fetched over the network

        client = getattr(self._local, "client", None)
        if client is None:
            # follow_redirects=False: every hop goes through the guard and robots.txt here.
            client = httpx.Client(follow_redirects=False, timeout=httpx.Timeout(self.settings.fetch_timeout),
                                  headers={"User-Agent": USER_AGENT,
                                           "Accept": ", ".join(PAGE_TYPES) + ";q=0.9, */*;q=0.1"},
                                  transport=self.transport)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client


def _host_name(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _no_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))
