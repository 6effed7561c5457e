"""A table's row or a list's item as evidence: "which lessons are about X?" is answered by rows, not sentences."""

import pytest

from core.types import Chunk, Hit
from tests.test_evidence import select
from tutor.answer.explain import evidence_block
from tutor.citations.entries import entry_spans, in_short_list, shown, table_header, table_spans
from tutor.citations.fragment import fragment_link
from tutor.retrieval.parts import named_parts

LESSONS = (
    "## Lessons\n"
    "|  | Lesson Link | Description | Additional Learning |\n"
    "| :--: | :--: | :--: | ---- |\n"
    "| 00 | Course Setup | **Learn:** How to Setup Your Development Environment | Learn More |\n"
    "| 02 | Exploring and comparing different LLMs | **Learn:** How to select the right model for your use case | Learn More |\n"
    "| 04 | Understanding Prompt Engineering Fundamentals | **Learn:** Hands-on Prompt Engineering Best Practices | Learn More |\n"
    "| 06 | Building Text Generation Applications | **Build:** A text generation app using Azure OpenAI | Learn More |\n"
    "| 08 | Building Search Apps Vector Databases | **Build:** A search application that uses Embeddings. | Learn More |\n"
    "| 09 | Building Image Generation Applications | **Build:** A image generation application | Learn More |\n"
    "| 10 | Building Low Code AI Applications | **Build:** A Generative AI application using Low Code tools | Learn More |\n"
    "| 16 | Open Source Models and Hugging Face | **Build:** An application using open source models | Learn More |\n"
    "| 17 | AI Agents and AutoGen | **Build:** An application using an AI Agent Framework | Learn More |\n\n"
    "Each lesson includes a short video introduction to the topic and a written lesson in the README."
)
SCORES = ("| Type             | OWT2 Loss | OWT2 Ppl. |\n| ---------------- | --------- | --------- |\n"
          "| Learned Absolute | 2.809     | 16.59     |\n| Rotary           | 2.759     | 15.78     |\n")
CHAPTERS = ("## Table of Contents\n\n"
            + "".join(f"{k}. Chapter {k} of the Book [open dir]\n" for k in range(1, 9))
            + "10. Working with Unlabeled Data – Clustering Analysis [open dir]\n"
            "11. Implementing a Multilayer Artificial Neural Network from Scratch [open dir]\n"
            "17. Generative Adversarial Networks for Synthesizing New Data [open dir]\n"
            "- LoRA insights by Sebastian Raschka: Practical insights about LoRA.\n"
            "1. Mixed Precision Training: https://arxiv.org/abs/1710.03740\n"
            "- The forget gate decides what information to throw away from the cell state.\n"
            "- Multiclass\n\n"
            "```\n- not an item: code\n```\n")


def rows(text):
    return [text[a:b] for a, b in entry_spans(text)]


def test_each_data_row_and_each_named_item_is_an_entry():
    assert [r.split("|")[1].strip() for r in rows(LESSONS)] == ["00", "02", "04", "06", "08", "09", "10", "16", "17"]
    assert not table_spans(LESSONS)  # (too long to show whole: its rows are the units)
    # items that are names; a sentence is quoted as one, a reading list's line and a bare word are no entries
    assert rows(CHAPTERS)[8:] == ["10. Working with Unlabeled Data – Clustering Analysis [open dir]",
                              "11. Implementing a Multilayer Artificial Neural Network from Scratch [open dir]",
                              "17. Generative Adversarial Networks for Synthesizing New Data [open dir]"]


def test_a_row_is_shown_with_its_column_names_and_its_numbers_as_written():
    at = SCORES.index("| Learned")
    row = SCORES[at:SCORES.index("\n", at)]
    assert shown(row, table_header(SCORES, at)) == "Learned Absolute — OWT2 Loss: 2.809; OWT2 Ppl.: 16.59"
    assert shown(row) == "Learned Absolute — 2.809 — 16.59"  # its header in another passage
    lesson = rows(LESSONS)[5]
    assert shown(lesson, table_header(LESSONS, LESSONS.index(lesson))) == (
        "09 — Lesson Link: Building Image Generation Applications; Description: Build: A image generation application")
    assert shown(rows(CHAPTERS)[10]) == "17. Generative Adversarial Networks for Synthesizing New Data"


def test_a_rows_footnote_marks_are_not_shown():
    table = "| Approach | Can model | Analogy[^4] |\n|---|---|---|\n| Continuous[^3] | Local interactions | Sensing |\n"
    at = table.index("| Continuous")
    assert shown(table[at:table.index("\n", at)], table_header(table, at)) == (
        "Continuous — Can model: Local interactions; Analogy: Sensing")


def test_a_table_continued_from_another_passage_has_no_header_here():
    continued = LESSONS.split("| :--: | :--: | :--: | ---- |\n", 1)[1]
    assert table_header(continued, continued.index("| 09")) == ""
    assert table_header(LESSONS, LESSONS.index("| 09")).startswith("|  | Lesson Link")


def test_a_short_table_is_one_unit_too_and_a_short_list_only_one():
    short = "- Stanford CS224W lectures\n- Graph Representation Book\n"
    assert len(entry_spans(SCORES)) == 2 and len(entry_spans(short)) == 2
    assert in_short_list(short, 0) and not in_short_list(CHAPTERS, CHAPTERS.index("17."))
    [(a, b)] = table_spans(SCORES)
    assert shown(SCORES[a:b], table_header(SCORES, a)) == (
        "• Learned Absolute — OWT2 Loss: 2.809; OWT2 Ppl.: 16.59 • Rotary — OWT2 Loss: 2.759; OWT2 Ppl.: 15.78")


def test_a_rows_link_opens_at_its_longest_cell():
    link = fragment_link("https://x.org/course", rows(LESSONS)[5])
    assert link.endswith("#:~:text=" + "Build%3A%20A%20image%20generation%20application")


@pytest.mark.parametrize("question, names", [
    ("Which lessons of the course are about image generation, low-code tools, open-source models and AI agents?",
     ["image generation", "low-code tools", "open-source models", "AI agents"]),
    ("What tricks help with training stability, convergence and speed?", ["training stability", "convergence", "speed"]),
    # no "which/what <things>": a list in passing is no question about each
    ("How does the course teach image generation, low-code tools and agents?", [""]),
])
def test_a_question_for_several_things_by_name_asks_for_each(question, names):
    assert [n for _, n in named_parts(question)] == names


def lesson_hits(text=LESSONS):
    return [Hit(Chunk("https://x.org/course", "Generative AI for Beginners", "Lessons", text, 0, len(text)), 1.0, 1)]


def test_the_rows_that_answer_are_picked_and_shown_with_their_columns():
    got = select("Which lessons are about image generation, low-code tools and AI agents?", lesson_hits())
    said = " ".join(e.sentence for e in got.sentences)
    assert got.answers
    for lesson in ("| 09 |", "| 10 |", "| 17 |"):
        assert lesson in said
    assert "| 08 |" not in said and "| 16 |" not in said
    block = evidence_block(got.sentences, "en")
    assert "09 — Lesson Link: Building Image Generation Applications" in block
    for e in got.sentences:  # verbatim, and where it says it is
        assert LESSONS[e.start:e.start + len(e.sentence)] == e.sentence


def test_a_question_for_one_thing_gets_no_row():
    got = select("What does each lesson include?", lesson_hits())
    assert got.sentences and all("|" not in e.sentence for e in got.sentences)
