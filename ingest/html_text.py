"""Main text of an HTML page as markdown-ish text, with a guard against truncated extraction.

trafilatura does the work, but on math-heavy pages (Lilian Weng's blog) it
drops display equations and sometimes stops early: about 15k of ~44k
characters for "A (Long) Peek into Reinforcement Learning". So its result is
compared with the page's own article container (`div.post-content`,
`article`, `main`, ...); when trafilatura holds less than 95% of the
container's words, the container is converted here instead, keeping TeX
source, code and tables. (At the earlier 80% bar, pages where trafilatura
dropped every figure caption, "Fig. 3 ... (Image source: Li et al. 2022)",
kept only 89-92% of their words; `tests/test_extract_fidelity.py` holds
every HTML page of the snapshot to 95%.)

Some pages carry their content only inside a JSON payload that a script
renders in the browser: GitHub's file and repository views send the rendered
README as a `"richText"` HTML string in `<script type="application/json"
data-target="react-app.embeddedData">`, and the HTML around it is site chrome
("Skip to content", "Sign in", the tab bar). Such a rendered document is
extracted as a page of its own, since it is what the reader sees.
"""

from __future__ import annotations

import json
import logging
import re

from ingest.markup import first_heading
from ingest.markup_rules import split_front_matter

log = logging.getLogger(__name__)

MIN_SHARE = 0.95  # below this share of the container's words, trafilatura is taken as having lost text

_CONTAINERS = (
    '//*[contains(concat(" ", normalize-space(@class), " "), " post-content ")]',
    '//*[contains(concat(" ", normalize-space(@class), " "), " entry-content ")]',
    '//*[contains(concat(" ", normalize-space(@class), " "), " article-content ")]',
    '//*[contains(concat(" ", normalize-space(@class), " "), " markdown-body ")]',
    "//article", "//main", '//*[@role="main"]',
    '//div[contains(concat(" ", normalize-space(@class), " "), " content ")]',
)
_DROP = {"script", "style", "noscript", "nav", "footer", "aside", "form", "button", "svg", "iframe", "template",
         "select", "textarea", "input", "header", "head", "object", "canvas", "video", "audio", "img", "picture",
         "map", "link", "meta"}
_DROP_CLASSES = {"toc", "table-of-contents", "share-buttons", "post-nav", "paginav", "post-tags", "comments",
                 "sidebar", "breadcrumbs", "navbar", "related-posts", "post-footer"}
_BLOCKS = {"p", "div", "section", "article", "main", "blockquote", "figure", "figcaption", "details", "summary",
           "dl", "dt", "dd", "center", "address", "body", "html", "hr", "li"}
_BR = "\x01"


def html_to_text(html: str, url: str = "") -> tuple[str, str]:
    """Extract the main text and the title of an HTML page.

    Args:
        html: the decoded page.
        url: the page URL (helps trafilatura; may be empty).

    Returns:
        (text, title): text with `#` headings, fenced code and `|` table rows;
        title from the page metadata, og:title or <title> ("" if none); for
        a document taken from the page's JSON payload, its own H1 first.
    """
    import trafilatura  # heavy: only when a page is extracted
    from lxml import etree  # only when markup is parsed
    from lxml import html as lxml_html  # only when markup is parsed

    source = re.sub(r"\A\s*<\?xml[^>]*\?>", "", html)  # lxml refuses str input with an encoding declaration
    try:
        tree = lxml_html.document_fromstring(source)
    except (ValueError, etree.ParserError):  # empty or hopeless markup: trafilatura's answer stands
        tree = None
    embedded = _embedded_document(tree) if tree is not None else None
    if embedded is not None:
        log.info("%s: the content is in the page's JSON payload; extracting that document", url)
        # Rendered directly, not through trafilatura: the fragment has no
        # boilerplate to remove, and trafilatura drops its H1 as the page title.
        article = _container(embedded)
        text = _render(embedded if article is None else article)
        # The document's own H1 names it; the page title names the file and the
        # site ("README.md at main · owner/repo"), and the same README ingested
        # from its markdown source is titled by its H1 too.
        return text, first_heading(text, 1) or _page_title(tree)
    extracted = trafilatura.extract(
        html,
        url=url if url.startswith(("http://", "https://")) else None,
        output_format="markdown",
        include_tables=True,
        # In trafilatura 2.x markdown output, headings are only written as `#`
        # lines (and paragraphs only separated) when formatting is on.
        include_formatting=True,
        include_comments=False,
        favor_recall=True,
        with_metadata=True,
    ) or ""
    meta, text = split_front_matter(extracted)
    title = meta.get("title", "") or (_page_title(tree) if tree is not None else "")
    container = _container(tree) if tree is not None else None
    if container is not None:
        own = _render(container)
        ours, theirs = _words(own), _words(text)
        if theirs < MIN_SHARE * ours:
            log.info("%s: trafilatura kept %d of %d words; using the article container", url, theirs, ours)
            text = own
    return text, title


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def _page_title(tree) -> str:
    for xpath in ('//meta[@property="og:title"]/@content', "//title/text()"):
        found = [t.strip() for t in tree.xpath(xpath) if t and t.strip()]
        if found:
            return " ".join(found[0].split())
    return ""


