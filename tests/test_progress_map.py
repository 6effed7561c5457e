"""Pure tests of ui.progress_map: tiles per roadmap section, statuses, escaping, next stops, summary, text map."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from tutor.learn.progress import STATUSES, Activity, SectionProgress, progress, what_next
from tutor.learn.progress_text import GLYPHS, progress_text, short_part
from tutor.teach.outline import load_outline
from ui.progress_map import progress_map

XSS_SCRIPT = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def outline():
    return load_outline()


@pytest.fixture(scope="module")
def rows(outline):
    # Real (part, section) pairs from the roadmap: asked, quizzed, weak (to refresh), remembered.
    key = lambda i: (outline[i].part, outline[i].name)
    activity = {
        key(0): Activity(asked=2),
        key(1): Activity(asked=1, quizzed=1, cards=3, due=2, recall=0.75),
        key(5): Activity(quizzed=1, cards=2, due=1, recall=0.55),
        key(11): Activity(asked=1, cards=4, recall=0.93),
        key(12): Activity(asked=3),
    }
    return progress(outline, activity)


def parse(html: str) -> ET.Element:
    return ET.fromstring(html)  # the map is well-formed XML, so every tag and entity is closed and escaped


def tiles(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == "tile"]


def test_one_tile_per_roadmap_section_with_its_status(outline, rows):
    root = parse(progress_map(rows))
    assert root.get("id") == "progress-map"
    found = tiles(root)
    assert len(found) == len(outline) == len(rows)
    assert Counter(t.get("data-status") for t in found) == Counter(r.status for r in rows)
    assert {r.status for r in rows} == set(STATUSES)  # the fixture exercises all four
    assert [int(t.get("data-index")) for t in found] == list(range(len(rows)))
    assert all(t.get("data-status") == rows[int(t.get("data-index"))].status for t in found)


def test_each_tile_has_a_tooltip_with_the_place_status_cards_and_recall(rows):
    found = tiles(parse(progress_map(rows)))
    for t in found:
        row = rows[int(t.get("data-index"))]
        tip = "".join(t.find("{http://www.w3.org/2000/svg}title").itertext())
        assert tip.startswith(row.part_en) and f": {row.status}, {row.cards} card" in tip and f"{row.due} due" in tip
        if row.recall is None:
            assert "recall" not in tip
        else:
            assert tip.endswith(f", recall {round(row.recall * 100)}%")


def test_one_labelled_row_per_part_in_order(outline, rows):
    parts = list(dict.fromkeys(s.part_en for s in outline))
    texts = [e for e in parse(progress_map(rows)).iter("{http://www.w3.org/2000/svg}text")
             if e.find("{http://www.w3.org/2000/svg}title") is not None]
    assert ["".join(e.find("{http://www.w3.org/2000/svg}title").itertext()) for e in texts] == parts
    assert all(len(e.text or "") <= 52 for e in texts)
    assert short_part("Section IV: Finetuning Methods for LLMs") == "IV. Finetuning Methods for LLMs"
    assert short_part("Section VI: Performance Optimizations for Efficient Inference", 30).endswith("…")


def test_data_from_pages_is_escaped(rows):
    fake = SectionProgress("部分", XSS_SCRIPT, '"><img src=x onerror=alert(1)>', XSS_SCRIPT, "asked", cards=1)
    out = progress_map((*rows, fake), next_up=(fake,))
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out
    root = parse(out)  # no attribute was broken out of
    assert [t.get("data-status") for t in tiles(root)][-1] == "asked"
    assert all(not k.startswith("on") for e in root.iter() for k in e.attrib)
    assert all(a.get("href", "").startswith("https://genai-handbook.github.io/") for a in root.iter("a"))


def test_next_stops_are_ringed_and_listed(rows):
    next_up = what_next(rows)
    assert next_up
    out = progress_map(rows, next_up)
    root = parse(out)
    marked = {int(t.get("data-index")) for t in tiles(root) if t.get("data-next") == "true"}
    assert marked == {rows.index(n) for n in next_up}
    items = ["".join(li.itertext()) for li in root.iter("li")]
    assert len(items) == len(next_up)
    assert all((n.name_en or "introduction").replace(" > ", " › ") in item for n, item in zip(next_up, items))
    assert "Next:" in out and "data-next" not in progress_map(rows)


def test_the_summary_is_counted_from_the_rows(rows):
    summary = "".join(parse(progress_map(rows)).find("p").itertext())
    m = re.fullmatch(r"(\d+) of (\d+) sections started · (\d+) remembered · (\d+) cards? due", summary)
    assert m, summary
    assert int(m[1]) == sum(r.status != "not started" for r in rows)
    assert int(m[2]) == len(rows)
    assert int(m[3]) == sum(r.status == "remembered" for r in rows)
    assert int(m[4]) == sum(r.due for r in rows)


def test_the_map_is_deterministic_and_handles_nothing(rows):
    assert progress_map(rows, what_next(rows)) == progress_map(rows, what_next(rows))
    empty = parse(progress_map(()))
    assert tiles(empty) == [] and "0 of 0 sections started" in "".join(empty.find("p").itertext())


def test_the_text_map_has_one_line_per_part(outline, rows):
    next_up = what_next(rows)
    lines = progress_text(rows, next_up).splitlines()
    parts = list(dict.fromkeys(s.part for s in outline))
    part_lines = lines[1:1 + len(parts)]
    assert lines[0] == "".join(parse(progress_map(rows)).find("p").itertext())
    for part, line in zip(parts, part_lines):
        glyphs = "".join(GLYPHS[r.status] for r in rows if r.part == part)
        assert line.startswith(glyphs) and line.endswith(short_part(next(r.part_en for r in rows if r.part == part)))
    assert all(GLYPHS[s] in lines[1 + len(parts)] for s in STATUSES)
    assert lines[-1].startswith("Next: ") and len(lines) == len(parts) + 3
    assert len(progress_text(rows).splitlines()) == len(parts) + 2
