"""The no-LLM backend: answer with the best-supported sentences of the passages, each cited.

Useful on machines that cannot run a model, as a fast fallback, and as the
floor any generator must beat. Everything it says is a verbatim sentence of a
source, so its citations are right by construction.
"""

from __future__ import annotations

from typing import Iterator

from core.language import HAN_CHAR
from core.types import Turn
from index.bm25 import tokenize
from index.glossary import expand
from tutor.citations.quotable import clean, prose_spans

# Said before the English sentences shown to a Chinese question: they are the sources' words, not a translation.
LEAD_IN = "以下是来源中最相关的原文（英文保留原样）：\n"


class ExtractiveGenerator:
    """Picks up to `max_sentences` sentences that share the most terms with the question.

    Args:
        max_sentences: how many source sentences make an answer.
    """

    model_id = "extractive"
    can_translate = False
    max_prompt_tokens = None  # (it reads no prompt, measures nothing and has no chat model)
    meter = None
    chat_model = None

    def __init__(self, max_sentences: int = 3) -> None:
        self.max_sentences = max_sentences

    def warm_up(self) -> None:
        return None

    def tidy(self, turn: Turn, text: str) -> str:
        return text

    def stream(self, turn: Turn) -> Iterator[str]:
        # A Chinese question's terms match English sentences only through their English names.
        terms = set(tokenize(turn.question + " " + expand(turn.question)))
        scored = []
        for n, hit in enumerate(turn.hits, start=1):
            # Only whole prose sentences (tutor/quotes/evidence.py): headings, tables, code, formulas, captions and
            # broken sentences are poor answers alone.
            for a, b in prose_spans(hit.chunk.text):
                sentence = hit.chunk.text[a:b].strip()
                overlap = len(terms & set(tokenize(sentence))) / max(len(terms), 1)
                scored.append((overlap + 0.3 / n, n, a, sentence))  # earlier passages ranked better
        scored.sort(key=lambda s: -s[0])
        chosen = sorted(scored[: self.max_sentences], key=lambda s: (s[1], s[2]))
        if HAN_CHAR.search(turn.question):
            yield LEAD_IN
        for i, (_, n, _, sentence) in enumerate(chosen):
            # One line: a hard-wrapped source sentence keeps its line breaks in the chunk.
            yield ("" if i == 0 else " ") + clean(sentence) + f" [{n}]"