def _embedded_document(tree):
    """The longest rendered document (a `"richText"` HTML string) in the page's JSON payloads, parsed, or None.

    Only JSON script blocks are read, and only HTML strings under that key:
    other payload strings are UI labels, file lists and raw source lines.
    """
    from lxml import etree  # only when markup is parsed
    from lxml import html as lxml_html  # only when markup is parsed

    found = []
    for script in tree.xpath('//script[@type="application/json"]'):
        try:
            stack = [json.loads(script.text or "")]
        except ValueError:
            continue
        while stack:
            item = stack.pop()
            values = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
            for key, value in values:
                if key == "richText" and isinstance(value, str) and "<" in value:
                    found.append(value)
                elif isinstance(value, (dict, list)):
                    stack.append(value)
    if not found:
        return None
    try:
        return lxml_html.document_fromstring(max(found, key=len))
    except (ValueError, etree.ParserError):
        return None


def _container(tree):
    """The innermost article container that still holds >= 90% of the biggest one's words."""
    found = []
    for xpath in _CONTAINERS:
        for node in tree.xpath(xpath):
            found.append((_words(node.text_content()), node))
    if not found:
        return None
    biggest = max(words for words, _ in found)
    if biggest == 0:
        return None
    return min((item for item in found if item[0] >= 0.9 * biggest), key=lambda item: item[0])[1]


def _render(root) -> str:
    renderer = _Renderer()
    renderer.walk(root)
    renderer.flush()
    return "\n\n".join(renderer.blocks)


class _Renderer:
    """Walks an lxml tree and writes markdown-ish blocks (headings, paragraphs, lists, code, tables)."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.inline: list[str] = []
        self.prefix = ""
        self.depth = 0

    def flush(self) -> None:
        lines = [" ".join(part.split()) for part in "".join(self.inline).split(_BR)]
        text = "\n".join(line for line in lines if line)
        self.inline = []
        if text:
            self.blocks.append(self.prefix + text)
            self.prefix = ""

    def walk(self, el) -> None:
        if not isinstance(el.tag, str):  # comments and processing instructions
            return
        tag = el.tag.lower()
        math = _math_source(el)
        if math is not None:
            self.inline.append(math)
            return
        if tag in _DROP or _dropped(el):
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.flush()
            heading = " ".join(_inline_text(el).split())
            if heading:
                self.blocks.append("#" * int(tag[1]) + " " + heading)
        elif tag == "pre":
            self.flush()
            code = el.text_content().rstrip("\n")
            lang = re.search(r"language-([\w+-]+)", " ".join(el.xpath("./@class | ./code/@class")))
            self.blocks.append(f"```{lang.group(1) if lang else ''}\n{code}\n```")
        elif tag == "table":
            self.flush()
            self._table(el)
        elif tag in ("ul", "ol"):
            self.flush()
            self.depth += 1
            for number, item in enumerate((c for c in el if isinstance(c.tag, str) and c.tag.lower() == "li"), 1):
                self.prefix = "  " * (self.depth - 1) + (f"{number}. " if tag == "ol" else "- ")
                self._children(item)
                self.flush()
            self.depth -= 1
        elif tag == "br":
            self.inline.append(_BR)
        else:
            block = tag in _BLOCKS
            if block:
                self.flush()
            self._children(el)
            if block:
                self.flush()

    def _children(self, el) -> None:
        if el.text:
            self.inline.append(el.text)
        for child in el:
            self.walk(child)
            if child.tail:
                self.inline.append(child.tail)

    def _table(self, table) -> None:
        rows = []
        for tr in table.iter("tr"):
            cells = [" ".join(_inline_text(c).split()) for c in tr if isinstance(c.tag, str) and c.tag.lower() in ("td", "th")]
            if any(cells):
                rows.append("| " + " | ".join(cells) + " |")
                if len(rows) == 1 and tr.find("th") is not None:
                    rows.append("|" + " --- |" * len(cells))
        if rows:
            self.blocks.append("\n".join(rows))


def _inline_text(el) -> str:
    sub = _Renderer()
    sub._children(el)
    sub.flush()
    return " ".join(sub.blocks)


def _dropped(el) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    classes = set((el.get("class") or "").split())
    return bool(classes & _DROP_CLASSES) or el.get("id") in ("TableOfContents", "toc")


def _math_source(el) -> str | None:
    """TeX source of a MathJax script or a KaTeX/MathML node, as $...$ / $$...$$, else None."""
    tag = el.tag.lower()
    kind = (el.get("type") or "").lower()
    if tag == "script" and kind.startswith("math/tex"):
        tex = (el.text or "").strip()
        return f"$${tex}$$" if "display" in kind else f"${tex}$"
    classes = set((el.get("class") or "").split())
    if tag == "math" or classes & {"katex", "katex-display"}:
        found = el.xpath('.//annotation[@encoding="application/x-tex"]/text()')
        if found:
            tex = found[0].strip()
            return f"$${tex}$$" if "katex-display" in classes or el.get("display") == "block" else f"${tex}$"
    return None
