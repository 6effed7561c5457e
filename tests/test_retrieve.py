import pytest

from tutor.retrieval.retrieve import Retriever, fuse, keyword_coverage


def test_fuse_hand_computed():
    fused = dict(fuse([[1, 2, 3], [3, 1]], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert [p for p, _ in fuse([[1, 2, 3], [3, 1]], k=60)] == [1, 3, 2]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_retriever_finds_the_right_document(built_index, embedder, mode):
    r = Retriever(built_index, embedder, candidates=5, mode=mode)
    hits = r.search("What does LoRA freeze when fine-tuning?", 2)
    assert hits[0].chunk.doc_url == "https://example.org/lora"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1)) and hits[0].stage == mode


def test_filter_and_relevance(built_index, embedder):
    r = Retriever(built_index, embedder, candidates=5)
    got = r.retrieve("attention over tokens", 3, where=lambda c: "Diffusion" in c.section)
    assert {h.chunk.section for h in got.hits} == {"Diffusion"}
    assert r.retrieve("self-attention tokens queries keys", 1).relevance > r.retrieve("tennis racket grip", 1).relevance


def test_keyword_coverage():
    assert keyword_coverage("low-rank LoRA matrices", ["LoRA uses low-rank matrices"]) == 1.0
    assert keyword_coverage("pasta recipe", ["LoRA uses low-rank matrices"]) == 0.0
    # A Chinese term is found through its English name; one the glossary lacks is not.
    assert keyword_coverage("量化", ["4-bit quantization keeps the model small"]) == 1.0
    assert keyword_coverage("量化", ["LoRA uses low-rank matrices"]) == 0.0
    assert keyword_coverage("量化 披萨", ["4-bit quantization keeps the model small"]) == 0.5


def test_chinese_question_relevance_also_reads_its_english_terms(built_index, embedder):
    """The judge also sees "量化 quantization": the relevance is the better of the two readings."""
    from index.build import embed_text

    class Recording(type(embedder)):
        def __init__(self):
            super().__init__()
            self.queries = []

        def embed_queries(self, texts):
            self.queries += list(texts)
            return super().embed_queries(texts)

    judge = Recording()
    r = Retriever(built_index, judge, candidates=5)
    got = r.retrieve("什么是注意力？", 3)
    assert "什么是注意力？ attention" in judge.queries
    passages = judge.embed_documents([embed_text(h.chunk) for h in got.hits])
    best = max(float((passages @ judge.embed_queries([q])[0]).max()) for q in ("什么是注意力？", "什么是注意力？ attention"))
    assert got.relevance == pytest.approx(best, abs=1e-5)
    judge.queries.clear()
    r.retrieve("What is attention?", 3)
    assert judge.queries == ["What is attention?"]  # nothing to render: one judge reading


def test_unknown_mode():
    with pytest.raises(ValueError, match="hybrid"):
        Retriever(None, None, mode="magic")


def test_judge_outside_the_legs_embeds_hits_on_the_fly(built_index, embedder):
    from tests.fake_backends import HashEmbedder

    class OtherJudge(HashEmbedder):
        model_id = "fake/judge"

    judge = OtherJudge()
    got = Retriever(built_index, embedder, candidates=5, judge=judge).retrieve("Gaussian noise denoising", 2)
    # the top 10 fused passages are judged (all 3 of this index), however few are returned, + the question
    assert judge.calls == 4 and len(got.hits) == 2 and got.relevance > 0.2
