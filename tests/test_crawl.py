"""The polite crawler against a real HTTP server on 127.0.0.1 (`tests/test_crawl_site.Site`).

Robots rules, politeness delays, parallel hosts, timeouts, retries and
backoff, redirects, conditional requests, size/type limits and encodings.
The SSRF guard and sitemaps are in `tests/test_crawl_guard.py`.
"""

from __future__ import annotations

import socket
import time

import pytest

from ingest.crawl import Crawler
from ingest.extract import extract
from ingest.fetch import USER_AGENT
from tests.test_crawl_site import Site, article


@pytest.fixture
def site():
    with Site() as s:
        yield s


@pytest.fixture
def polite(settings):
    """Settings for the local server: 127.0.0.1 allowed, no delay, short timeouts, 2 retries."""
    return settings.replace(allow_hosts="127.0.0.1", fetch_delay=0.0, fetch_timeout=1.0, fetch_retries=2,
                            fetch_max_bytes=20_000)


def crawler(settings, **kw) -> Crawler:
    return Crawler(settings, backoff=kw.pop("backoff", 0.05), **kw)


# -- the basics ----------------------------------------------------------------

def test_fetches_a_page_and_identifies_itself(site, polite):
    with crawler(polite) as c:
        got = c.fetch(site.url("/page/a"))
    assert got.status == "ok" and got.page.body == site.routes["/page/a"][2]
    assert got.page.url == site.url("/page/a") and got.page.content_type.startswith("text/html")
    assert [r["headers"]["User-Agent"] for r in site.requests] == [USER_AGENT, USER_AGENT]  # robots.txt, then the page
    assert extract(got.page).title == "Page A"


def test_a_redirect_is_followed_and_the_page_keeps_the_asked_url(site, polite):
    with crawler(polite) as c:
        got = c.fetch(site.url("/old"))
    assert got.status == "ok" and got.page.url == site.url("/old") and got.final_url == site.url("/page/a")


def test_404_fails_with_the_status(site, polite):
    with crawler(polite) as c:
        got = c.fetch(site.url("/nowhere"))
    assert got.status == "failed" and "HTTP 404" in got.reason and not got.transient


# -- robots.txt and politeness ----------------------------------------------------

def test_robots_txt_is_obeyed_and_read_once_per_host(site, polite):
    with crawler(polite) as c:
        blocked = c.fetch(site.url("/private/secret"))
        for _ in range(3):
            assert c.fetch(site.url("/page/a")).status in ("ok", "unchanged")
    assert blocked.status == "failed" and "disallowed by robots.txt" in blocked.reason
    assert "/private/secret" not in site.paths()
    assert site.paths().count("/robots.txt") == 1


def test_an_unreadable_robots_txt_means_no_crawling(polite):
    with Site(robots=None) as s:
        s.routes["/robots.txt"] = (503, {}, b"down")
        with crawler(polite) as c:
            got = c.fetch(s.url("/page/a"))
    assert got.status == "failed" and "robots.txt could not be read" in got.reason and got.transient
    assert "/page/a" not in s.paths()


def test_a_missing_robots_txt_allows_everything(polite):
    with Site(robots=None) as s, crawler(polite) as c:
        assert c.fetch(s.url("/private/secret")).status == "ok"


def test_two_ports_of_one_host_share_the_delay(polite):
    with Site() as one, Site() as two, crawler(polite.replace(fetch_delay=0.3)) as c:
        results = dict(c.fetch_all([one.url("/page/a"), two.url("/page/b")]))
        starts = sorted(r["start"] for s in (one, two) for r in s.requests)
    assert [r.status for _, r in sorted(results.items())] == ["ok", "ok"]
    assert len(starts) == 4 and all(b - a >= 0.28 for a, b in zip(starts, starts[1:]))


