"""The curated source list: every page the handbook links to, and where it sits in the handbook.

The list is data (`ingest/sources.jsonl`, one JSON object per unique URL),
derived from the snapshot's manifest and kept in the repository:

    python -m ingest.sources --from-manifest /work/shared/corpus/manifest.jsonl

`placement(url)` tells the ingester which handbook part and section a page
belongs to; it matches both the linked URL and the URI the snapshot stored
the page under, and ignores a trailing slash.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import SourceError

log = logging.getLogger(__name__)

SOURCES_PATH = Path(__file__).with_name("sources.jsonl")
BOOK_PART = "生成式人工智能手册"  # the book-level heading of the Chinese translation: less specific than a part
SEED_PART = "中文学习笔记"  # Chinese study notes: the seed documents themselves

# Link texts that say nothing about the page ("blog post", "here", ...).
GENERIC_TITLES = {"博客文章", "博客", "技术博客", "文章", "视频", "论文", "演讲", "这里", "指南", "文档", "笔记",
                  "课程笔记", "链接", "原文链接", "完整学习资料链接", "here", "link", "this", "post", "blog post", "video", "paper", "article"}
# Where every manifest title is a bare URL or page chrome (a search-keyword banner, "original link").
TITLE_OVERRIDES = {
    "https://genai-handbook.github.io/": "The Generative AI Handbook: A Roadmap for Learning Resources",
    "seed:003_40a3c402c77a9ce9.txt": "14天速成LLM高手!大佬开源学习笔记,GitHub狂揽700星",
    "http://mp.weixin.qq.com/s?__biz=Mzg5NTc4ODkzOA==&mid=2247491335&idx=1&sn=72a9dee91447d6a0bb99868794b34122"
    "&chksm=c00bade2f77c24f4a6fa4cf8b7da36e4b3e4a10b7a65dbf015f64bacce40267ab57263004f58#rd":
        "一个月从小白到AI专家：《生成式AI手册》，一本全面的人工智能学习路线图",
}


@dataclass(frozen=True)
class Source:
    """One curated link: its title, kind, handbook place and snapshot URI (None if not captured)."""

    url: str
    title: str
    kind: str
    part: str = ""
    section: str = ""
    warc_uri: str | None = None


def load_sources(path: str | Path | None = None) -> list[Source]:
    """Read the curated source list.

    Args:
        path: a sources JSONL file; defaults to `ingest/sources.jsonl`.

    Raises:
        SourceError: the file is missing or a line is not a valid source.
    """
    path = Path(path) if path else SOURCES_PATH
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SourceError(f"source list {path} is missing; regenerate it with "
                          "`python -m ingest.sources --from-manifest PATH/manifest.jsonl`") from None
    sources = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            sources.append(Source(**json.loads(line)))
        except (ValueError, TypeError) as e:
            raise SourceError(f"{path}:{number} is not a valid source line ({e}); regenerate the file") from None
    return sources


def find_source(url: str) -> Source | None:
    """The best curated source for a URL, or None.

    Matches are tried in tiers: the exact `url`, then `url` ignoring a
    trailing slash, then `warc_uri` (exact, then ignoring the slash); within
    the first tier that matches, a specific part beats the book-level one.
    """
    by_url, by_warc = _lookup()
    url = url.strip()
    for index in (by_url, by_warc):
        candidates = index.get(_key(url), [])
        exact = [s for s in candidates if (s.url if index is by_url else s.warc_uri) == url]
        for tier in (exact, candidates):
            if tier:
                return _best(tier)
    return None


def placement(url: str) -> tuple[str, str]:
    """Return (part, section) of the handbook for a page URL, ("", "") if unknown.

    Both the linked URL and the snapshot's record URI match, with or without
    a trailing slash. When several sources match, the first with a specific
    part wins over the book-level one.
    """
    source = find_source(url)
    return (source.part, source.section) if source else ("", "")


def _key(url: str) -> str:
    return url.strip().rstrip("/")


def _best(candidates: list[Source]) -> Source | None:
    specific = [s for s in candidates if s.part and s.part != BOOK_PART]
    placed = [s for s in candidates if s.part]
    return (specific or placed or candidates or [None])[0]


@lru_cache(maxsize=1)
def _lookup() -> tuple[dict[str, list[Source]], dict[str, list[Source]]]:
    try:
        sources = load_sources()
    except SourceError as e:
        log.warning("%s; pages get no handbook placement", e)
        sources = []
    by_url: dict[str, list[Source]] = {}
    by_warc: dict[str, list[Source]] = {}
    for s in sources:
        by_url.setdefault(_key(s.url), []).append(s)
        if s.warc_uri:
            by_warc.setdefault(_key(s.warc_uri), []).append(s)
    return by_url, by_warc


# -- generating the list from the snapshot manifest -------------------------

def sources_from_manifest(rows: list[dict]) -> list[Source]:
    """One Source per unique manifest URL, in order of first appearance."""
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["url"], []).append(row)
    return [_merge(url, group) for url, group in grouped.items()]


def _merge(url: str, rows: list[dict]) -> Source:
    titles = [_clean(r.get("title")) for r in rows if _clean(r.get("title"))]
    specific = [t for t in titles if not _is_generic(t)]
    placed = [r for r in rows if r.get("handbook_part")]
    chosen = next((r for r in placed if r["handbook_part"] != BOOK_PART), placed[0] if placed else None)
    part = chosen["handbook_part"] if chosen else ""
    section = (chosen.get("handbook_section") or "") if chosen else ""
    warc_uri = next((r["warc_target_uri"] for r in rows if r.get("warc_target_uri")), None)
    seed = url.startswith("seed:") or any(r.get("in_warc") and (r.get("content_type") or "").startswith("text/plain") for r in rows)
    if seed and not part:
        part = SEED_PART
    return Source(
        url=url,
        title=TITLE_OVERRIDES.get(url) or (specific or titles or [url])[0],
        kind=rows[0].get("kind") or "other",
        part=part,
        section=section,
        warc_uri=warc_uri,
    )


def _clean(title: str | None) -> str:
    title = " ".join((title or "").split()).strip("*_ ")
    if len(title) > 2 and title[0] == "“" and title[-1] == "”" and "“" not in title[1:-1]:
        title = title[1:-1]
    return title


def _is_generic(title: str) -> bool:
    return title.casefold() in GENERIC_TITLES or bool(re.fullmatch(r"[\w.-]+\.[a-z]{2,}/?[\w./-]*", title))


def write_sources(sources: list[Source], path: str | Path = SOURCES_PATH) -> None:
    """Write sources as JSONL (UTF-8, one object per line), replacing `path` atomically."""
    path = Path(path)
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(asdict(s), ensure_ascii=False) + "\n" for s in sources), encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """`python -m ingest.sources --from-manifest PATH [--out PATH]`; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m ingest.sources", description=__doc__.split("\n")[0])
    parser.add_argument("--from-manifest", required=True, metavar="PATH", help="the snapshot's manifest.jsonl")
    parser.add_argument("--out", default=str(SOURCES_PATH), help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        with open(args.from_manifest, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        log.error("cannot read manifest %s: %s", args.from_manifest, e)
        return 1
    sources = sources_from_manifest(rows)
    write_sources(sources, args.out)
    captured = sum(1 for s in sources if s.warc_uri)
    log.info("wrote %d sources (%d captured in the snapshot) to %s", len(sources), captured, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
