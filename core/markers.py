"""The citation marker, one grammar for every stage: `[1]`, `[1, 3]`, `[2-4]`, `[1，3]`, `[1、3]`.

The prompt asks the model for markers, the checker reads which passages a sentence cites, the chat
links them, and a source's own "[12]" references are defused before the model sees them: all with
this one pattern, so what one stage writes the next reads the same way. Up to three digits: "[2023]"
is a year, not passage 2023.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,，、\-–]\s*\d{1,3})*)\]")
_SPACED = re.compile(r"\s*" + MARKER.pattern)
MAX_RANGE = 10  # "[2-4]" is 2, 3, 4; a wider "range" is more likely two numbers joined by a dash


def marker_numbers(inside: str) -> list[int]:
    """The passage numbers of one marker's inside ("1, 3", "2-4"), in order, each once."""
    numbers: list[int] = []
    for part in re.split(r"[,，、]", inside):
        bounds = [int(x) for x in re.split(r"[\-–]", part) if x.strip()]
        if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < MAX_RANGE:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return list(dict.fromkeys(numbers))


def parse_markers(text: str) -> list[int]:
    """The 1-based passage numbers cited in a text, in order of first citation."""
    return list(dict.fromkeys(n for m in MARKER.finditer(text) for n in marker_numbers(m.group(1))))


def strip_markers(text: str) -> str:
    """The text without its markers (and the space before each)."""
    return _SPACED.sub("", text)
