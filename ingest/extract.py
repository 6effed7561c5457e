"""Turn a `Page` (raw bytes + content type) into a `Document` of clean text.

HTML goes through trafilatura with a truncation guard (`ingest.html_text`);
markdown/MDX/Quarto, reStructuredText and plain text through the cleaners in
`ingest.markup`. Every kind comes out the same way: markdown `#` headings,
paragraphs, lists, fenced code and TeX, with whitespace normalised but the
words untouched. Anything that is not text, or too short to be worth
indexing, raises `SourceError` so the caller can skip and report it.
"""

from __future__ import annotations

import codecs
import logging
import re

from core.errors import SourceError
from core.language import HAN_CHAR
from core.types import Document, Page
from ingest import markup
from ingest.html_text import html_to_text
from ingest.markup_rules import trim_site_chrome

log = logging.getLogger(__name__)

MIN_CHARS = 120  # shorter extractions say nothing a learner could read (a bare title, an include); a day note
# with its title and one reading (~135 characters, its notes are images) is what its reader sees, and is kept
ZH_SHARE = 0.2  # share of CJK ideographs among letters above which a document is "zh"

KINDS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/mdx": "markdown",
    "text/x-rst": "rst",
    "text/prs.fallenstein.rst": "rst",
    "text/plain": "plain",
}

_LETTER = re.compile(r"[^\W\d_]")


def extract(page: Page, *, part: str = "", section: str = "", title: str = "") -> Document:
    """Extract the readable text of a page.

    Args:
        page: the fetched or archived page.
        part: the handbook part this source belongs to (copied to the Document).
        section: the handbook section (copied to the Document).
        title: a title to use when the page has none of its own (for plain
            text it is preferred over guessing from the first line).

    Returns:
        A Document with markdown-ish `text`, the base MIME type as
        `content_type`, `lang` "zh" or "en" and the page's date.

    Raises:
        SourceError: an unsupported or binary content type, an undecodable
            body, or fewer than `MIN_CHARS` characters of text after
            extraction. The message starts with the URL.
    """
    mime, charset = _parse_content_type(page.content_type)
    kind = KINDS.get(mime)
    if kind is None:
        raise SourceError(f"{page.url}: unsupported content type {mime or '(none)'}; only HTML, markdown, rst and plain text are extracted")
    raw = _decode(page.body, charset, page.url, sniff_meta=kind == "html")
    # Title order: the page's own (metadata, front matter, first H1), then the
    # caller's, then the URL. A lower heading is not used: on pages without an
    # H1 it is a section name ("TL;DR"), which would mislabel the citation.
    # Plain text has no markup for a title, so the caller's comes first there.
    if kind in ("html", "markdown", "rst"):
        if kind == "html":
            text, found = html_to_text(raw, page.url)
        else:
            text, found = markup.markdown_to_text(raw) if kind == "markdown" else (markup.rst_to_text(raw), "")
        candidates = [found, markup.first_heading(text, 1), title]
    else:
        first_line = _first_short_line(raw)
        text = markup.plain_to_text(raw, zh=_is_zh(raw))
        candidates = [title, first_line, markup.first_heading(text)]
    text = markup.normalise(text)
    size = len(text.strip())
    if size < MIN_CHARS:
        raise SourceError(f"{page.url}: only {size} characters of text after extraction (minimum {MIN_CHARS}); nothing worth indexing")
    return Document(
        url=page.url,
        title=next((t for t in map(_clean_title, candidates) if t), page.url),
        text=text,
        content_type=mime,
        lang="zh" if _is_zh(text) else "en",
        date=page.date,
        part=part,
        section=section,
    )


def _parse_content_type(value: str) -> tuple[str, str]:
    mime, _, params = (value or "").partition(";")
    charset = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", params, re.I)
    return mime.strip().lower(), (charset.group(1).lower() if charset else "")


def _decode(body: bytes, charset: str, url: str, *, sniff_meta: bool = False) -> str:
    """Decode with the declared charset, else a <meta> charset (HTML), else UTF-8; refuse binary."""
    if sniff_meta and not charset:
        meta = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", body[:4096], re.I)
        charset = meta.group(1).decode("ascii", "replace").lower() if meta else ""
    wide = charset.startswith(("utf-16", "utf-32"))
    if not wide and b"\x00" in body[:8192]:
        raise SourceError(f"{url}: the body is binary (NUL bytes), not text")
    tried = []
    for encoding in (charset, "utf-8"):
        if not encoding or encoding in tried:
            continue
        tried.append(encoding)
        try:
            codecs.lookup(encoding)
            return body.decode("utf-8-sig" if encoding in ("utf-8", "utf8") else encoding)
        except LookupError:
            log.warning("%s: unknown charset %r, trying UTF-8", url, encoding)
        except UnicodeDecodeError:
            continue
    # A mislabelled legacy encoding (latin-1 served as UTF-8, GBK without a
    # label): let charset_normalizer (a trafilatura dependency) guess it.
    guessed = _guess_encoding(body)
    if guessed:
        log.warning("%s: not %s; decoded as %s (guessed)", url, " or ".join(tried), guessed[0])
        return guessed[1]
    # Last resort: a few bad bytes are tolerable; mostly-garbage is not text.
    text = body.decode("utf-8", errors="replace")
    if text.count("\ufffd") > max(10, len(text) // 100):
        raise SourceError(f"{url}: the body cannot be decoded as {' or '.join(tried)}")
    log.warning("%s: replaced %d undecodable bytes", url, text.count("\ufffd"))
    return text


def _guess_encoding(body: bytes) -> tuple[str, str] | None:
    """(encoding, text) if charset_normalizer finds an encoding that decodes `body` cleanly, else None."""
    try:
        from charset_normalizer import from_bytes  # only for a page that declares no charset
    except ImportError:
        return None
    matches = list(from_bytes(body[:200_000]))  # a prefix is enough to tell, and keeps big pages fast
    if not matches:
        return None
    best = matches[0]
    encoding = best.encoding
    # Western text often fits several single-byte code pages equally well;
    # windows-1252 is what browsers assume for a mislabelled page (WHATWG),
    # and picking cp1250 instead turns "très" into "trčs".
    ties = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence - 0.01]
    if any("cp1252" in m.could_be_from_charset for m in ties):
        encoding = "cp1252"
    try:
        return encoding, body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _is_zh(text: str) -> bool:
    letters = len(_LETTER.findall(text))
    return bool(letters) and len(HAN_CHAR.findall(text)) > ZH_SHARE * letters


def _first_short_line(text: str) -> str:
    """The first non-blank line if it is short enough to be a title (after site chrome is cut)."""
    for line in trim_site_chrome(text.lstrip("\ufeff")).split("\n")[:8]:
        line = line.strip()
        if line:
            return line if len(line) <= 100 else ""
    return ""


def _clean_title(title: str) -> str:
    title = re.sub(r"^#+\s*|\s*#+$", "", title or "")
    title = re.sub(r"(?<!\w)[*_]+|[*_]+(?!\w)|`", "", title)
    title = " ".join(title.split())[:300]
    return title if re.search(r"\w", title) else ""
