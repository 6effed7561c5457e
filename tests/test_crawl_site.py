"""The local web site the crawler tests run against (imported by tests/test_crawl*.py; holds no tests).

`Site` is an http.server in a thread on 127.0.0.1 and a random port. It
serves pages, robots.txt rules, 404s, slow answers, redirect loops, ETag /
Last-Modified revalidation, oversized and binary bodies, mislabelled
encodings and flaky 5xx/429 answers, and records every request it
receives, so tests check what reached the wire, not only what the crawler says.
"""

from __future__ import annotations

import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARTICLE = "<html><head><title>{title}</title></head><body><article><h1>{title}</h1><p>{text}</p></article></body></html>"
LAST_MODIFIED = formatdate(1717581600, usegmt=True)  # Wed, 05 Jun 2024 10:00:00 GMT


def article(title: str, words: str = "attention lets every token look at every other token") -> bytes:
    return ARTICLE.format(title=title, text=(words + ". ") * 30).encode()


class Site:
    """A tiny web site in a thread. `routes[path]` is (status, headers, body) or a function of the handler."""

    def __init__(self, robots: str | None = "User-agent: *\nDisallow: /private/\n") -> None:
        self.requests: list[dict] = []
        self.hits: dict[str, int] = {}
        self.routes: dict = {
            "/page/a": (200, {"Content-Type": "text/html; charset=utf-8"}, article("Page A")),
            "/page/b": (200, {"Content-Type": "text/html; charset=utf-8"}, article("Page B", "diffusion models add noise and learn to remove it")),
            "/private/secret": (200, {"Content-Type": "text/plain"}, b"secret " * 50),
            "/old": (301, {"Location": "/page/a"}, b""),
            "/loop/a": (302, {"Location": "/loop/b"}, b""),
            "/loop/b": (302, {"Location": "/loop/a"}, b""),
            "/pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7" + b"\x00" * 100),
            "/nul": (200, {}, b"\x00\x01\x02binary" * 50),
            "/big": (200, {"Content-Type": "text/plain", "Content-Length": "5000"}, b"x" * 5000),
            "/latin1": (200, {"Content-Type": "text/html; charset=utf-8"},
                        ARTICLE.format(title="Café", text="Le café est très célèbre à Paris, même en été. " * 20).encode("latin-1")),
            "/bogus-charset": (200, {"Content-Type": "text/plain; charset=no-such-charset"}, ("Plain words here. " * 30).encode()),
            "/always503": (503, {"Content-Type": "text/plain"}, b"busy"),
            "/retry-long": (429, {"Retry-After": "3600"}, b""),
            "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/plain": (200, {"Content-Type": "text/plain; charset=utf-8"}, ("No validators on this page. " * 20).encode()),
        }
        if robots is not None:
            self.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"}, robots.encode())
        self.routes["/hop/0"] = (302, {"Location": "/hop/1"}, b"")
        for i in range(1, 10):
            self.routes[f"/hop/{i}"] = (302, {"Location": f"/hop/{i + 1}"}, b"")
        self.routes["/slow"] = self._slow
        self.routes["/flaky"] = self._flaky
        self.routes["/ratelimit"] = self._ratelimit
        self.routes["/etag"] = self._etag
        self.routes["/lastmod"] = self._lastmod
        self.routes["/stream-big"] = self._stream_big
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    # -- dynamic routes --------------------------------------------------------

    def _slow(self, h):
        time.sleep(float(self.__dict__.get("slow_seconds", 2.0)))
        return 200, {"Content-Type": "text/html"}, article("Slow")

    def _flaky(self, h):
        return (503, {}, b"try later") if self.hits["/flaky"] <= 2 else (200, {"Content-Type": "text/html"}, article("Flaky"))

    def _ratelimit(self, h):
        return (429, {"Retry-After": "1"}, b"") if self.hits["/ratelimit"] == 1 else (200, {"Content-Type": "text/html"}, article("Rate"))

    def _etag(self, h):
        if h.headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"Content-Type": "text/html", "ETag": '"v1"'}, article("Tagged")

    def _lastmod(self, h):
        if h.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return 304, {}, b""
        return 200, {"Content-Type": "text/html", "Last-Modified": LAST_MODIFIED}, article("Dated")

    def _stream_big(self, h):
        # No Content-Length: the body ends when the connection closes (HTTP/1.0).
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.end_headers()
        try:
            for _ in range(100):
                h.wfile.write(b"y" * 1000)
        except OSError:
            pass  # the crawler hung up once over its limit: that is the point
        return None

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                path = self.path.split("?")[0]
                site.hits[path] = site.hits.get(path, 0) + 1
                record = {"path": path, "headers": dict(self.headers), "start": time.monotonic()}
                site.requests.append(record)
                route = site.routes.get(path, (404, {"Content-Type": "text/plain"}, b"not found"))
                answer = route(self) if callable(route) else route
                if answer is not None:
                    status, headers, body = answer
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if "Content-Length" not in headers:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    try:
                        self.wfile.write(body)
                    except OSError:
                        pass
                record["end"] = time.monotonic()

            def log_message(self, *args):  # keep pytest output clean
                pass

        return Handler

    def __enter__(self) -> "Site":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
