"""Page URLs from a sitemap (sitemaps.org): a `<urlset>`, a `<sitemapindex>`, gzipped or not, or a plain list.

Everything is bounded, because a sitemap is someone else's file: at most
`max_sitemaps` sitemap files are read (an index pointing at indexes is
followed breadth-first), at most `limit` page URLs are kept, a gzipped
sitemap may inflate to 50 MB (the protocol's limit), and only URLs on the
sitemap's own host are taken, as the protocol requires. The XML parser
resolves no entities and loads no DTD or network resource.
"""

from __future__ import annotations

import logging
import zlib
from urllib.parse import urlsplit

from ingest.crawl import SITEMAP_TYPES, Crawler

log = logging.getLogger(__name__)

MAX_URLS = 1000
MAX_SITEMAPS = 20
MAX_INFLATED = 50_000_000


def sitemap_urls(url: str, crawler: Crawler, limit: int = MAX_URLS,
                 max_sitemaps: int = MAX_SITEMAPS) -> tuple[list[str], list[str]]:
    """Collect the page URLs a sitemap lists.

    Args:
        url: the sitemap (or sitemap index) URL.
        crawler: fetches the sitemap files (robots.txt, SSRF guard and limits apply).
        limit: the most page URLs returned.
        max_sitemaps: the most sitemap files read, the first included.

    Returns:
        (page URLs in sitemap order without repeats, problems met on the way),
        each problem one line naming the sitemap file. No URL and a problem
        means the sitemap itself could not be read.
    """
    todo, seen, urls, problems = [url], set(), [], []
    host = (urlsplit(url).hostname or "").lower()
    foreign = 0
    while todo and len(urls) < limit:
        current = todo.pop(0)
        if current in seen:
            continue
        if len(seen) >= max_sitemaps:
            problems.append(f"{url}: stopped after {max_sitemaps} sitemap files; {len(todo) + 1} not read")
            break
        seen.add(current)
        got = crawler.fetch(current, accept=SITEMAP_TYPES)
        if got.status == "failed":
            problems.append(f"{current}: {got.reason}")
            continue
        try:
            kind, locs = parse_sitemap(got.page.body)
        except ValueError as e:
            problems.append(f"{current}: {e}")
            continue
        for loc in locs:
            if (urlsplit(loc).hostname or "").lower() != host:
                foreign += 1
            elif kind == "index":
                todo.append(loc)
            elif loc not in urls:
                urls.append(loc)
    if foreign:
        problems.append(f"{url}: {foreign} URLs on other hosts were left out (a sitemap may only list its own host)")
    if len(urls) > limit:
        problems.append(f"{url}: lists more than {limit} pages; the first {limit} were kept")
    return urls[:limit], problems


def parse_sitemap(body: bytes) -> tuple[str, list[str]]:
    """Return ("index" | "urlset", the <loc> URLs) of a sitemap file; a plain list counts as a urlset.

    Raises:
        ValueError: the body is neither a sitemap nor a list of URLs.
    """
    from lxml import etree  # only when markup is parsed

    if body[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, MAX_INFLATED)
        except zlib.error as e:
            raise ValueError(f"the gzipped sitemap is corrupt ({e})") from None
        if inflater.unconsumed_tail:
            raise ValueError(f"the sitemap inflates to more than {MAX_INFLATED:,} bytes")
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        lines = [line.strip() for line in stripped.decode("utf-8", errors="replace").splitlines()]
        found = [line for line in lines if line.startswith(("http://", "https://"))]
        if not found:
            raise ValueError("not a sitemap: neither XML nor a list of http(s) URLs")
        return "urlset", found
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(stripped, parser=parser)
    except etree.XMLSyntaxError as e:
        raise ValueError(f"not valid XML ({e})") from None
    if root is None:
        raise ValueError("not valid XML")
    kind = etree.QName(root).localname
    if kind not in ("urlset", "sitemapindex"):
        raise ValueError(f"not a sitemap: the root element is <{kind}>, expected <urlset> or <sitemapindex>")
    locs = [(el.text or "").strip() for el in root.iter("{*}loc")]
    return ("index" if kind == "sitemapindex" else "urlset"), [loc for loc in locs if loc]
