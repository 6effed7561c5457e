"""chunk(): exact offsets, full coverage, heading paths, sizes, overlap, code fences, CJK."""

from __future__ import annotations

import logging
import re
import statistics
import time

import pytest

from core.types import Document
from ingest.chunk import chunk

log = logging.getLogger(__name__)

SENTENCE = "The encoder maps the input sequence to a sequence of continuous representations. "


def doc(text: str, title: str = "Guide", lang: str = "en") -> Document:
    return Document(url="https://example.org/guide", title=title, text=text, part="Part II", section="Transformers", lang=lang)


def check_invariants(d: Document, chunks, max_chars: int) -> None:
    """Offsets are exact, sizes bounded, order kept, and every word character is covered."""
    covered = bytearray(len(d.text))
    for c in chunks:
        assert d.text[c.start:c.end] == c.text
        assert 0 < len(c.text) <= max_chars
        assert re.search(r"\w", c.text)
        covered[c.start:c.end] = b"\x01" * (c.end - c.start)
    missing = [i for i, ch in enumerate(d.text) if not covered[i] and re.match(r"\w", ch)]
    assert not missing, d.text[missing[0] - 40:missing[0] + 40]
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_sections_follow_headings_and_skip_the_document_title():
    text = ("# Guide\n\nIntro. " + SENTENCE * 3 + "\n\n## Encoder\n\n" + SENTENCE * 4 +
            "\n\n### Self-attention\n\n" + SENTENCE * 4 + "\n\n## Decoder\n\n" + SENTENCE * 4)
    d = doc(text)
    chunks = chunk(d, max_chars=1000, overlap_chars=100)
    check_invariants(d, chunks, 1000)
    assert [c.heading for c in chunks] == ["", "Encoder", "Encoder > Self-attention", "Decoder"]
    assert chunks[1].text.startswith("## Encoder\n\n")  # heading lines stay in the text
    c = chunks[0]
    assert (c.doc_url, c.title, c.part, c.section, c.lang) == (d.url, "Guide", "Part II", "Transformers", "en")


def test_long_sections_split_on_sentences_with_overlap():
    d = doc("## Attention\n\n" + "\n\n".join(SENTENCE * 5 for _ in range(8)))
    chunks = chunk(d, max_chars=600, overlap_chars=150)
    check_invariants(d, chunks, 600)
    assert len(chunks) > 4 and {c.heading for c in chunks} == {"Attention"}
    for a, b in zip(chunks, chunks[1:]):
        overlap = a.end - b.start
        assert 0 < overlap <= 150
        assert b.text.startswith("The encoder")  # whole sentences
        assert a.text.rstrip().endswith(".")


def test_a_chunk_never_opens_inside_a_sentence_longer_than_the_overlap():
    """Repeating only the end of a long sentence made the next chunk open on half of it ("(to push the values
    to be between -1 and 1) and multiply it ..."), which the evidence then quoted."""
    long_sentence = ("Then we put the cell state through a squashing function (to push the values to be between "
                     "minus one and one) and multiply it by the output of the sigmoid gate, so that we only output "
                     "the parts we decided to. ")
    d = doc("## Output\n\n" + "\n\n".join(SENTENCE + long_sentence for _ in range(8)))
    chunks = chunk(d, max_chars=600, overlap_chars=150)
    check_invariants(d, chunks, 600)
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:]):
        assert b.text.startswith(("The encoder", "Then we put", "## Output")), b.text[:60]
        assert a.end - b.start <= 300  # at most that last sentence again (half a chunk)
    assert any(a.end > b.start and b.text.startswith("Then we put") for a, b in zip(chunks, chunks[1:]))
    huge = "A sentence that runs on " + "and on " * 60 + "until it ends. "
    d = doc("## Huge\n\n" + (SENTENCE * 2 + huge) * 3)
    chunks = chunk(d, max_chars=600, overlap_chars=150)
    check_invariants(d, chunks, 600)
    assert all(c.text.startswith(("The encoder", "A sentence", "## Huge")) for c in chunks), [c.text[:30] for c in chunks]