def test_requests_to_one_host_keep_the_delay(site, polite):
    with crawler(polite.replace(fetch_delay=0.3)) as c:
        for path in ("/page/a", "/page/b", "/plain"):
            assert c.fetch(site.url(path)).status == "ok"
    starts = [r["start"] for r in site.requests]
    assert len(starts) == 4 and all(b - a >= 0.28 for a, b in zip(starts, starts[1:]))


def test_the_sites_crawl_delay_wins_over_a_shorter_one(polite):
    with Site(robots="User-agent: *\nCrawl-delay: 0.4\n") as s, crawler(polite) as c:
        for path in ("/page/a", "/page/b"):
            assert c.fetch(s.url(path)).status == "ok"
        starts = [r["start"] for r in s.requests if r["path"] != "/robots.txt"]
    assert starts[1] - starts[0] >= 0.38


def test_hosts_are_fetched_in_parallel_but_each_host_one_request_at_a_time(polite):
    with Site() as one, Site() as two:
        for s in (one, two):
            s.slow_seconds = 0.4
        # Politeness is per host name: the second site is reached as "localhost".
        other = two.base.replace("127.0.0.1", "localhost")
        urls = [one.url("/slow"), other + "/slow", one.url("/page/a"), other + "/page/b"]
        with crawler(polite.replace(fetch_workers=2, allow_hosts="127.0.0.1,localhost")) as c:
            results = dict(c.fetch_all(urls))
        assert sorted(results) == [0, 1, 2, 3] and all(r.status == "ok" for r in results.values())
        assert [results[i].url for i in range(4)] == urls
        spans = {name: [(r["start"], r["end"]) for r in s.requests] for name, s in (("one", one), ("two", two))}
    for own in spans.values():  # one host: never two requests at once
        ordered = sorted(own)
        assert all(a_end <= b_start + 0.01 for (_, a_end), (b_start, _) in zip(ordered, ordered[1:]))
    slow_one, slow_two = spans["one"][1], spans["two"][1]  # [0] is robots.txt
    assert slow_one[0] < slow_two[1] and slow_two[0] < slow_one[1], "the two hosts' slow pages did not overlap"


# -- timeouts, retries, backoff ----------------------------------------------------

def test_a_slow_server_times_out(site, polite):
    with crawler(polite.replace(fetch_timeout=0.3)) as c:
        got = c.fetch(site.url("/slow"))
    assert got.status == "failed" and "timed out after 0.3 s" in got.reason and got.transient


def test_5xx_is_retried_and_then_succeeds(site, polite):
    with crawler(polite) as c:
        got = c.fetch(site.url("/flaky"))
    assert got.status == "ok" and site.paths().count("/flaky") == 3


def test_retries_are_bounded_and_back_off_exponentially(site, polite):
    with crawler(polite, backoff=0.1) as c:
        got = c.fetch(site.url("/always503"))
    assert got.status == "failed" and "HTTP 503" in got.reason and "after 2 retries" in got.reason and got.transient
    starts = [r["start"] for r in site.requests if r["path"] == "/always503"]
    assert len(starts) == 3
    assert starts[1] - starts[0] >= 0.09 and starts[2] - starts[1] >= 0.19  # 0.1 s, then 0.2 s


def test_retry_after_is_honoured(site, polite):
    with crawler(polite) as c:
        got = c.fetch(site.url("/ratelimit"))
    starts = [r["start"] for r in site.requests if r["path"] == "/ratelimit"]
    assert got.status == "ok" and len(starts) == 2 and starts[1] - starts[0] >= 0.95


def test_a_retry_after_beyond_the_cap_fails_at_once(site, polite):
    with crawler(polite, max_retry_after=5) as c:
        got = c.fetch(site.url("/retry-long"))
    assert got.status == "failed" and "retry after 3600 s" in got.reason
    assert site.paths().count("/retry-long") == 1


