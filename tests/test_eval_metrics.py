"""The eval metric maths on small hand-computed examples (pure functions, no models)."""

import math

import pytest

from evals import metrics


def test_hit_and_mrr_with_gold_at_rank_3():
    urls = ["x", "y", "gold", "z", "gold"]
    assert metrics.first_gold_rank(urls, {"gold"}) == 3
    assert metrics.mrr_at(urls, {"gold"}) == pytest.approx(1 / 3)
    assert [metrics.hit_at(urls, {"gold"}, k) for k in (1, 2, 3, 5)] == [0.0, 0.0, 1.0, 1.0]
    assert metrics.mrr_at(urls, {"gold"}, k=2) == 0.0 and metrics.mrr_at(urls, {"nope"}) == 0.0


def test_ndcg_counts_each_gold_document_once():
    # gold {A, B}; ranking X, A, A, B: A counts at rank 2, the second A not at all, B at rank 4.
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert metrics.ndcg_at(["X", "A", "A", "B"], {"A", "B"}) == pytest.approx(dcg / idcg)  # 0.6509
    assert metrics.ndcg_at(["X", "A", "A", "B"], {"A", "B"}) == pytest.approx(0.6509, abs=1e-4)
    assert metrics.ndcg_at(["A", "A", "A"], {"A"}) == 1.0
    assert metrics.ndcg_at(["X", "A"], {"A"}) == pytest.approx(1 / math.log2(3))
    assert metrics.ndcg_at(["X"] * 10 + ["A"], {"A"}) == 0.0  # rank 11 is outside @10
    assert metrics.ndcg_at(["A"], set()) == 0.0


def test_retrieval_scores_has_every_name():
    scores = metrics.retrieval_scores(["x", "g"], ["g"])
    assert scores == {"hit@1": 0.0, "hit@5": 1.0, "hit@10": 1.0, "mrr@10": 0.5,
                      "ndcg@10": pytest.approx(1 / math.log2(3))}


def table(supported: dict):
    """An entails() callback from {(sentence, frozenset(passages)): bool}; anything unlisted is False."""
    return lambda i, refs: supported.get((i, refs), False)


def test_alce_citation_precision_and_recall_on_three_sentences():
    # s0 cites [1], which supports it. s1 cites [1, 2]: jointly supported, [2] alone supports it and
    # [1] alone does not, so [1] is not needed. s2 cites [3], which does not support it.
    cited = [(1,), (1, 2), (3,)]
    entails = table({(0, frozenset({1})): True, (1, frozenset({1, 2})): True, (1, frozenset({2})): True})
    precision, recall = metrics.citation_scores(cited, entails)
    assert recall == pytest.approx(2 / 3)  # s0 and s1 supported by their citations
    assert precision == pytest.approx(2 / 4)  # [1] in s0 and [2] in s1, of 4 citations


def test_alce_joint_support_needs_both_citations_and_uncited_sentences_fail_recall():
    cited = [(1, 2), ()]
    entails = table({(0, frozenset({1, 2})): True})
    assert metrics.citation_scores(cited, entails) == (1.0, 0.5)
    assert metrics.citation_scores([()], entails) == (0.0, 0.0)  # ALCE: no citations -> precision 0
    assert metrics.citation_scores([], entails) == (None, None)


def test_faithfulness_uses_any_passage_cited_in_the_answer():
    # three sentences; the answer cites passages 1 and 2; s2 is backed by passage 2 though it cites nothing.
    entails = table({(0, frozenset({1})): True, (2, frozenset({2})): True})
    assert metrics.faithfulness(3, {1, 2}, entails) == pytest.approx(2 / 3)
    assert metrics.faithfulness(3, set(), entails) == 0.0
    assert metrics.faithfulness(0, {1}, entails) is None


def test_answer_sentences_strip_markers_and_skip_lead_ins():
    text = "以下是来源中最相关的原文：\nLoRA freezes the pretrained weights [1]. It trains two small matrices [1][2][9]. Sure!"
    assert metrics.answer_sentences(text, 2) == [("LoRA freezes the pretrained weights.", (1,)),
                                                 ("It trains two small matrices.", (1, 2))]


def test_refusal_scores_by_hand():
    refused = [True, True, False, False, True]
    answerable = [False, True, True, False, False]
    # correct: 0 (oos refused), 2 (answered), 4 (oos refused) -> 3/5; refusals 3, of which 2 oos; oos 3, refused 2.
    assert metrics.refusal_scores(refused, answerable) == {"refusal_accuracy": 0.6, "refusal_precision": 2 / 3,
                                                            "refusal_recall": 2 / 3}
    assert metrics.refusal_scores([False], [True])["refusal_precision"] is None


def test_percentile_and_aggregate():
    assert metrics.percentile([4, 1, 3, 2], 50) == 2.5
    assert metrics.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert metrics.percentile([], 50) is None
    records = [
        {"hit@5": 1.0, "refused": False, "answerable": True, "total_ms": 100.0, "quotes": 2, "quotes_verbatim": 2},
        {"hit@5": 0.0, "refused": True, "answerable": False, "total_ms": 300.0, "quotes": 0, "quotes_verbatim": 0},
        {"hit@5": None, "refused": True, "answerable": True, "total_ms": 200.0, "quotes": 2, "quotes_verbatim": 1},
    ]
    agg = metrics.aggregate(records)
    assert agg["n"] == 3 and agg["hit@5"] == 0.5 and agg["counts"]["hit@5"] == 2
    assert agg["verbatim_quote_rate"] == 0.75  # pooled over the 4 citations, not averaged per case
    assert agg["refusal_accuracy"] == pytest.approx(2 / 3) and agg["refusal_precision"] == 0.5
    assert agg["total_ms_p50"] == 200.0 and "ttft_ms_p50" not in agg


def test_answer_language():
    assert metrics.answer_language("LoRA 冻结预训练权重，只训练两个低秩矩阵 A 和 B [1]。") == "zh"
    assert metrics.answer_language("LoRA freezes the weights [1].") == "en"
    # The fallback's Chinese lead-in outweighs a short English quote by characters, but the answer is English.
    assert metrics.answer_language("以下是来源中最相关的原文（英文保留原样）：\nLoRA freezes the weights [1].") == "en"
    assert metrics.answer_language("以下是来源中最相关内容的中文转述（英文原文见出处）：\nLoRA 冻结预训练权重 [1]。") == "zh"
    assert metrics.needs_support("LoRA freezes the weights.") and not metrics.needs_support("Sure!")
