"""Links that open a source page scrolled to a quote, with URL text fragments.

`https://page#:~:text=start` makes the browser scroll to and highlight the
first match of `start` (https://wicg.github.io/scroll-to-text-fragment/).
Used by the citation verifier and the UI, so a learner lands on the quoted
passage, not just the page.
"""

from __future__ import annotations

import re
import urllib.parse

from core.language import EAST_ASIAN

FRAGMENT_WORDS = 8

_CJK = f"[{EAST_ASIAN}]"
# CJK punctuation marks only: unlike core.language.CJK_PUNCTUATION, full-width digits and letters (Ａ, １) are
# left out, since in a text fragment they belong to the word they are in.
_CJK_PUNCT = r"[\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
# A token is one CJK character, one CJK punctuation mark, or a run of other non-space characters.
_TOKEN = re.compile(rf"{_CJK}|{_CJK_PUNCT}|(?:(?!{_CJK}|{_CJK_PUNCT})\S)+")
# Markdown that the extracted text keeps but a rendered page does not show.
_LINE_MARKUP = re.compile(r"^\s*(?:[#>*+-]+\s+|\d+[.)]\s+)+")
_INLINE_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_STRONG = re.compile(r"(?<![\w*_])(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?![\w*_])")
_EMPHASIS = re.compile(r"(?<![\w*])[_*](?=\S)([^_*\n]+?)(?<=\S)[_*](?![\w*])")


def fragment_link(url: str, quote: str) -> str:
    """Return `url` with a text fragment that scrolls to and highlights `quote`.

    Only the start of the quote is used (about 8 words, or about 20 CJK
    characters) from its first line, since a text fragment without an end
    must match inside one block of the page. `-`, `&` and `,` are
    percent-encoded as the text-fragment syntax requires.

    Args:
        url: the page address; "" gives "".
        quote: verbatim text from the page; "" gives `url` unchanged.

    Returns:
        The link, e.g. `https://x.org/a#:~:text=Low%2Drank%20adaptation`.
    """
    if not url:
        return ""
    start = _fragment_start(quote)
    if not start:
        return url
    encoded = urllib.parse.quote(start, safe="").replace("-", "%2D")
    # A fragment directive may follow an existing fragment: `#sec:~:text=`.
    return f"{url}{':~:' if '#' in url else '#:~:'}text={encoded}"


_ROW = re.compile(r"^[ \t]*\|(.*)\|[ \t]*$")


def table_cells(line: str) -> list[str]:
    """The cells of a line of a Markdown table ("| 09 | Building ... |"), stripped; [] for any other line."""
    row = _ROW.match(line)
    return [c.strip() for c in row.group(1).split("|")] if row else []


def _fragment_start(quote: str) -> str:
    cells = table_cells(quote.strip().split("\n", 1)[0])
    if cells:  # a table's row: a fragment matches inside one cell, and its longest says which row it is
        quote = max(cells, key=len)
    lines = (_strip_markup(line) for line in quote.splitlines())
    line = next((ln for ln in lines if ln), "")
    # Budget in fifths of a word: a word costs 5, a CJK character 2 (8 words ~ 20 characters).
    budget, end, last_cjk = FRAGMENT_WORDS * 5, 0, False
    for m in _TOKEN.finditer(line):
        last_cjk = len(m.group()) == 1 and re.match(f"{_CJK}|{_CJK_PUNCT}", m.group()) is not None
        cost = 2 if last_cjk else 5
        if cost > budget:
            break
        budget, end = budget - cost, m.end()
    start = line[:end]
    if end < len(line) and last_cjk:
        # Chrome matches only at word boundaries; a CJK cut can split a word,
        # so end before the last punctuation mark when there is one.
        cut = max((m.start() for m in re.finditer(_CJK_PUNCT, start)), default=0)
        if cut >= len(start) // 3:
            start = start[:cut]
    return start.strip()


def strip_markup(line: str) -> str:
    """A line of extracted markdown as the page displays it: no list marks, links, emphasis or code ticks."""
    line = _INLINE_LINK.sub(r"\1", _LINE_MARKUP.sub("", line))
    line = _STRONG.sub(r"\2", line).replace("`", "")
    line = _EMPHASIS.sub(r"\1", line)  # _word_ and *word*, not snake_case, __init__ or 2*3
    return " ".join(line.split())


_strip_markup = strip_markup
