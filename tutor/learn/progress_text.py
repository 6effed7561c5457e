"""A learner's progress as text: the summary line, the roadmap one character per section, and the next stops.

The terminal prints it (`tutor progress`); the chat's picture (ui/progress_map.py) uses the same summary and names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tutor.learn.progress import STATUSES, SectionProgress

PART_CHARS = 52  # a part's label is clipped to this many characters
GLYPHS = {"not started": "·", "asked": "?", "quizzed": "◐", "remembered": "●"}
_ROMAN = re.compile(r"Section\s+([IVXLC]+)\s*:\s*(.+)")


def progress_text(rows: Sequence[SectionProgress], next_up: Sequence[SectionProgress] = ()) -> str:
    """Render the roadmap as plain text for a terminal; nothing is escaped (it is printed, not rendered).

    Returns:
        The summary line, one line per part (a character per section, see `GLYPHS`, then the part's
        English name), a legend line, and a "Next:" line when `next_up` is not empty.
    """
    parts = [("".join(GLYPHS.get(r.status, GLYPHS["not started"]) for _, r in members), part)
             for part, members in by_part(rows)]
    width = max((len(g) for g, _ in parts), default=0)
    lines = [summary_line(rows)] + [f"{g:<{width}}  {short_part(p)}" for g, p in parts]
    lines.append("   ".join(f"{GLYPHS[s]} {s}" for s in STATUSES))
    if next_up:
        lines.append("Next: " + " · ".join(place(n, short=True) for n in next_up))
    return "\n".join(lines)


def summary_line(rows: Sequence[SectionProgress]) -> str:
    """ "12 of 48 sections started · 3 remembered · 5 cards due", counted from `rows`."""
    started = sum(r.status != "not started" for r in rows)
    remembered = sum(r.status == "remembered" for r in rows)
    due = sum(r.due for r in rows)
    return (f"{started} of {len(rows)} section{'s' * (len(rows) != 1)} started · {remembered} remembered · "
            f"{due} card{'s' * (due != 1)} due")


def short_part(part_en: str, limit: int = PART_CHARS) -> str:
    """A part's English name made to fit a row: "Section IV: Finetuning …" -> "IV. Finetuning …", clipped."""
    m = _ROMAN.fullmatch(part_en.strip())
    name = f"{m[1]}. {m[2]}" if m else part_en.strip()
    if len(name) <= limit:
        return name
    cut = name.rfind(" ", 0, limit)
    return name[: cut if cut > limit * 0.6 else limit - 1].rstrip(" :,·-") + "…"


def by_part(rows: Sequence[SectionProgress]) -> list[tuple[str, list[tuple[int, SectionProgress]]]]:
    """The rows grouped by part, in the order parts first appear, each row with its index in `rows`."""
    groups: dict[str, list[tuple[int, SectionProgress]]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r.part, []).append((i, r))
    return [(members[0][1].part_en or part, members) for part, members in groups.items()]


def place(row: SectionProgress, short: bool = False) -> str:
    part = short_part(row.part_en or row.part) if short else row.part_en or row.part
    section = (row.name_en or row.name).replace(" > ", " › ") or "introduction"
    return f"{part} › {section}"
