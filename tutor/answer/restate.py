"""Say the sources' quoted sentences in the learner's language when an answer fell back to them.

When nothing of a model's answer passes the citation check, the tutor answers
with the sources' own sentences (tutor/backends/extractive.py). For a question in
Chinese about English sources that means English back: in the full eval run,
37% of such questions got it. Restating a few given sentences is a smaller,
closer task than answering, which a 1.5B model does well, and a faithful
translation scores high on the multilingual judge, so the restatement goes
through the same check as any answer; the English sentence stays in the
citation's quote, where the learner can compare the two.
"""

from __future__ import annotations

import dataclasses
import re

from core.language import question_language
from core.markers import MARKER, parse_markers, strip_markers
from core.types import Hit, Turn
from tutor.citations.cite import sentence_spans

_MARKERS = re.compile(rf"(?:\s*{MARKER.pattern})+")  # "[3][2]" is one run: mapped, it may say one number twice
# Said before a restatement, as the English fallback says its LEAD_IN (tutor/backends/extractive.py):
# the learner should know these are the sources' sentences retold, not the model's own answer.
LEAD_IN = {"zh": "以下是来源中最相关内容的中文转述（英文原文见出处）：\n"}
MAX_QUOTES = 4  # each one is a sentence to write; more than the extractive fallback's 3 is never needed


def wanted(question: str) -> bool:
    """Whether a fallback to the sources' words should be restated: the question is in Chinese, Japanese or Korean.

    (The sources are English, and the fallback only detects those scripts.)
    """
    return question_language(question) is not None


def restate_turn(turn: Turn, quoted: str) -> tuple[Turn, list[int]]:
    """The turn that asks for `quoted`'s sentences in the question's language.

    Args:
        turn: the turn whose answer fell back; its hits are the passages `quoted` cites.
        quoted: the fallback text, sentences of the passages each ending with `[n]`.

    Returns:
        A "restate" turn whose passages are the quoted sentences (numbered 1..m in
        their order, so the model writes one sentence per passage), and for each
        new number the passage number it stands for (`numbers[i - 1]`).
    """
    hits: list[Hit] = []
    numbers: list[int] = []
    for a, b in sentence_spans(quoted):
        sentence = quoted[a:b]
        cited = [n for n in parse_markers(sentence) if 1 <= n <= len(turn.hits)]
        bare = strip_markers(sentence).strip()
        if not cited or not bare or len(hits) == MAX_QUOTES:
            continue  # the fallback's lead-in line cites nothing
        source = turn.hits[cited[0] - 1]
        hits.append(Hit(dataclasses.replace(source.chunk, text=bare), source.score, len(hits) + 1, stage=source.stage))
        numbers.append(cited[0])
    return Turn(turn.question, tuple(hits), mode="restate", level=turn.level), numbers


def lead_in(question: str) -> str:
    """The line that introduces a restatement for `question` ("" for a language without one)."""
    return LEAD_IN.get(question_language(question) or "", "")


def renumber(text: str, numbers: list[int]) -> str:
    """Point the restatement's markers `[i]` back at the passages they stand for (`[numbers[i-1]]`).

    A marker outside 1..len(numbers) is removed: it cites nothing the model was shown.
    """
    def swap(match: re.Match[str]) -> str:
        mapped = [numbers[n - 1] for n in parse_markers(match.group(0)) if 1 <= n <= len(numbers)]
        return "".join(f"[{n}]" for n in dict.fromkeys(mapped))
    return _MARKERS.sub(swap, text)
