"""Draw a learner's progress over the handbook's roadmap: an SVG map for the chat's side panel, and a text map.

Everything here is pure and deterministic. The map has one row per handbook
part, in reading order, and one tile per section, coloured by its status and
marked by a shape too (empty, "?", half filled, filled with a tick), so colour
is not the only cue; the stops to take next are ringed and listed under the map.
Section and part names come from web pages, so every piece of data is
HTML-escaped (plain `html.escape`: this goes to `gr.HTML`, which renders no
markdown, so `escape_text`'s markdown backslashes would show). The output is
also well-formed XML, so a test can parse it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from tutor.citations.fragment import fragment_link
from tutor.learn.progress import STATUSES, SectionProgress
from tutor.learn.progress_text import by_part, place, short_part, summary_line
from tutor.teach.outline import HANDBOOK_URL

WIDTH = 360  # viewBox units; the SVG scales to the panel (max 420 px)
TILE, STEP, PAD = 20, 24, 4  # a tile's side, tile + gap, the margin
LABEL_H, ROW_GAP, LEGEND_H = 15, 8, 18
COLOURS = {"asked": "#f0b429", "quizzed": "#3b82f6", "remembered": "#16a34a"}  # mid tones: light and dark themes
NEXT_COLOUR = "#db2777"



def progress_map(rows: Sequence[SectionProgress], next_up: Sequence[SectionProgress] = ()) -> str:
    """Render the roadmap as HTML: a one-line summary, an inline SVG map with its legend, and the next stops.

    Args:
        rows: every roadmap section with its status (`tutor.learn.progress.progress`), in reading order.
        next_up: the stops to take next (`what_next`): their tiles get a ring, and they are listed as links.

    Returns:
        `<div id="progress-map">…</div>`; each tile is a `<g class="tile">` with `data-status`, `data-index`
        (its place in `rows`) and, for a next stop, `data-next="true"`, and a `<title>` tooltip.
    """
    nexts = {(n.part, n.name) for n in next_up}
    body, y = [], PAD
    for part, members in by_part(rows):
        body.append(f'<text x="{PAD}" y="{y + 11}" font-size="12" font-weight="600" fill="currentColor">'
                    f'<title>{_esc(part)}</title>{_esc(short_part(part))}</text>')
        y += LABEL_H
        per_line = (WIDTH - 2 * PAD + STEP - TILE) // STEP
        for k, (i, row) in enumerate(members):
            x, ty = PAD + 2 + (k % per_line) * STEP, y + 2 + (k // per_line) * STEP
            body.append(_tile(i, row, x, ty, (row.part, row.name) in nexts))
        y += ((len(members) - 1) // per_line + 1) * STEP + ROW_GAP
    legend, y = _legend(y)
    summary = summary_line(rows)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {y}" width="100%" '
           f'style="max-width:420px" role="img" aria-label="{_esc("Roadmap progress: " + summary)}">'
           + "".join(body) + legend + "</svg>")
    links = "".join(f'<li><a href="{_esc(_link(n))}" target="_blank" rel="noopener noreferrer">'
                    f"{_esc(place(n, short=True))}</a></li>" for n in next_up)
    after = f'<div class="progress-next">Next:<ol>{links}</ol></div>' if links else ""
    return (f'<div id="progress-map" class="progress-map"><p class="progress-summary">{_esc(summary)}</p>'
            f"{svg}{after}</div>")


def tooltip(row: SectionProgress) -> str:
    """ "Part › Section: status, N cards, M due, recall 83%" (recall only once a card was reviewed)."""
    cards = f"{row.cards} card{'s' * (row.cards != 1)}"
    recall = f", recall {round(row.recall * 100)}%" if row.recall is not None else ""
    return f"{place(row)}: {row.status}, {cards}, {row.due} due{recall}"


def _tile(index: int, row: SectionProgress, x: float, y: float, is_next: bool) -> str:
    status = row.status if row.status in STATUSES else "not started"
    ring = (f'<rect x="{x - 2.5}" y="{y - 2.5}" width="{TILE + 5}" height="{TILE + 5}" rx="5" fill="none" '
            f'stroke="{NEXT_COLOUR}" stroke-width="2"/>') if is_next else ""
    flag = ' data-next="true"' if is_next else ""
    return (f'<g class="tile" data-status="{status}" data-index="{index}"{flag}><title>{_esc(tooltip(row))}</title>'
            f"{_shape(status, x, y, TILE)}{ring}</g>")


def _shape(status: str, x: float, y: float, s: float) -> str:
    """A tile of side `s`: empty outline, amber with "?", half-filled blue, or green with a tick."""
    colour = COLOURS.get(status)
    if colour is None:
        return (f'<rect x="{x}" y="{y}" width="{s}" height="{s}" rx="3" fill="none" stroke="currentColor" '
                f'stroke-opacity="0.45" stroke-width="1.2"/>')
    if status == "quizzed":
        return (f'<rect x="{x}" y="{y + s / 2}" width="{s}" height="{s / 2}" fill="{colour}"/>'
                f'<rect x="{x + 0.75}" y="{y + 0.75}" width="{s - 1.5}" height="{s - 1.5}" rx="3" fill="none" '
                f'stroke="{colour}" stroke-width="1.5"/>')
    box = f'<rect x="{x}" y="{y}" width="{s}" height="{s}" rx="3" fill="{colour}"/>'
    if status == "asked":
        return box + (f'<text x="{x + s / 2}" y="{y + s * 0.72}" font-size="{round(s * 0.65)}" font-weight="700" '
                      f'text-anchor="middle" fill="#1f1f1f">?</text>')
    tick = f"M{x + s * 0.24:.1f} {y + s * 0.52:.1f}l{s * 0.18:.1f} {s * 0.18:.1f} {s * 0.34:.1f} {-s * 0.38:.1f}"
    return box + f'<path d="{tick}" fill="none" stroke="#ffffff" stroke-width="{s / 9:.1f}" stroke-linecap="round"/>'


def _legend(y: float) -> tuple[str, float]:
    """The four statuses and the next-stop ring from `y` on, wrapping if need be; and where the legend ends."""
    items, x = [], PAD + 2
    for label in (*STATUSES, "next"):
        span = 12 + 5 + round(len(label) * 6.6) + 8
        if x + span > WIDTH:
            x, y = PAD + 2, y + LEGEND_H
        swatch = (f'<rect x="{x}" y="{y + 4}" width="12" height="12" rx="3" fill="none" stroke="{NEXT_COLOUR}" '
                  f'stroke-width="2"/>') if label == "next" else _shape(label, x, y + 4, 12)
        items.append(f'<g class="legend">{swatch}<text x="{x + 17}" y="{y + 14}" font-size="11" '
                     f'fill="currentColor">{label}</text></g>')
        x += span
    return "".join(items), y + LEGEND_H + 2


def _link(row: SectionProgress) -> str:
    """The handbook page scrolled to the section's heading (as `Section.link`)."""
    heading = (row.name_en or row.part_en).split(" > ")[-1]
    return fragment_link(HANDBOOK_URL, heading) if heading else HANDBOOK_URL


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
