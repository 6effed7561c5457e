"""Turn tutor records into safe markdown for the chat and the sources panel.

Everything here is pure. The chat renders HTML inside markdown, so every
piece of text that comes from a source page or from the model is HTML-escaped
before any markup is added: a page or an answer containing `<script>` shows
up as text and never runs. Text that is data (titles, quotes, snippets) is
also markdown-escaped so it shows verbatim; the answer text keeps its
markdown (bold, lists) because the model writes it for display.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from typing import Iterable, Mapping

from core.markers import MARKER, marker_numbers
from core.types import Answer, Citation, Hit
from tutor.citations.fragment import fragment_link, strip_markup
from tutor.teach.outline import english_place
from ui.exchange import Exchange

SNIPPET_CHARS = 200
TOOLTIP_CHARS = 300
UNVERIFIED = "⚠ not verified"

# Characters that would start markdown (emphasis, links, code, tables, math) mid-line.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}!|~$#])")


def answer_to_markdown(answer: Answer) -> str:
    """Render a final answer: linked `[n]` markers, then a "Sources" list.

    Each marker that has a citation becomes a link to the cited page (opening
    in a new tab, scrolled to the quote by a text fragment) whose hover text is
    the quote. Citations the verifier could not support are flagged with ⚠;
    the answer's notes (sentences taken out, context trimmed) follow the text.

    Args:
        answer: the verified answer from `Tutor.stream` or `Tutor.ask`.

    Returns:
        Markdown with inline HTML; all model and source text is escaped.
    """
    by_n = {c.n: c for c in answer.citations}
    # (the pipeline only emits markers that have a citation, but the model's raw text and old answers may hold others)
    body = _outside_code(answer.text, lambda text: MARKER.sub(lambda m: _link_group(m, by_n), html.escape(text)))
    if answer.notes:  # what the tutor left out or cut (unsupported sentences, trimmed context)
        body += "\n\n" + "\n".join(f"<small><em>ⓘ {_data(note)}</em></small><br>" for note in answer.notes)
    if not by_n:
        return body
    lines = ["**Sources**", ""]
    for n in sorted(by_n):
        c = by_n[n]
        quote = _data(_clip(c.quote, SNIPPET_CHARS))
        flag = f" {UNVERIFIED}" if not c.supported else ""
        lines.append(f"- &#91;{n}&#93; {_anchor(_citation_href(c), _data(c.title or c.url))} — “{quote}”{flag}")
    return body + "\n\n" + "\n".join(lines)


def sources_to_markdown(hits: Iterable[Hit]) -> str:
    """Render retrieved passages: rank, linked title, handbook place and a snippet.

    Args:
        hits: the passages from the `sources` step, best first.

    Returns:
        Markdown with inline HTML; all source text is escaped.
    """
    lines = []
    for hit in hits:
        chunk = hit.chunk
        place = english_place(chunk.part, chunk.section) if chunk.part else chunk.heading
        where = f" · <em>{_data(place)}</em>" if place else ""
        title = _anchor(_safe_href(chunk.doc_url), _data(chunk.title or chunk.doc_url))
        # The snippet follows a <br> on the same line, so line-start markdown
        # in it (a "# heading", "1. item") cannot turn into structure.
        lines.append(f"- **{hit.rank}.** {title}{where}<br>{_data(_clip(chunk.text, SNIPPET_CHARS))}")
    return "\n".join(lines) if lines else "_No passages were retrieved._"


def partial_to_markdown(text: str) -> str:
    """Render the answer while it streams: escaped, markers left as plain `[n]`.

    Args:
        text: the concatenated token deltas so far.

    Returns:
        Markdown with no markup added; the final answer replaces it.
    """
    return _outside_code(text, html.escape)


# A fenced code block of an answer (a quote's snippet, indented under its item: tutor/answer/explain.py).
_FENCED = re.compile(r"^([ \t]*)(```|~~~)[^\n]*\n(.*?)^\1\2[ \t]*$", re.S | re.M)


def _outside_code(text: str, render) -> str:
    """`render` applied to the text outside fenced code; each code block shown as escaped `<pre><code>`.

    Escaped text inside a markdown fence would show its entities (`&quot;`) and its `x[1]` would become a
    citation link; as HTML the code shows verbatim and nothing in it is markup.
    """
    out, at = [], 0
    for m in _FENCED.finditer(text):
        indent, code = m.group(1), m.group(3).rstrip("\n")
        lines = [line[len(indent):] if line.startswith(indent) else line for line in code.split("\n")]
        # (each line keeps the item's indent, so the block stays under its quote)
        shown = "\n".join(indent + html.escape(line) for line in lines)
        out += [render(text[at:m.start()]), f"{indent}<pre><code>{shown.lstrip()}</code></pre>"]
        at = m.end()
    out.append(render(text[at:]))
    return "".join(out)


def answer_to_text(answer: Answer) -> str:
    """Render an answer as plain text for the clipboard: the text, then each source with its link.

    Nothing is escaped: the result is pasted, not rendered by this app.

    Args:
        answer: a final answer.

    Returns:
        The answer text with its `[n]` markers, then "Sources" lines `[n] title`, link and quote.
    """
    lines = [answer.text.strip()] + [f"({note})" for note in answer.notes]
    if answer.citations:
        lines += ["", "Sources"]
    for c in sorted(answer.citations, key=lambda c: c.n):
        flag = " (not verified)" if not c.supported else ""
        lines += [f"[{c.n}] {c.title or c.url}{flag}", f"    {c.link or fragment_link(c.url, c.quote)}",
                  f"    “{_clip(c.quote, SNIPPET_CHARS)}”"]
    return "\n".join(lines)


def conversation_to_markdown(exchanges: Iterable["Exchange"], exported: str = "",
                             mode_labels: Mapping[str, str] | None = None) -> str:
    """Render a whole chat as a markdown document to download.

    Each question becomes a numbered heading, followed by its mode and level,
    the answer (or the error shown) and its sources as markdown links. Text from
    the model and the sources is HTML-escaped, as in the chat, so the file is
    safe to open in a markdown viewer that renders HTML.

    Args:
        exchanges: the chat's exchanges (`ui.session.Exchange`), oldest first.
        exported: a time stamp to print under the title ("" for none).
        mode_labels: mode name -> label to show ("quiz" -> "Quiz"); names are capitalised otherwise.

    Returns:
        The markdown document.
    """
    exchanges = list(exchanges)
    count = f"{len(exchanges)} question{'s' if len(exchanges) != 1 else ''}"
    out = ["# Handbook Tutor conversation", "", f"Exported {exported} · {count}" if exported else count]
    for number, ex in enumerate(exchanges, start=1):
        mode = (mode_labels or {}).get(ex.mode) or ex.mode.capitalize()
        where = " · ".join(x for x in (mode, ex.level, ex.part) if x)
        out += ["", f"## {number}. {_data(' '.join(ex.question.split()))}", "", f"*{_data(where)}*", ""]
        if ex.answer is None:
            out.append(f"> {html.escape(' '.join(ex.error.split()))}")
            continue
        out.append(html.escape(ex.answer.text.strip()))
        if ex.answer.citations:
            out += ["", "Sources:", ""]
        for c in sorted(ex.answer.citations, key=lambda c: c.n):
            title, href = _data(c.title or c.url), _markdown_url(c.link or fragment_link(c.url, c.quote))
            link = f"[{title}]({href})" if href else title
            flag = " ⚠ not verified" if not c.supported else ""
            out.append(f"- &#91;{c.n}&#93; {link} — “{_data(_clip(c.quote, SNIPPET_CHARS))}”{flag}")
    return "\n".join(out) + "\n"


def escape_text(text: str) -> str:
    """Escape data (a title, a path, a reason) so markdown with HTML shows it verbatim."""
    return _data(text)


def _markdown_url(url: str) -> str:
    """An http(s) URL made safe inside `(...)` of a markdown link, or ""."""
    try:
        scheme = urllib.parse.urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    if scheme not in ("http", "https"):
        return ""
    return urllib.parse.quote(url.strip(), safe="/:?#&=%~+,;@!$'*[]-._")


def _link_group(match: re.Match, by_n: Mapping[int, Citation]) -> str:
    parts = []
    for number in marker_numbers(match.group(1)):
        citation = by_n.get(number)
        parts.append(_marker_link(citation) if citation else f"&#91;{number}&#93;")
    return "".join(parts)


def _marker_link(c: Citation) -> str:
    label = f"&#91;{c.n}&#93;" if c.supported else f"&#91;{c.n}⚠&#93;"
    tip = ("not verified: " if not c.supported else "") + _clip(c.quote, TOOLTIP_CHARS)
    return _anchor(_citation_href(c), label, tip)


def _citation_href(c: Citation) -> str:
    return _safe_href(c.link or fragment_link(c.url, c.quote))


def _anchor(href: str, inner: str, tip: str = "") -> str:
    """An `<a>` opening in a new tab; `inner` is already escaped, `tip` is raw text."""
    title = f' title="{html.escape(tip, quote=True)}"' if tip else ""
    if not href:
        return f"<span{title}>{inner}</span>" if title else inner
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer"{title}>{inner}</a>'


def _safe_href(url: str) -> str:
    """The URL escaped for an attribute, or "" unless it is http(s) (no `javascript:`)."""
    try:
        scheme = urllib.parse.urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return html.escape(url.strip(), quote=True) if scheme in ("http", "https") else ""


def _data(text: str) -> str:
    # Markdown-escape first: HTML-escaping adds `&` and `#` that must stay entities.
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=True)


def _clip(text: str, limit: int) -> str:
    # Quotes and snippets are extracted markdown; show them as the page reads ("## Setup" -> "Setup").
    text = " ".join(filter(None, (strip_markup(line) for line in text.splitlines())))
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit * 0.6 else limit].rstrip() + "…"
