"""The SSRF guard and sitemap reading, partly against the local test server."""

from __future__ import annotations

import gzip
import socket

import pytest

from ingest.crawl import Crawler
from ingest.guard import HostGuard
from ingest.sitemap import parse_sitemap, sitemap_urls
from tests.test_crawl import site  # noqa: F401  (the local test server, shared)
from core.errors import UnsafeUrl


@pytest.fixture
def polite(settings):
    return settings.replace(allow_hosts="127.0.0.1", fetch_delay=0.0, fetch_timeout=1.0, fetch_retries=2)


def crawler(settings) -> Crawler:
    return Crawler(settings, backoff=0.05)


# -- SSRF guard ---------------------------------------------------------------------

def test_a_loopback_host_is_refused_unless_allowed(site, settings):
    with crawler(settings) as c:
        got = c.fetch(site.url("/page/a"))
    assert got.status == "failed" and "loopback" in got.reason and "TUTOR_ALLOW_HOSTS" in got.reason
    assert site.requests == []  # refused before any connection, robots.txt included


def test_every_redirect_hop_is_checked(site, polite):
    with crawler(polite) as c:
        got = c.fetch(site.url("/to-metadata"))
    assert got.status == "failed" and "169.254.169.254" in got.reason and "link-local" in got.reason


def fake_resolver(table):
    def resolve(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]
    return resolve


@pytest.mark.parametrize("url, allow, refused", [
    ("http://intranet.example/", "", "private"),
    ("http://intranet.example/", "intranet.example", None),
    ("http://intranet.example/", "10.0.0.0/8", None),
    ("http://public.example/", "", None),
    ("http://[::ffff:127.0.0.1]/", "", "loopback"),
    ("http://0.0.0.0/", "", "unspecified"),
    ("http://224.0.0.251/", "", "multicast"),
    ("http://100.64.1.1/", "", "non-public"),
    ("file:///etc/passwd", "", "only http:// and https://"),
    ("gopher://public.example/", "", "only http:// and https://"),
])
def test_the_guard_refuses_non_public_addresses(url, allow, refused):
    guard = HostGuard(allow, resolve=fake_resolver({"intranet.example": "10.1.2.3", "public.example": "93.184.215.14"}))
    if refused is None:
        guard.check(url)
    else:
        with pytest.raises(UnsafeUrl, match=refused):
            guard.check(url)


def test_the_guard_checks_the_address_actually_connected_to():
    guard = HostGuard("", resolve=fake_resolver({"rebind.example": "93.184.215.14"}))
    guard.check("http://rebind.example/")  # resolves public now...
    with pytest.raises(UnsafeUrl, match="loopback"):
        guard.check_peer("http://rebind.example/", "127.0.0.1")  # ...but the connection reached loopback


# -- sitemaps ------------------------------------------------------------------------

def test_a_sitemap_index_is_followed_to_same_host_pages(site, polite):
    index = f"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>{site.url('/sitemap-pages.xml.gz')}</loc></sitemap></sitemapindex>"""
    pages = f"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>{site.url('/page/a')}</loc></url><url><loc> {site.url('/page/b')} </loc></url>
      <url><loc>http://elsewhere.example/x</loc></url><url><loc>{site.url('/page/a')}</loc></url></urlset>"""
    site.routes["/sitemap.xml"] = (200, {"Content-Type": "application/xml"}, index.encode())
    site.routes["/sitemap-pages.xml.gz"] = (200, {"Content-Type": "application/gzip"}, gzip.compress(pages.encode()))
    with crawler(polite) as c:
        urls, problems = sitemap_urls(site.url("/sitemap.xml"), c)
        capped, capped_problems = sitemap_urls(site.url("/sitemap.xml"), c, limit=1)
    assert urls == [site.url("/page/a"), site.url("/page/b")]
    assert len(problems) == 1 and "other hosts" in problems[0]
    assert capped == [site.url("/page/a")] and any("first 1 were kept" in p for p in capped_problems)


def test_a_sitemap_that_fails_or_is_not_a_sitemap_says_why(site, polite):
    with crawler(polite) as c:
        urls, problems = sitemap_urls(site.url("/missing-sitemap.xml"), c)
    assert urls == [] and "HTTP 404" in problems[0]
    with pytest.raises(ValueError, match="root element is <html>"):
        parse_sitemap(b"<?xml version='1.0'?><html><body/></html>")
    assert parse_sitemap(b"https://a.example/1\n\nnot a url\nhttps://a.example/2\n") == (
        "urlset", ["https://a.example/1", "https://a.example/2"])


def test_sitemap_entities_are_not_expanded():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "https://x.example/aaaaaaaaaa">]>'
            b'<urlset><url><loc>&a;</loc></url></urlset>')
    kind, locs = parse_sitemap(bomb)
    assert kind == "urlset" and all("aaaaaaaaaa" not in loc for loc in locs)
