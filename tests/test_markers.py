"""One citation-marker grammar (core/markers.py): what the checker reads, the chat links and the prompt defuses."""

from __future__ import annotations

from core.markers import parse_markers, strip_markers
from core.types import Answer, Citation
from tutor.answer.explain import renumber
from tutor.backends.prompt import _defuse_source
from ui.render import answer_to_markdown


def test_markers_in_every_form_a_model_writes():
    assert parse_markers("LoRA [1]. QLoRA [2, 3] and DoRA [4-6]; 中文 [7，8] 和 [9、1]") == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert parse_markers("published in [2023] with [1-40] pages") == [1, 40]  # a year is no marker; a wide "range" two
    assert strip_markers("LoRA trains adapters [1, 2]. It is cheap [3].") == "LoRA trains adapters. It is cheap."


def test_the_chat_links_what_the_checker_reads():
    citations = tuple(Citation(n, f"c{n}", f"https://example.org/{n}", f"Source {n}", f"quote {n}") for n in (2, 3, 4))
    shown = answer_to_markdown(Answer("Q", "LoRA trains two small matrices [2-4].", citations, ()))
    for n in (2, 3, 4):
        assert f"https://example.org/{n}" in shown.split("**Sources**")[0]  # a range links each passage


def test_a_sources_own_references_are_defused_and_prompt_numbers_go_back_to_passages():
    assert _defuse_source("as shown in [12] and [3, 4]") == "as shown in (12) and (3, 4)"
    assert renumber("LoRA [1] and QLoRA [1, 2], not [5].", [4, 7]) == "LoRA [4] and QLoRA [4, 7], not ."
