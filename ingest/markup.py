"""Turn markdown (incl. MDX, Quarto, Jekyll/Hugo), reStructuredText and plain text into clean text.

The output keeps what the chunker and the reader need (`#` headings, lists,
paragraphs, fenced code, TeX) and drops what only a site builder needs
(front matter, Liquid/Hugo tags, MDX imports and components, HTML tags, link
targets). Words are never rewritten: only markup is removed. Code fences and
math are masked while the markup rules run, so `{{ x }}` inside a Jinja
example or `a<b` inside TeX survive.
"""

from __future__ import annotations

import html
import re

from ingest.markup_rules import (
    ADMONITION,
    BLOCK_END,
    CITE_ROLES,
    FENCE_OPEN,
    HTML_HEADING,
    IMAGE,
    LINK,
    MASK,
    PANDOC_ATTRS,
    REF_DEFINITION,
    REF_LINK,
    ROLE,
    SHORTCODE,
    TAG,
    drop_mdx_module_lines,
    image_alt,
    liquid,
    promote_cjk_headings,
    split_front_matter,
    trim_site_chrome,
)

__all__ = ["markdown_to_text", "rst_to_text", "plain_to_text", "normalise", "first_heading", "split_front_matter"]

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)


def normalise(text: str) -> str:
    """Unify newlines, strip trailing spaces and collapse runs of blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = re.sub(r"[ \t\u3000]+$", "", text, flags=re.M)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def first_heading(text: str, level: int = 6) -> str:
    """The text of the first heading of at most `level` `#`s outside code, or ""."""
    for is_code, segment in _segments(text):
        if not is_code:
            for m in _ATX.finditer(segment):
                if len(m.group(1)) <= level:
                    return m.group(2).strip()
    return ""


def markdown_to_text(text: str) -> tuple[str, str]:
    """Clean markdown/MDX/Quarto source; return (text, title from front matter or MDX metadata)."""
    meta, body = split_front_matter(normalise(text))
    title = meta.get("title", "")
    out = []
    for is_code, segment in _segments(body):
        if is_code:
            out.append(_keep_fence(segment))
        else:
            segment, export_title = drop_mdx_module_lines(segment)
            title = title or export_title
            if title:  # MDX pages often render their exported title as {metadata.title}
                segment = re.sub(r"\{\s*metadata\.title\s*\}", lambda _: title, segment)
            out.append(_clean_markdown_segment(segment))
    return normalise("".join(out)), title


def rst_to_text(text: str) -> str:
    """Convert reStructuredText to markdown-ish text (headings, code, plain inline text)."""
    lines = normalise(text).split("\n")
    out: list[str] = []
    styles: list[tuple[str, bool]] = []

    def level(style: tuple[str, bool]) -> int:
        if style not in styles:
            styles.append(style)
        return min(styles.index(style) + 1, 6)

    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < n else ""
        if _is_adornment(line) and i + 2 < n and nxt.strip() and lines[i + 2].startswith(line[0]) and _is_adornment(lines[i + 2]):
            out.append("#" * level((line[0], True)) + " " + nxt.strip())
            i += 3
            continue
        if line.strip() and not line[0].isspace() and _is_adornment(nxt) and len(nxt.rstrip()) >= len(line.rstrip()) and not _is_adornment(line):
            out.append("#" * level((nxt[0], False)) + " " + line.strip())
            i += 2
            continue
        m = re.match(r"^(\s*)\.\.(?:\s+([\w:-]+)::(.*))?(?:\s.*)?$", line)
        if m:
            i = _rst_directive(lines, i, m, out)
            continue
        if line.rstrip().endswith("::"):
            stripped = line.rstrip()[:-2].rstrip()
            out.append(stripped + (":" if stripped and not stripped.endswith(":") else ""))
            i = _rst_literal(lines, i + 1, out)
            continue
        out.append(line)
        i += 1
    return normalise("".join(seg if is_code else _rst_inline(seg) for is_code, seg in _segments("\n".join(out))))


def _rst_inline(text: str) -> str:
    text = re.sub(r"`([^`<]+?)\s*<[^>`]+>`__?", r"\1", text)  # `text <url>`_
    text = re.sub(r"`([^`]+)`__?", r"\1", text)  # `text`_
    text = ROLE.sub(_role_text, text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def plain_to_text(text: str, *, zh: bool = False) -> str:
    """Keep plain text as it is, minus link targets and site chrome; promote obvious CJK headings."""
    text = trim_site_chrome(normalise(text))
    if len(LINK.findall(text)) >= 2:  # markdown pasted as plain text (the translated handbook)
        text = IMAGE.sub(lambda m: image_alt(m.group(1)), text)
        text = LINK.sub(r"\1", text)
    if zh and not _ATX.search(text):
        text = promote_cjk_headings(text)
    return normalise(text)


# -- markdown ---------------------------------------------------------------

def _segments(text: str) -> list[tuple[bool, str]]:
    """Split text into (is_code, segment) runs; fences keep their own lines."""
    parts: list[tuple[bool, str]] = []
    buf: list[str] = []
    fence = None
    for line in text.split("\n"):
        if fence is None:
            m = FENCE_OPEN.match(line)
            if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
                if buf:
                    parts.append((False, "\n".join(buf) + "\n"))
                buf, fence = [line], m.group(2)
            else:
                buf.append(line)
        else:
            buf.append(line)
            s = line.strip()
            if s and set(s) == {fence[0]} and len(s) >= len(fence):
                parts.append((True, "\n".join(buf) + "\n"))
                buf, fence = [], None
    if buf:
        parts.append((fence is not None, "\n".join(buf) + "\n"))
    return parts


_BUILD_FENCES = re.compile(r"^\s*(`{3,}|~{3,})\s*(toc|eval_rst)\s*$")
# d2l.ai writes every code cell four times (one per framework); keep PyTorch only.
_OTHER_TABS = re.compile(r"\A.*\n\s*(%%tab\s+(mxnet|tensorflow|jax)\b|%load_ext d2lbook\.tab)")


def _keep_fence(segment: str) -> str:
    if _BUILD_FENCES.match(segment.split("\n", 1)[0]) or _OTHER_TABS.match(segment):
        return "\n"
    return segment


def _clean_markdown_segment(text: str) -> str:
    text = re.sub(r"^[ \t]*:(label|eqlabel):`[^`]*`[ \t]*$", "", text, flags=re.M)
    text = re.sub(r"[ \t]*:(?:%s):`[^`\n]*`" % "|".join(CITE_ROLES), "", text)
    text = ROLE.sub(_role_text, text)
    masked: list[str] = []

    def mask(m: re.Match) -> str:
        masked.append(m.group(0))
        return f"\x00{len(masked) - 1}\x00"

    text = MASK.sub(mask, text)
    text = re.sub(r"<!--.*?-->|\{/\*.*?\*/\}", "", text, flags=re.S)
    text = re.sub(r"<(script|style|svg|Todo)\b.*?</\1\s*>", "", text, flags=re.S | re.I)
    text = re.sub(r"\s*<d-cite\b[^<>]*?(?:/>|>\s*</d-cite>)", "", text)  # citation markers, no text
    text = re.sub(r"</?d-footnote\b[^<>]*>", " ", text)
    text = re.sub(r"^>[ \t]*\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*$", ">", text, flags=re.M)
    text = SHORTCODE.sub(liquid, text)
    text = HTML_HEADING.sub(_html_heading, text)
    text = ADMONITION.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = re.sub(r"^[ \t]*:::.*$", "", text, flags=re.M)  # Quarto/pandoc fenced divs
    text = PANDOC_ATTRS.sub(r"\1", text)
    text = IMAGE.sub(lambda m: image_alt(m.group(1)), text)
    text = LINK.sub(r"\1", text)
    text = REF_LINK.sub(r"\1", text)
    text = REF_DEFINITION.sub("", text)
    text = re.sub(r"<(https?://[^>\s]+)>", r"\1", text)
    text = re.sub(r"\{\s*\w+\(\s*[\"']([^\"']+)[\"'][^{}]*\)\s*\}", r"\1", text)  # MDX {mref("X", 1)}
    text = re.sub(r"\{[A-Za-z_]\w*(?:\.\w+)+\}|\{[A-Za-z_][\w.]*\([^{}()]*\)\}", "", text)  # other MDX expressions
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.I)
    text = BLOCK_END.sub("\n", text)
    text = re.sub(r"</t[dh]\s*>", " ", text, flags=re.I)
    for _ in range(3):  # nested JSX (a tag inside an attribute) needs a second pass
        text, count = TAG.subn("", text)
        if not count:
            break
    text = html.unescape(text)
    text = _setext_to_atx(text)
    return re.sub(r"\x00(\d+)\x00", lambda m: masked[int(m.group(1))], text)


def _html_heading(m: re.Match) -> str:
    inner = " ".join(TAG.sub("", m.group(3)).split())
    return f"\n\n{'#' * int(m.group(1))} {inner}\n\n" if inner else "\n"


def _setext_to_atx(text: str) -> str:
    lines = text.split("\n")
    for i in range(1, len(lines)):
        under, title = lines[i].strip(), lines[i - 1].strip()
        if not title or not under or set(under) not in ({"="}, {"-"}) or len(under) < 2:
            continue
        if title.startswith(("#", "-", "*", "+", "|", ">")) or re.match(r"\d+[.)]\s", title):
            continue
        if i >= 2 and lines[i - 2].strip() and not lines[i - 2].lstrip().startswith("#"):
            continue  # the underline ends a multi-line paragraph: treat as a rule, not a heading
        lines[i - 1] = ("# " if under[0] == "=" else "## ") + title
        lines[i] = ""
    return "\n".join(lines)


def _role_text(m: re.Match) -> str:
    role, body = m.group(1), m.group(2)
    if role in CITE_ROLES:
        return ""
    label = re.match(r"^(.*?)\s*<[^<>]+>$", body)
    return (label.group(1) if label else body).lstrip("~!")


# -- reStructuredText -------------------------------------------------------

_RST_DROP = {"raw", "toctree", "image", "include", "only", "meta", "contents", "index", "highlight", "autosummary",
             "automodule", "autoclass", "autofunction", "literalinclude", "tabularcolumns", "sectnum", "role", "default-role"}
_RST_CODE = {"code-block", "code", "sourcecode", "ipython", "doctest"}


def _is_adornment(line: str) -> bool:
    s = line.rstrip()
    return len(s) >= 3 and s[0] in "=-~^\"'`#*+_:.<>" and set(s) == {s[0]}


def _indented_block(lines: list[str], start: int, indent: int) -> int:
    """Index just past the block of blank or more-indented lines starting at `start`."""
    j = start
    while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
        j += 1
    while j > start and not lines[j - 1].strip():
        j -= 1
    return j


def _rst_directive(lines: list[str], i: int, m: re.Match, out: list[str]) -> int:
    indent, name, arg = len(m.group(1)), (m.group(2) or "").lower(), (m.group(3) or "").strip()
    end = _indented_block(lines, i + 1, indent)
    body = lines[i + 1:end]
    while body and re.match(r"^\s*:[\w-]+:", body[0]):  # directive options
        body.pop(0)
    if not name or name in _RST_DROP:  # comments, link targets, dropped directives
        return end
    content = _dedent(body)
    if name in _RST_CODE:
        out.extend([f"```{arg}", *content, "```"])
    else:
        if arg and name not in ("figure",):
            out.append(arg)
        out.extend(content)
    return end


def _rst_literal(lines: list[str], start: int, out: list[str]) -> int:
    j = start
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j >= len(lines) or not lines[j][:1].isspace():
        return start
    end = _indented_block(lines, j, 0)
    out.extend(["", "```", *_dedent(lines[j:end]), "```"])
    return end


def _dedent(block: list[str]) -> list[str]:
    while block and not block[0].strip():
        block = block[1:]
    widths = [len(x) - len(x.lstrip()) for x in block if x.strip()]
    cut = min(widths) if widths else 0
    return [x[cut:] for x in block]
