"""Support judges: does a passage back a claim, does an answer state a key fact?

Two implementations with the same two methods (`supports`, `has_fact`):

- `OfflineJudge`: multilingual sentence embeddings (Universal Sentence Encoder
  multilingual by default: pure NumPy, fast) plus lexical and number overlap.
  Cross-language by design: key facts are English while answers may be
  Chinese. It cannot see negation or contradiction, so it measures topical
  support, not entailment; read its numbers as an upper bound.
- `LLMJudge`: a yes/no question per claim to an OpenAI-compatible chat model.

`judge_answer` turns one Answer into per-case answer metrics with either.
Every judge has a `name`, which the report prints next to each number.
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Sequence

import numpy as np

from evals import metrics
from tutor.cite import MARKER, sentence_spans
from tutor.config import Settings
from tutor.errors import ConfigError
from tutor.types import Answer

log = logging.getLogger(__name__)

# Calibrated on obvious pairs (tests/test_evals.py::test_offline_judge_calibration):
# with USE-multilingual, supporting paraphrases and zh translations score 0.60-1.0,
# unrelated claims <= 0.22 and a claim with a wrong number 0.41; stated key facts
# score 0.51-1.0 and absent ones <= 0.22. Each threshold sits mid-gap.
SUPPORT_THRESHOLD = 0.5
FACT_THRESHOLD = 0.4
NUMBER_PENALTY = 0.3  # a claim whose numbers are not in the passage is likely wrong
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class OfflineJudge:
    """Embedding similarity plus lexical and number overlap; no network, no LLM.

    Args:
        embedder: an `Embedder`; defaults to `make_embedder("use-multilingual")`, loaded on first use.
        support_threshold, fact_threshold: score needed to call a claim supported / a fact found.
    """

    def __init__(self, embedder=None, support_threshold: float = SUPPORT_THRESHOLD,
                 fact_threshold: float = FACT_THRESHOLD) -> None:
        self._embedder = embedder
        self.support_threshold = support_threshold
        self.fact_threshold = fact_threshold
        self._cache: dict[str, np.ndarray] = {}

    @property
    def embedder(self):
        if self._embedder is None:
            from index.embed import make_embedder

            self._embedder = make_embedder("use-multilingual")
        return self._embedder

    @property
    def name(self) -> str:
        model = self._embedder.model_id if self._embedder is not None else "universal-sentence-encoder-multilingual-3"
        return f"offline:{model.split('/')[-1]}+lexical"

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.embedder.embed_documents(missing)):
                self._cache[text] = vector
        return np.vstack([self._cache[t] for t in texts])

    def _score(self, claim: str, units: list[str], whole: str) -> float:
        """max(semantic, lexical) minus a penalty for numbers the evidence lacks."""
        from index.bm25 import tokenize

        claim = MARKER.sub("", claim).strip()
        units = [u for u in units if u.strip()] or [whole[:500]]
        if not claim or not whole.strip():
            return 0.0
        vectors = self._vectors([claim] + units)
        semantic = float((vectors[1:] @ vectors[0]).max())
        terms = set(tokenize(claim))
        lexical = 0.0
        if terms:
            coverage = len(terms & set(tokenize(whole))) / len(terms)
            local = max(len(terms & set(tokenize(u))) / len(terms) for u in units)
            lexical = 0.5 * coverage + 0.5 * local  # spread over the passage counts less than in one place
        numbers = set(_NUMBER.findall(claim))
        missing = [n for n in numbers if n not in whole]
        return max(semantic, lexical) - NUMBER_PENALTY * len(missing) / max(len(numbers), 1)

    def support_score(self, claim: str, passages: Sequence[str]) -> float:
        """How well the passages, taken together, back the claim (about -0.3..1)."""
        return self._score(claim, _units(passages), "\n".join(passages))

    def supports(self, claim: str, passages: Sequence[str]) -> bool:
        """Whether the passages jointly support the claim."""
        return self.support_score(claim, passages) >= self.support_threshold

    def fact_score(self, fact: str, answer: str) -> float:
        """How well some sentence (or pair of sentences) of the answer states the fact."""
        return self._score(fact, _units([MARKER.sub("", answer)]), MARKER.sub("", answer))

    def has_fact(self, fact: str, answer: str) -> bool:
        """Whether the answer states the key fact (in any language)."""
        return self.fact_score(fact, answer) >= self.fact_threshold


def _units(texts: Sequence[str]) -> list[str]:
    """Sentences and pairs of adjacent sentences: a claim often merges two source sentences."""
    units: list[str] = []
    for text in texts:
        sentences = [text[a:b] for a, b in sentence_spans(text)]
        units += sentences + [f"{x} {y}" for x, y in zip(sentences, sentences[1:])]
    return units


SUPPORT_PROMPT = """You check whether sources support a claim.

