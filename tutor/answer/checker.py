"""What the learner is shown after the model has answered: only what the sources support.

`AnswerChecker` verifies the model's citations (tutor/citations/cite.py); with
`unsupported = "drop"` it takes out what no passage supports, falls back to
the passages' own sentences when nothing is left, and, with `restate`, has a
fallback for a non-English question said in the question's language
(tutor/answer/restate.py) before it gives up and shows the English sentences.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from core.config import Settings
from core.errors import ConfigError
from core.language import is_chinese, question_language
from core.markers import strip_markers
from core.types import KEPT, QUOTED, RESTATED, Checked, Hit, Turn
from index.glossary import chinese_names
from tutor.answer.refusal import declined
from tutor.answer.restate import lead_in, renumber, restate_turn, wanted
from tutor.backends.extractive import LEAD_IN, ExtractiveGenerator
from tutor.citations.cite import SupportScorer, check
from tutor.citations.cite_llm import LlmCheckedScorer


def answer_language(text: str) -> str | None:
    """The script an answer is written in, as `question_language` reads it, markers and the English
    fallback's lead-in line aside: a Chinese line before English sentences does not make them Chinese."""
    return question_language(strip_markers(text.removeprefix(LEAD_IN)))


MIN_ANSWER_CHARS = 12  # a verified answer shorter than this (markers aside) is replaced by the sources' words

def note(checked: Checked, question: str) -> str:
    """What to tell the learner about a checked answer, in their language ("" when nothing was changed)."""
    if not checked.dropped and checked.how == KEPT:
        return ""
    n = len(checked.dropped)
    if is_chinese(question):
        took = f"删去了 {n} 句来源不支持的内容" if n else "模型的回答太短，无法核对"
        return took + {KEPT: "。", QUOTED: "，改为直接引用来源原文。", RESTATED: "，改为用中文转述来源原文（引文见出处）。"}[checked.how]
    took = f"Took out {n} sentence{'s' if n > 1 else ''} that no source supports" if n else \
        "The model's answer was too short to check against the sources"
    return took + {KEPT: ".", QUOTED: "; showing the sources' own words instead.",
                   RESTATED: "; restating the sources' own words instead (quoted in the citations)."}[checked.how]


def term_note(question: str, text: str) -> str:
    """For a Chinese question answered in English (the sources' own words, or a model that would not
    write Chinese): the Chinese names of the terms those sentences use, so the learner can read them."""
    if question_language(question) != "zh" or answer_language(text) == "zh":
        return ""

    pairs = chinese_names(text, question, words=False)
    return "英文术语对照：" + "、".join(f"{en}（{zh}）" for en, zh in pairs) if pairs else ""


class AnswerChecker:
    """Checks a generator's answers against the passages it was shown.

    Args:
        settings: uses support_threshold, unsupported, citation_check and restate.
        judge: the multilingual embedder that scores support.
        generator: the backend that wrote the answer (asked again to restate a fallback).
    """

    def __init__(self, settings: Settings, judge, generator) -> None:
        self.settings, self.judge, self.generator = settings, judge, generator

    def __call__(self, text: str, turn: Turn, shown: Sequence[Hit]) -> Checked:
        """Check `text`, the answer to `turn`; `shown` are the stored passages behind `turn.hits`.

        Checked against the whole stored passages: the shortened ones the model read
        are subsets of them (same order), and a quote must be a span of the stored chunk.
        """
        hits = list(shown[: len(turn.hits)])
        strict = self.settings.unsupported == "drop" and not declined(text, False)  # a refusal stays a refusal
        checked = check(text, hits, self.scorer(), self.settings.support_threshold, drop_unsupported=strict)
        if not strict or _says_something(checked):
            return checked

        turn = dataclasses.replace(turn, hits=tuple(hits))
        quoted = "".join(ExtractiveGenerator().stream(turn))
        if self.settings.restate and wanted(turn.question) and self.generator.model_id != "extractive":
            restated = self._restate(turn, quoted)
            if restated is not None:
                return Checked(lead_in(turn.question) + restated.text, restated.citations, checked.dropped, RESTATED)
        fallback = check(quoted, hits, SupportScorer(self.judge), self.settings.support_threshold,
                         drop_unsupported=False)
        return Checked(fallback.text, fallback.citations, checked.dropped, QUOTED)

    def _restate(self, turn: Turn, quoted: str):
        """The quoted sentences said in the question's language, if that passes the check; else None."""
        ask, numbers = restate_turn(turn, quoted)
        if not ask.hits:
            return None
        text = "".join(self.generator.stream(ask))
        text = renumber(self.generator.tidy(ask, text), numbers)
        checked = check(text, list(turn.hits), self.scorer(), self.settings.support_threshold, drop_unsupported=True)
        same_language = question_language(checked.text) == question_language(turn.question)
        return checked if _says_something(checked) and same_language else None

    def scorer(self) -> SupportScorer:
        """The citation scorer: embeddings and overlap, plus the chat model's opinion if configured."""
        if self.settings.citation_check != "llm":
            return SupportScorer(self.judge)
        chat_model = self.generator.chat_model
        if chat_model is None:
            raise ConfigError(f"TUTOR_CITATION_CHECK=llm needs a chat model, and {self.generator.model_id} has none; "
                              "use TUTOR_LLM=local or openai, or TUTOR_CITATION_CHECK=embedding")

        return LlmCheckedScorer(self.judge, chat_model, self.settings.support_threshold)


def _says_something(checked) -> bool:
    # Kept when something supported is left; "根据[2]。" alone ("According to [2].") says nothing.
    said = strip_markers(checked.text).strip(" \n。.")
    return bool(checked.citations) and len(said) >= MIN_ANSWER_CHARS
