"""The no-LLM backend: answer with the best-supported sentences of the passages, each cited.

Useful on machines that cannot run a model, as a fast fallback, and as the
floor any generator must beat. Everything it says is a verbatim sentence of a
source, so its citations are right by construction.
"""

from __future__ import annotations

import re
from typing import Iterator

from tutor.cite import sentence_spans
from tutor.types import Turn

_CJK = re.compile(r"[\u3400-\u9fff]")
_FORMULA = re.compile(r"\\[A-Za-z]+\s*[{(\\]|\$\$|\\tag")  # LaTeX: "\text{tf}(t, d)", "$$", "\tag{1}"
_MARKUP = re.compile(r"^\s*(#+|[-*]|\d+\.|>|\|)\s*")
# A sentence that starts with one of these in lower case begins mid-sentence: the chunk boundary or
# a figure, formula or heading the extractor took out cut it ("the best Q values, but ..."). Not "where":
# "where beta is the temperature of the DPO loss" follows a removed formula and says what it means.
_FRAGMENT = re.compile(r"^(?:the|a|an|and|or|but|with|when|while|which|that|of|to|in|for|as|by|on|"
                       r"at|from|is|are|was|were|so|then|if|because|than|into|its|their|this|these|it|they|we|"
                       r"should|can|could|would|will|may|might|must|be|been|has|have|had|do|does|did|not|also|"
                       r"such|each|both|after|before|since|until|over|using|based)\b")
# Code and figure captions read as nonsense when quoted alone: "enc_outputs = self.encoder(src)",
# "return d2l.reduce_sum(l * mask)", d2l's "[**mask irrelevant entries**]" markup, "(Image source: ...)",
# d2l's ":numref:`fig_vit`" left as "fig_vit".
_NOT_PROSE = re.compile(r"^\s*[\w.\[\]]+\s*=[^=]|\w\([^)]*\)\.\w|\b[a-z_]\w*\.[a-z_]\w*\(|\[\*\*|\breturn\s+\w+[.(]"
                        r"|\(Image source|\bfig_\w|:numref:")
# A caption whose figure the extractor took out reads as a sentence ("The backup diagrams for Q-learning
# and SARSA."): it is a paragraph of its own with a credit after it.
_CREDIT_NEXT = re.compile(r"\s*\((?:Image|Figure)? ?(?:source|credit)", re.IGNORECASE)
# Said before the English sentences shown to a Chinese question: they are the sources' words, not a translation.
LEAD_IN = "以下是来源中最相关的原文（英文保留原样）：\n"


def _caption(text: str, a: int, b: int) -> bool:
    return bool(_CREDIT_NEXT.match(text, b)) and (a == 0 or text[max(0, a - 2):a].count("\n") == 2)


class ExtractiveGenerator:
    """Picks up to `max_sentences` sentences that share the most terms with the question.

    Args:
        settings: unused beyond the interface; kept so every backend is built the same way.
        max_sentences: how many source sentences make an answer.
    """

    model_id = "extractive"
    can_translate = False

    def __init__(self, settings=None, max_sentences: int = 3) -> None:
        self.max_sentences = max_sentences

    def tidy(self, turn: Turn, text: str) -> str:
        return text

    def stream(self, turn: Turn) -> Iterator[str]:
        from index.bm25 import tokenize
        from index.glossary import expand

        # A Chinese question's terms match English sentences only through their English names.
        terms = set(tokenize(turn.question + " " + expand(turn.question)))
        scored = []
        for n, hit in enumerate(turn.hits, start=1):
            for a, b in sentence_spans(hit.chunk.text):
                sentence = hit.chunk.text[a:b].strip()
                if (len(sentence) < 40 or sentence.startswith(("```", "|", "#")) or _FORMULA.search(sentence)
                        or _FRAGMENT.match(sentence) or _NOT_PROSE.search(sentence)
                        or _caption(hit.chunk.text, a, b)):
                    continue  # headings, tables, code, formulas and broken sentences are poor answers alone
                overlap = len(terms & set(tokenize(sentence))) / max(len(terms), 1)
                scored.append((overlap + 0.3 / n, n, a, sentence))  # earlier passages ranked better
        scored.sort(key=lambda s: -s[0])
        chosen = sorted(scored[: self.max_sentences], key=lambda s: (s[1], s[2]))
        if _CJK.search(turn.question):
            yield LEAD_IN
        for i, (_, n, _, sentence) in enumerate(chosen):
            # One line: a hard-wrapped source sentence keeps its line breaks in the chunk.
            yield ("" if i == 0 else " ") + " ".join(_MARKUP.sub("", sentence).split()) + f" [{n}]"
