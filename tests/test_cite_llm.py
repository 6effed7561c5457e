"""The LLM second opinion on borderline citations."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from core.errors import ConfigError
from tests.fake_backends import ScriptedGenerator
from tests.fakes import make_hit
from tests.conftest import flagged as verify
from tutor.citations.cite import SupportScorer
from tutor.citations.cite_llm import LlmCheckedScorer
from tutor.backends.extractive import ExtractiveGenerator
from tutor.pipeline import Tutor

HIT = make_hit(1, "https://example.org/lora", "LoRA", "LoRA freezes the pretrained weights and trains small matrices.")


def base_score(claim: str) -> float:
    return SupportScorer().supports([claim], [HIT])[0, 0].score


def test_only_borderline_cited_pairs_are_asked_and_the_verdict_decides():
    claim = "LoRA freezes weights and trains adapters [1]."  # lexical overlap lands near the threshold
    score = base_score(claim)
    scorer = LlmCheckedScorer(None, FakeListChatModel(responses=["No."]), threshold=score, band=0.01)
    text, citations = verify(claim, [HIT], scorer, threshold=score)
    assert scorer.asked == 1 and citations and not citations[0].supported
    yes = LlmCheckedScorer(None, FakeListChatModel(responses=["Yes"]), threshold=score, band=0.01)
    assert verify(claim, [HIT], yes, threshold=score)[1][0].supported
    far = LlmCheckedScorer(None, FakeListChatModel(responses=["No"]), threshold=score + 0.5, band=0.01)
    verify(claim, [HIT], far, threshold=score + 0.5)
    assert far.asked == 0  # clearly unsupported: no question needed
    uncited = LlmCheckedScorer(None, FakeListChatModel(responses=["No"]), threshold=score, band=0.01)
    uncited.supports(["LoRA freezes weights and trains adapters."], [HIT])
    assert uncited.asked == 0


def test_llm_check_needs_a_chat_model(settings, built_index, embedder):
    strict = settings.replace(citation_check="llm")
    tutor = Tutor(strict, index=built_index, embedders=embedder, judge=embedder, generator=ExtractiveGenerator())
    with pytest.raises(ConfigError, match="TUTOR_CITATION_CHECK"):
        tutor.ask("What does LoRA freeze?")
    gen = ScriptedGenerator("LoRA freezes the pretrained weights [1].")
    gen.chat_model = FakeListChatModel(responses=["yes"] * 4)
    answer = Tutor(strict, index=built_index, embedders=embedder, judge=embedder, generator=gen).ask("What does LoRA freeze?")
    assert answer.citations and answer.citations[0].supported
