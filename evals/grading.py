"""Grading one answer: ALCE-style citation precision and recall, faithfulness, key facts, quotes, language.

The judge (any object with `supports` and `has_fact`, from `evals.judge`) decides support; this
module only reads the answer's markers, asks the judge the right questions and counts.
"""

from __future__ import annotations

from typing import Callable, Sequence

from core.types import Answer
from evals import metrics


def judge_answer(judge, answer: Answer, key_facts: Sequence[str], lang: str,
                 chunk_text: Callable[[str], str | None]) -> tuple[dict, dict]:
    """Score one answer: ALCE citation precision/recall, faithfulness, key facts, quotes, language.

    Citation markers are read from the answer text and point into `answer.hits`
    (1-based, prompt order), as in ALCE; quotes come from `answer.citations`.

    Args:
        judge: an OfflineJudge or LLMJudge.
        answer: the pipeline's Answer.
        key_facts: the case's key facts.
        lang: the question's language ("en" | "zh").
        chunk_text: chunk id -> its text in the index (None if unknown), for the verbatim check.

    Returns:
        (per-case metric values, details for results.jsonl).
    """
    passages = [h.chunk.text for h in answer.hits]
    sentences = metrics.answer_sentences(answer.text, len(passages))
    memo: dict[tuple[int, frozenset[int]], bool] = {}

    def entails(i: int, refs: frozenset[int]) -> bool:
        if not refs:
            return False
        if (i, refs) not in memo:
            memo[(i, refs)] = judge.supports(sentences[i][0], [passages[n - 1] for n in sorted(refs)])
        return memo[(i, refs)]

    cited = [refs for _, refs in sentences]
    precision, recall = metrics.citation_scores(cited, entails)
    anywhere = {n for refs in cited for n in refs}
    grounded = [judge.supports(claim, passages) for claim, _ in sentences] if passages else []
    facts = [judge.has_fact(f, answer.text) for f in key_facts]
    verbatim = [bool(c.quote.strip()) and c.quote in (chunk_text(c.chunk_id) or "") for c in answer.citations]
    scores = {
        "citation_precision": precision, "citation_recall": recall,
        "faithfulness": metrics.faithfulness(len(sentences), anywhere, entails),
        "groundedness": metrics.share(grounded) if sentences else None,
        "key_fact_recall": metrics.share(facts),
        "quotes": len(verbatim), "quotes_verbatim": sum(verbatim),
        "answer_language_match": float(metrics.answer_language(answer.text) == lang),
        "quoted_fallback_rate": float(answer.checked == "quoted") if answer.checked else None,
    }
    details = {"sentences": [{"claim": c, "cited": list(r), "supported": bool(r) and entails(i, frozenset(r))}
                             for i, (c, r) in enumerate(sentences)],
               "key_facts": [{"fact": f, "found": ok} for f, ok in zip(key_facts, facts)]}
    return scores, details
