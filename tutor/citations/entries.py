"""One row of a table or one item of a list, quoted on its own: the answer to "which lesson is about X?".

A course's lessons, a book's chapters and a benchmark's scores are tables and lists, not sentences: "09 |
Building Image Generation Applications | ..." is no claim a sentence-only quote can make, and the whole
table is too long to show. So each data row of a Markdown table, and each item of a list that is a name
rather than a sentence ("17. Generative Adversarial Networks for Synthesizing New Data"), is an *entry*:
a unit the evidence may quote when the question asks for several things by name (tutor/quotes/evidence.py).

A row is shown with its table's column names when the passage holds them ("State size — Attention: T;
SSM: N; SSD: N"): without them "State size — T — N — N" says nothing. A table split over two passages
keeps its header in the first only, so the rows of the second are shown by their cells alone.
"""

from __future__ import annotations

import re

from tutor.citations.fragment import table_cells
from tutor.citations.quotable import (
    MAX_BLOCK,
    MAX_CHARS,
    MAX_ITEMS,
    clean,
    fenced_spans,
    list_spans,
    opens_item,
    plain,
    points_to_reading,
    prose_spans,
    recommends,
)

# The line under a table's header: "| --- | :--: |", "|----|----|".
_RULE = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-{2,}:?[ \t]*\|)+(?:[ \t]*:?-{2,}:?[ \t]*)?[ \t]*$")
_ITEM_MARK = re.compile(r"^[ \t]*(?:[-*+•·●▪]|\d+[.)])[ \t]+")
# A link's label whose link the extraction dropped ("[open dir]", a "Learn More" cell): it names nothing.
_LABELS = r"open dir|learn more|read more|link|code|pdf|video|slides|article|paper|notebook|colab|demo|docs?|website"
_LINK_LABEL = re.compile(rf"\s*\[(?:{_LABELS})\]\s*", re.IGNORECASE)
_LINK_CELL = re.compile(rf"^\[?(?:{_LABELS})\]?$", re.IGNORECASE)
_ADDRESS = re.compile(r"https?://|www\.|\]\(")  # "1. Mixed Precision Training: https://arxiv.org/...": a reference
_FOOTNOTE = re.compile(r"\[\^[^\]\s]+\]")  # "Analogy[^4]": a footnote's mark, which the quote does not carry
MIN_CELLS = 2  # a row with fewer filled cells is a chunk boundary's leftover ("| Learn More |")
MIN_WORDS = 2  # an item of one word ("Multiclass") names too little to quote


def _lines(text: str) -> list[tuple[int, int]]:
    out, at = [], 0
    for line in text.split("\n"):
        out.append((at, at + len(line)))
        at += len(line) + 1
    return out


def in_short_list(text: str, at: int) -> bool:
    """Whether the entry at `at` is an item of a list short enough to quote whole (`list_spans`): such a list
    answers "which resources did the author study?" whole, and an item alone only a question naming it ("聚类
    在第几章？")."""
    return any(a <= at < b for a, b in list_spans(text))


def entry_spans(text: str) -> list[tuple[int, int]]:
    """The spans of a passage's table data rows and of its list items that are names, not sentences.

    An item holding a prose sentence is quoted by that sentence (`prose_spans`); a reading list's item
    ("LoRA insights by Sebastian Raschka: ...") points to reading and is no entry.
    """
    fenced = fenced_spans(text)
    prose = prose_spans(text)
    lines = _lines(text)
    out = []
    for k, (a, b) in enumerate(lines):
        line = text[a:b]
        if any(s <= a < e for s, e in fenced) or not line.strip():
            continue
        if table_cells(line):
            header = k + 1 < len(lines) and _RULE.match(text[slice(*lines[k + 1])])
            if not header and not _RULE.match(line) and sum(bool(c) for c in table_cells(line)) >= MIN_CELLS \
                    and b - a <= 2 * MAX_CHARS:
                out.append((a, b))
        elif _ITEM_MARK.match(line) and opens_item(text, a + len(_ITEM_MARK.match(line).group())):
            words = _ITEM_MARK.sub("", _LINK_LABEL.sub(" ", line)).split()
            if (MIN_WORDS <= len(words) and b - a <= MAX_CHARS and not recommends(line) and not _ADDRESS.search(line)
                    and not points_to_reading(line) and not any(a <= s < b for s, _ in prose)):
                out.append((a, b))
    return out


def table_spans(text: str) -> list[tuple[int, int]]:
    """The data rows of each table of a passage as one span, when they are few enough to read as one answer
    ("What are the course's tool notebooks?" is answered by the whole table)."""
    rows = [(a, b) for a, b in entry_spans(text) if table_cells(text[a:b])]
    out: list[list[int]] = []
    for a, b in rows:
        if out and text[out[-1][1]:a].strip() == "":
            out[-1][1] = b
        else:
            out.append([a, b])
    return [(a, b) for a, b in out if 2 <= text[a:b].count("\n") + 1 <= MAX_ITEMS and b - a <= MAX_BLOCK]


def table_header(text: str, at: int) -> str:
    """The header row of the table whose row starts at `at`, when the passage holds it; else ""."""
    lines = [(a, b) for a, b in _lines(text) if a <= at]
    for k in range(len(lines) - 1, 0, -1):
        line = text[slice(*lines[k])]
        if not table_cells(line) and not _RULE.match(line):
            return ""
        if _RULE.match(line):
            above = text[slice(*lines[k - 1])]
            return above if table_cells(above) else ""
    return ""


def is_row(sentence: str) -> bool:
    """Whether a quote is a table's row (or rows)."""
    return bool(table_cells(sentence.strip().split("\n", 1)[0]))


def shown(sentence: str, columns: str = "") -> str:
    """A quote as the learner reads it: a table's rows each with the column names of `columns` (its header
    row), an item with its number ("17. Generative ..."), any other quote as `clean` shows it."""
    lines = [line for line in sentence.strip().split("\n") if line.strip()]
    if not any(table_cells(line) for line in lines):
        number = re.match(r"[ \t]*(\d+[.)])[ \t]+", sentence) if len(lines) == 1 else None
        text = clean(_LINK_LABEL.sub(" ", sentence).rstrip() if _ITEM_MARK.match(sentence) else sentence)
        return f"{number.group(1)} {text}" if number else text
    names = [plain(_FOOTNOTE.sub("", c)) for c in table_cells(columns)] if columns else []
    parts = [_row(table_cells(line), names) if table_cells(line) else clean(line) for line in lines]
    parts = [p for p in parts if p]
    return parts[0] if len(parts) == 1 else " ".join(f"• {p}" for p in parts)


def _row(cells: list[str], names: list[str]) -> str:
    cells = ["" if _LINK_CELL.match(c) else plain(_FOOTNOTE.sub("", c)) for c in cells]
    first = next((k for k, c in enumerate(cells) if c), None)
    if first is None:
        return ""
    named = len(names) == len(cells)
    rest = [(names[k] if named else "", c) for k, c in enumerate(cells) if k > first and c]
    if not any(name for name, _ in rest):
        return " — ".join([cells[first]] + [c for _, c in rest])
    return f"{cells[first]} — " + "; ".join(f"{name}: {c}" if name else c for name, c in rest)
