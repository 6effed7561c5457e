"""Shared fixtures: a tiny corpus, fake backends and an index built from them in a temp dir."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from core.config import Settings  # noqa: E402
from core.types import Chunk, Document  # noqa: E402
from tests.fake_backends import HashEmbedder  # noqa: E402

DOCS = [
    Document("https://example.org/lora", "LoRA explained",
             "# LoRA\nLoRA freezes the pretrained weights and trains two small low-rank matrices A and B. "
             "This cuts the number of trainable parameters by up to 10,000 times. "
             "The update BA can be merged into the weights, so inference has no extra latency.",
             part="Part IV: Fine-tuning", section="LoRA"),
    Document("https://example.org/attention", "Attention",
             "# Attention\nSelf-attention lets every token look at every other token. "
             "The scores are softmax of scaled dot products of queries and keys. "
             "Multi-head attention runs several attention functions in parallel.",
             part="Part II: Neural sequence prediction", section="Transformers"),
    Document("https://example.org/diffusion", "Diffusion models",
             "# Diffusion\nA diffusion model learns to reverse a gradual noising process. "
             "Sampling starts from pure Gaussian noise and denoises step by step.",
             part="Part VIII: Generative modeling beyond sequences", section="Diffusion"),
]


def make_chunks(docs=DOCS) -> list[Chunk]:
    """One chunk per document, covering its whole text (enough for unit tests)."""
    return [Chunk(d.url, d.title, d.title, d.text, 0, len(d.text), d.part, d.section, d.lang) for d in docs]


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("TUTOR_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    # The model-authored path ("author") is what most pipeline tests pin down; the evidence-first
    # default has its own tests (tests/test_evidence*.py), which ask for `evidence_settings`.
    return Settings.load(env={}, home=tmp_path / "data", min_relevance=0.2, answer="author")


@pytest.fixture
def evidence_settings(settings) -> Settings:
    return settings.replace(answer="evidence")


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def built_index(settings, embedder):
    from index.build import build_index
    from index.search import Index

    build_index(settings.index_dir, DOCS, make_chunks(), embedder)
    return Index.load(settings.index_dir, embedder.model_id)


def flagged(text, hits, scorer, threshold=0.5, add_threshold=0.7):
    """`check` keeping the sentences no passage supports, flagged (the chat's non-strict check): (text, citations)."""
    from tutor.citations.cite import check

    checked = check(text, hits, scorer, threshold, add_threshold, drop_unsupported=False)
    return checked.text, checked.citations
