"""Passage compression before prompting, and citations that still resolve to stored chunks."""

from __future__ import annotations

from core.language import estimate_tokens
from core.types import Turn
from tests.fake_backends import HashEmbedder, ScriptedGenerator
from tests.fakes import make_hit
from tutor.answer.compress import compress
from tutor.pipeline import Tutor

FILLER = " ".join(f"Paragraph {i} talks about tokenizers, datasets and unrelated training logistics." for i in range(12))
TEXT = f"{FILLER} LoRA freezes the pretrained weights and trains low-rank matrices. {FILLER}"


def test_keeps_the_relevant_sentences_in_order_within_budget():
    hit = make_hit(1, "https://example.org/long", "Long", TEXT)
    short = make_hit(2, "https://example.org/short", "Short", "Adapters are small.")
    turn = Turn("What does LoRA freeze and train?", (hit, short))
    out = compress(turn, HashEmbedder(), max_tokens=40)
    text = out.hits[0].chunk.text
    assert "LoRA freezes the pretrained weights and trains low-rank matrices." in text.split("\n")
    assert estimate_tokens(text) <= 40 + 25  # the best sentence is always kept; the rest fit the budget
    assert all(line in TEXT for line in text.split("\n"))  # every kept sentence is verbatim
    assert out.hits[1] is short  # already short enough
    assert compress(turn, HashEmbedder(), max_tokens=0) is turn


def test_citations_on_compressed_passages_resolve_to_stored_chunks(settings, built_index, embedder):
    class Budgeted(ScriptedGenerator):
        max_prompt_tokens = 3000

    gen = Budgeted("LoRA trains two small low-rank matrices A and B [1].")
    tight = settings.replace(passage_tokens=25)
    answer = Tutor(tight, index=built_index, embedders=embedder, judge=embedder, generator=gen).ask(
        "What does LoRA train?")
    shown = gen.turns[-1].hits[0].chunk
    stored = answer.hits[0].chunk
    assert shown.text != stored.text and all(line in stored.text for line in shown.text.split("\n"))
    c = answer.citations[0]
    assert c.chunk_id == stored.id and built_index.chunk(c.chunk_id) is not None and c.quote in stored.text
