"""Eval metrics as pure functions: per-case scores in, numbers out.

Nothing here loads a model or reads a file. Support judgments arrive as an
`entails(sentence, passages) -> bool` callback, so the same ALCE arithmetic
runs with the offline judge, an LLM judge or a hand-written table in tests.

Retrieval relevance is per document: a retrieved chunk is a hit when its
`doc_url` is one of the case's `gold_urls`. For nDCG@10 the relevance is
binary per rank and only the *first* chunk of each gold document counts;
later chunks of the same document score 0. So a ranking that repeats one gold
document cannot beat one that finds two different gold documents, and the
ideal DCG is that of min(|gold|, 10) distinct gold documents at the top.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Mapping, Sequence

from core.markers import parse_markers, strip_markers
from index.bm25 import tokenize
from tutor.answer.checker import answer_language as script
from tutor.citations.cite import sentence_spans

RETRIEVAL_METRICS = ("hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10")
ANSWER_METRICS = ("citation_precision", "citation_recall", "faithfulness", "groundedness", "key_fact_recall",
                  "verbatim_quote_rate", "answer_language_match")
JUDGED_METRICS = ANSWER_METRICS[:5]  # the ones a support judge decides
# Lower is better, so kept out of the answer plots: answers whose model sentences all failed the
# citation check and were replaced by the sources' own sentences (None for a pipeline without the check).
RATES = ("quoted_fallback_rate",)
REFUSAL_METRICS = ("refusal_accuracy", "refusal_precision", "refusal_recall")
LATENCIES = ("ttft_ms", "total_ms", "retrieval_ms")
PRIMARY = {"retrieval": "hit@5", "answers": "citation_recall"}
Entails = Callable[[int, frozenset[int]], bool]


def first_gold_rank(urls: Sequence[str], gold: Iterable[str], k: int = 10) -> int | None:
    """1-based rank of the first retrieved chunk from a gold document within the top k, else None."""
    gold = set(gold)
    return next((i for i, url in enumerate(urls[:k], start=1) if url in gold), None)


def hit_at(urls: Sequence[str], gold: Iterable[str], k: int) -> float:
    """1.0 if a gold document is among the top-k chunks, else 0.0."""
    return float(first_gold_rank(urls, gold, k) is not None)


def mrr_at(urls: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    """Reciprocal rank of the first gold chunk within the top k (0.0 if none): gold at rank 3 gives 1/3."""
    rank = first_gold_rank(urls, gold, k)
    return 1.0 / rank if rank else 0.0


def ndcg_at(urls: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    """nDCG@k with binary relevance, counting each gold document once (at its first rank).

    Example: gold {A, B}, ranking [X, A, A, B] gives DCG = 1/log2(3) + 1/log2(5)
    and IDCG = 1/log2(2) + 1/log2(3).
    """
    gold = set(gold)
    if not gold:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for i, url in enumerate(urls[:k], start=1):
        if url in gold and url not in seen:
            seen.add(url)
            dcg += 1.0 / math.log2(i + 1)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def retrieval_scores(urls: Sequence[str], gold: Iterable[str]) -> dict[str, float]:
    """hit@1, hit@5, hit@10, mrr@10 and ndcg@10 for one ranked list of chunk document URLs."""
    gold = set(gold)
    return {"hit@1": hit_at(urls, gold, 1), "hit@5": hit_at(urls, gold, 5), "hit@10": hit_at(urls, gold, 10),
            "mrr@10": mrr_at(urls, gold, 10), "ndcg@10": ndcg_at(urls, gold, 10)}


def needs_support(claim: str) -> bool:
    """Whether a sentence states something a source must back.

    Lead-ins ending in a colon ("Here is what the sources say:") and fragments
    with fewer than three content terms ("Sure!") do not; everything else does.
    """
    bare = strip_markers(claim).strip()
    return not bare.endswith((":", "：")) and len(tokenize(bare)) >= 3


def answer_sentences(text: str, n_passages: int) -> list[tuple[str, tuple[int, ...]]]:
    """(claim without markers, cited passage numbers in range) for every sentence that needs support."""
    out = []
    for a, b in sentence_spans(text):
        sentence = text[a:b]
        claim = strip_markers(sentence).strip()
        if needs_support(claim):
            out.append((claim, tuple(n for n in parse_markers(sentence) if 1 <= n <= n_passages)))
    return out


def citation_scores(cited: Sequence[Sequence[int]], entails: Entails) -> tuple[float | None, float | None]:
    """ALCE citation (precision, recall) of one answer (Gao et al. 2023, `compute_autoais`).

    Recall: a sentence counts when it has citations and its cited passages
    jointly entail it; the score is the share of sentences that count.
    Precision: a citation counts when its sentence is jointly entailed and the
    citation is needed: it entails the sentence alone, or the other citations
    alone do not. The score is counted citations / all citations (0 if none).

    Args:
        cited: for each sentence that needs support, the passage numbers it cites.
        entails: entails(sentence index, passage numbers) -> whether they support it.

    Returns:
        (precision, recall); (None, None) when there is no sentence to score.
    """
    if not cited:
        return None, None
    supported = precise = total = 0
    for i, refs in enumerate(cited):
        refs = list(dict.fromkeys(refs))
        total += len(refs)
        if not refs or not entails(i, frozenset(refs)):
            continue
        supported += 1
        if len(refs) == 1:
            precise += 1
            continue
        for n in refs:
            rest = frozenset(refs) - {n}
            if entails(i, frozenset({n})) or not entails(i, rest):
                precise += 1  # needed: the others do not cover the sentence without it
    return (precise / total if total else 0.0), supported / len(cited)


def faithfulness(n_sentences: int, cited_anywhere: Iterable[int], entails: Entails) -> float | None:
    """Share of sentences that some passage cited anywhere in the answer supports on its own.

    Unlike citation recall, a sentence whose own marker is missing or points
    elsewhere still counts if the answer cites a passage that backs it.
    """
    if not n_sentences:
        return None
    passages = sorted(set(cited_anywhere))
    return sum(any(entails(i, frozenset({p})) for p in passages) for i in range(n_sentences)) / n_sentences


def share(flags: Sequence[bool]) -> float | None:
    """Share of true flags, None for an empty list (e.g. key facts found in an answer)."""
    return sum(map(bool, flags)) / len(flags) if flags else None


def answer_language(text: str) -> str:
    """"zh" when the text is mainly Chinese, else "en" (markers and the English fallback's Chinese lead-in aside)."""
    return "zh" if script(text) == "zh" else "en"


def refusal_scores(refused: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Refusal accuracy, precision and recall; "positive" = refused, correct when the case is out of scope.

    Accuracy is the share of cases handled right (out of scope refused, in
    scope answered); precision is the share of refusals that were out of
    scope; recall the share of out-of-scope cases refused. None when undefined.
    """
    pairs = list(zip(refused, answerable))
    tp = sum(r and not a for r, a in pairs)
    refusals = sum(r for r, _ in pairs)
    oos = sum(not a for _, a in pairs)
    return {"refusal_accuracy": sum(r != a for r, a in pairs) / len(pairs) if pairs else None,
            "refusal_precision": tp / refusals if refusals else None,
            "refusal_recall": tp / oos if oos else None}


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between ranks (numpy's default)."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


def aggregate(records: Sequence[Mapping]) -> dict:
    """Aggregate per-case records of one group (a config, a pair, a part).

    Each record maps metric names to a value or None (not applicable), plus
    `refused`/`answerable` booleans, latencies in ms, and `quotes`/`quotes_verbatim`
    counts. Means skip None; the verbatim-quote rate is pooled over all
    citations; refusal numbers come from the booleans; latencies give p50/p95.

    Returns:
        {"n": cases, <metric>: value, ..., "counts": {<metric>: cases used}}.
    """
    out: dict = {"n": len(records)}
    counts: dict[str, int] = {}
    for name in RETRIEVAL_METRICS + ANSWER_METRICS + RATES:
        if name == "verbatim_quote_rate":
            total = sum(r.get("quotes", 0) for r in records)
            if total:
                out[name] = sum(r.get("quotes_verbatim", 0) for r in records) / total
                counts[name] = total
            continue
        values = [r[name] for r in records if r.get(name) is not None]
        if values:
            out[name], counts[name] = sum(values) / len(values), len(values)
    judged = [r for r in records if r.get("refused") is not None]
    if judged:
        for name, value in refusal_scores([r["refused"] for r in judged], [r["answerable"] for r in judged]).items():
            if value is not None:
                out[name], counts[name] = value, len(judged)
    for name in LATENCIES:
        values = [r[name] for r in records if r.get(name) is not None]
        if values:
            out[f"{name}_p50"], out[f"{name}_p95"] = percentile(values, 50), percentile(values, 95)
            counts[name] = len(values)
    out["counts"] = counts
    return out