def test_a_paragraph_without_sentence_ends_is_hard_split():
    d = doc("word " * 700)
    chunks = chunk(d, max_chars=500, overlap_chars=50)
    check_invariants(d, chunks, 500)
    assert all(not c.text.startswith(" ") and not c.text.endswith(" ") for c in chunks)


def test_chinese_splits_on_chinese_sentence_ends():
    sentence = "大模型是指具有大规模参数和复杂计算结构的机器学习模型。"
    d = doc("# 定义\n\n" + sentence * 60, title="指南", lang="zh")
    chunks = chunk(d, max_chars=300, overlap_chars=60)
    check_invariants(d, chunks, 300)
    assert all(c.lang == "zh" and c.heading == "定义" for c in chunks)
    assert all(c.text.endswith("。") for c in chunks)
    assert all(c.text.startswith("大模型") for c in chunks[1:])


def test_code_fences_are_not_split_unless_too_long():
    code = "```python\n" + "\n".join(f"x{i} = {i}" for i in range(40)) + "\n```"
    d = doc("## Code\n\n" + SENTENCE * 6 + "\n\n" + code + "\n\n" + SENTENCE * 6)
    chunks = chunk(d, max_chars=700, overlap_chars=100)
    check_invariants(d, chunks, 700)
    assert any(code in c.text for c in chunks)
    assert all(c.text.count("```") in (0, 2) for c in chunks)

    long_code = "```\n" + "\n".join(f"line_{i} = compute({i})" for i in range(200)) + "\n```"
    d = doc(long_code)
    chunks = chunk(d, max_chars=500, overlap_chars=100)
    check_invariants(d, chunks, 500)
    assert len(chunks) > 5


def test_headings_inside_code_are_not_sections():
    d = doc("## Shell\n\n```bash\n# install\npip install x\n```\n\n" + SENTENCE * 4)
    assert {c.heading for c in chunk(d)} == {"Shell"}


def test_tiny_sections_merge_into_the_next_chunk():
    text = "## Notation\n\nShort.\n\n## Method\n\n" + SENTENCE * 5 + "\n\n### Detail\n\n" + SENTENCE * 8
    d = doc(text)
    chunks = chunk(d, max_chars=1000)
    check_invariants(d, chunks, 1000)
    assert chunks[0].text.startswith("## Notation\n\nShort.\n\n## Method")
    assert chunks[0].heading == "Method"


def test_punctuation_only_text_makes_no_chunk():
    assert chunk(doc("---\n\n***\n\n")) == []
    assert chunk(doc("")) == []


def test_chunk_ids_are_stable():
    d = doc("## A\n\n" + SENTENCE * 30)
    assert [c.id for c in chunk(d)] == [c.id for c in chunk(d)]


@pytest.mark.parametrize("max_chars, overlap", [(10, 0), (1000, -1), (1000, 500)])
def test_bad_parameters_are_refused(max_chars, overlap):
    with pytest.raises(ValueError, match="must be"):
        chunk(doc("text"), max_chars=max_chars, overlap_chars=overlap)


@pytest.mark.slow
def test_invariants_hold_on_every_snapshot_document(record_property):
    from tests.test_extract import snapshot_path, snapshot_results

    docs, _, _ = snapshot_results(snapshot_path())
    started = time.perf_counter()
    sizes = []
    for d in docs:
        chunks = chunk(d, max_chars=1000)
        check_invariants(d, chunks, 1000)
        sizes += [len(c.text) for c in chunks]
    seconds = time.perf_counter() - started
    record_property("chunks", len(sizes))
    log.info("%d chunks in %.1f s; median %d chars", len(sizes), seconds, statistics.median(sizes))
    assert 2000 < len(sizes) < 4000
    assert statistics.median(sizes) > 600
