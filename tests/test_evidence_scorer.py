"""The evidence is ranked by its own embedder (EmbeddingGemma by default) once the passages' sentences are kept
with it (`tutor leg`); until then, or without its model, by the judge."""

import io

import numpy as np
import pytest

from core.errors import ModelMissing
from tests.fake_backends import EvidenceEmbedder, HashEmbedder
from tests.fakes import QuestionsOnly, one_hit
from tutor.pipeline import Tutor
from tutor.quotes.evidence import EvidenceSelector
from tutor.quotes.similarity import SHIFT, Similarity


class MissingModel(HashEmbedder):
    """An embedder whose model folder is gone (a kept sentence file outlived it)."""

    model_id = "fake/missing-512"

    def embed_queries(self, texts):
        raise ModelMissing("the model is gone; run: make gemma")


def test_similarity_is_the_closest_querys_cosine_put_on_the_judges_scale():
    embedder = HashEmbedder()
    texts = ["LoRA freezes the pretrained weights.", "Diffusion models add noise step by step."]
    queries = ["What does LoRA freeze?", "How does diffusion add noise?"]
    plain = Similarity.of(embedder)(queries, texts)
    expected = np.max(embedder.embed_queries(queries) @ embedder.embed_documents(texts).T, axis=0)
    assert plain == pytest.approx(expected) and plain[0] > 0.2 and plain[1] > 0.2  # each text by its own query
    shifted = Similarity(embedder, shift=SHIFT["google/embeddinggemma-300m"])(queries, texts)
    assert shifted == pytest.approx(expected - 0.09)


def test_the_selector_ranks_by_its_similarity_not_the_judges():
    text = ("LoRA freezes the pretrained weights and trains two small matrices.\n\n"
            "The cost of fine-tuning falls because far fewer parameters get gradients.")
    question = "How does LoRA cut the cost of fine-tuning?"
    by_judge = EvidenceSelector(HashEmbedder(), lambda term: 1.0, min_score=0.0).select(question, one_hit(text),
                                                                                       max_sentences=1)

    def prefers_the_other(queries, texts):  # a scorer that reads the first sentence as the answer
        return np.array([0.9 if t.startswith("LoRA") else 0.0 for t in texts])

    by_scorer = EvidenceSelector(HashEmbedder(), lambda term: 1.0, min_score=0.0,
                                 similarity=prefers_the_other).select(question, one_hit(text), max_sentences=1)
    assert by_judge.sentences[0].sentence.startswith("The cost of fine-tuning falls")
    assert by_scorer.sentences[0].sentence.startswith("LoRA freezes")


@pytest.fixture
def evidence_home(evidence_settings, monkeypatch):
    from index import embed

    monkeypatch.setitem(embed.EMBEDDERS, "fake-evidence", EvidenceEmbedder)
    monkeypatch.setitem(embed.EMBEDDERS, "fake-missing", MissingModel)
    return evidence_settings.replace(evidence_embedder="fake-evidence")


def test_the_judge_ranks_until_the_sentences_are_kept_with_the_evidence_embedder(evidence_home, built_index, embedder):
    first = Tutor(evidence_home, index=built_index, embedders=embedder)
    first.keep_sentences()  # an ingest: the judge's sentences only, none kept with the evidence embedder before
    assert first.scorer is first.judge and first.selector.similarity.embedder is first.judge
    assert not (evidence_home.home / "cache" / "sentences-fake_evidence-512.npz").exists()

    held = first.keep_evidence_sentences()  # `tutor leg`
    assert held >= 8 and (evidence_home.home / "cache" / "sentences-fake_evidence-512.npz").exists()
    assert first.scorer.model_id == "fake/evidence-512"  # the same tutor ranks by it from its next question

    # a refresh (`tutor ingest`) brings the evidence embedder's file up to date, once it is there
    from index.remember import RememberingEmbedder, sentences_file

    path = sentences_file(evidence_home.home, EvidenceEmbedder.model_id)
    RememberingEmbedder(EvidenceEmbedder()).save(path, ["A sentence from a page since removed."])
    first.keep_sentences()
    assert RememberingEmbedder(EvidenceEmbedder()).load(path) == held

    later = Tutor(evidence_home, index=built_index, embedders=embedder)
    assert later.scorer.model_id == "fake/evidence-512" and len(later.scorer._stored) == held
    question = "What does LoRA freeze and train?"
    hits = later.retrieve(question).hits
    # every sentence is found kept: none is encoded while the learner waits
    later.scorer.inner = QuestionsOnly(later.scorer.inner)
    selection = later.selector.select(question, hits)
    assert selection.answers and "LoRA" in selection.sentences[0].sentence


def test_a_kept_file_without_its_model_leaves_the_judge_ranking(evidence_home, built_index, embedder):
    from index.remember import RememberingEmbedder

    kept = RememberingEmbedder(HashEmbedder())
    kept.model_id = MissingModel.model_id
    kept.save(evidence_home.home / "cache" / "sentences-fake_missing-512.npz", ["LoRA freezes the weights."])
    tutor = Tutor(evidence_home.replace(evidence_embedder="fake-missing"), index=built_index, embedders=embedder)
    assert tutor.scorer is tutor.judge


def test_tutor_leg_keeps_the_evidence_embedders_sentences(evidence_home, built_index, embedder, monkeypatch):
    from argparse import Namespace

    from tutor import cli

    monkeypatch.setattr(cli, "Tutor", lambda settings: Tutor(settings, index=built_index, embedders=embedder))
    out = io.StringIO()
    assert cli._leg(evidence_home.replace(background_embedder=""), Namespace(quiet=True), None, out) == 0
    assert "no background leg is configured" in out.getvalue()
    assert "the evidence is ranked by fake-evidence" in out.getvalue()
    assert (evidence_home.home / "cache" / "sentences-fake_evidence-512.npz").exists()