def test_connect_errors_are_retried_then_reported(polite):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with crawler(polite) as c:
        started = time.monotonic()
        got = c.fetch(f"http://127.0.0.1:{port}/page")
    assert got.status == "failed" and "could not be read" in got.reason  # robots.txt first: the site is unreachable
    assert "ConnectError" in got.reason and time.monotonic() - started >= 0.14  # backoff 0.05 + 0.1


# -- redirects ----------------------------------------------------------------

def test_a_redirect_loop_is_detected(site, polite):
    with crawler(polite) as c:
        got = c.fetch(site.url("/loop/a"))
    assert got.status == "failed" and "redirect loop" in got.reason
    assert site.paths().count("/loop/a") == 1 and site.paths().count("/loop/b") == 1


def test_redirects_are_bounded(site, polite):
    with crawler(polite) as c:
        got = c.fetch(site.url("/hop/0"))
    assert got.status == "failed" and "more than 5 redirects" in got.reason
    assert sum(p.startswith("/hop/") for p in site.paths()) == 6


# -- conditional requests and the cache ------------------------------------------------

@pytest.mark.parametrize("path, header", [("/etag", "If-None-Match"), ("/lastmod", "If-Modified-Since")])
def test_an_unchanged_page_is_revalidated_with_a_304(site, polite, path, header):
    with crawler(polite) as c:
        first = c.fetch(site.url(path))
    with crawler(polite) as c:  # a new run: only the disk cache remembers
        second = c.fetch(site.url(path))
    asked = [r for r in site.requests if r["path"] == path]
    assert (first.status, second.status) == ("ok", "unchanged")
    assert header not in asked[0]["headers"] and header in asked[1]["headers"]
    assert second.page.body == first.page.body and second.page.date == first.page.date
    if path == "/lastmod":
        assert first.page.date == "2024-06-05T10:00:00Z"


def test_a_page_without_validators_is_unchanged_when_its_bytes_are(site, polite):
    with crawler(polite) as c:
        first = c.fetch(site.url("/plain"))
    time.sleep(1.1)  # the fetch date would move on if it were used
    with crawler(polite) as c:
        second = c.fetch(site.url("/plain"))
    assert (first.status, second.status) == ("ok", "unchanged") and second.page.date == first.page.date


def test_a_damaged_cache_entry_is_ignored(site, polite):
    with crawler(polite) as c:
        c.fetch(site.url("/etag"))
    for body in (polite.home / "cache" / "http").glob("*.body"):
        body.write_bytes(b"garbage")
    with crawler(polite) as c:
        again = c.fetch(site.url("/etag"))
    asked = [r for r in site.requests if r["path"] == "/etag"]
    assert again.status == "ok" and again.page.body == article("Tagged")
    assert "If-None-Match" not in asked[1]["headers"]


# -- size, type and encoding --------------------------------------------------------

@pytest.mark.parametrize("path, reason", [("/big", "5,000 bytes is over the 2,000-byte limit"),
                                          ("/stream-big", "body is over the 2,000-byte limit")])
def test_an_oversized_body_is_refused(site, polite, path, reason):
    with crawler(polite.replace(fetch_max_bytes=2000)) as c:
        got = c.fetch(site.url(path))
    assert got.status == "failed" and reason in got.reason and not got.transient


@pytest.mark.parametrize("path, reason", [("/pdf", "binary content, content type application/pdf refused"),
                                          ("/nul", "binary content refused")])
def test_binary_bodies_are_refused_with_a_reason(site, polite, path, reason):
    with crawler(polite) as c:
        got = c.fetch(site.url(path))
    assert got.status == "failed" and reason in got.reason


def test_mislabelled_and_unknown_encodings_still_decode(site, polite):
    with crawler(polite) as c:
        latin = c.fetch(site.url("/latin1"))
        bogus = c.fetch(site.url("/bogus-charset"))
    assert latin.status == bogus.status == "ok"
    assert "Le café est très célèbre à Paris" in extract(latin.page).text
    assert "Plain words here." in extract(bogus.page).text