Sources:
{passages}

Claim: {claim}

Is everything the claim states supported by the sources above, taken together? The claim may be in a \
different language from the sources. Reply with one word: yes or no."""

FACT_PROMPT = """You check whether an answer states a fact.

Answer:
{answer}

Fact: {fact}

Does the answer state this fact (possibly in other words or another language)? Reply with one word: yes or no."""


class LLMJudge:
    """Asks a chat model yes/no per claim; answers are cached per (prompt).

    Args:
        chat_model: a LangChain chat model (`invoke` returning a message).
        model_id: the model's name, for reports.
    """

    def __init__(self, chat_model, model_id: str) -> None:
        self.chat_model = chat_model
        self.name = f"llm:{model_id}"
        self._cache: dict[str, bool] = {}

    def _ask(self, prompt: str) -> bool:
        if prompt not in self._cache:
            reply = self.chat_model.invoke([("user", prompt)]).content
            text = reply if isinstance(reply, str) else str(reply)
            word = re.sub(r"[^a-z是否]", "", text.strip().lower()[:8])
            self._cache[prompt] = word.startswith(("yes", "是"))
        return self._cache[prompt]

    def supports(self, claim: str, passages: Sequence[str]) -> bool:
        """Whether the passages jointly support the claim, per the model."""
        numbered = "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
        return self._ask(SUPPORT_PROMPT.format(passages=numbered, claim=MARKER.sub("", claim).strip()))

    def has_fact(self, fact: str, answer: str) -> bool:
        """Whether the answer states the fact, per the model."""
        return self._ask(FACT_PROMPT.format(answer=MARKER.sub("", answer).strip(), fact=fact))


def make_judge(kind: str, settings: Settings, embedder=None):
    """Build the judge named by `--judge`.

    Args:
        kind: "offline" or "llm".
        settings: for "llm", `llm_base_url` (TUTOR_LLM_BASE_URL), `llm_model` and `llm_api_key`.
        embedder: an embedder for the offline judge (tests); default USE-multilingual.

    Raises:
        ConfigError: an unknown kind, or "llm" without an endpoint.
    """
    if kind == "offline":
        return OfflineJudge(embedder)
    if kind != "llm":
        raise ConfigError(f"--judge {kind!r} is not one of: offline, llm")
    if not settings.llm_base_url:
        raise ConfigError("--judge llm needs an OpenAI-compatible endpoint: set TUTOR_LLM_BASE_URL "
                          "(and TUTOR_LLM_MODEL, TUTOR_LLM_API_KEY), or use --judge offline")
    from tutor.llm import make_chat_model

    chat = make_chat_model(settings.replace(llm="openai", temperature=0.0, max_tokens=3))
    return LLMJudge(chat, settings.llm_model)


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
    }
    details = {"sentences": [{"claim": c, "cited": list(r), "supported": bool(r) and entails(i, frozenset(r))}
                             for i, (c, r) in enumerate(sentences)],
               "key_facts": [{"fact": f, "found": ok} for f, ok in zip(key_facts, facts)]}
    return scores, details
