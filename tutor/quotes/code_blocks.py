"""The code a question asks for: the snippet of the top passages that shows it, with the sentence that leads into it.

"How does the Annotated Transformer's code write the residual connection?" is answered by the
`SublayerConnection` class, not by the paper's sentence on residual connections the evidence picks
(tutor/quotes/evidence.py quotes prose only). Code is scored by what a reader sees in it: the prose
sentence leading into it, and its names and comments in words (`SublayerConnection` reads "sublayer
connection", its docstring "A residual connection followed by a layer norm").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from core.types import Hit
from index.bm25 import tokenize
from tutor.citations.cite import sentence_spans
from tutor.citations.quotable import code_fits, leads_in, prose_spans

# Below this the best snippet only shares a word or two with the question: no code is better than the wrong code.
MIN_CODE_SCORE = 0.3


@dataclass(frozen=True)
class Snippet:
    """A code block of passage `n` and the prose sentence leading into it (`lead`, a span of the passage)."""

    n: int
    hit: Hit
    lead: tuple[int, int]
    span: tuple[int, int]
    score: float

    @property
    def code(self) -> str:
        return self.hit.chunk.text[self.span[0]:self.span[1]]


_FENCED = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.S | re.M)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def in_words(code: str) -> str:
    """A snippet as words: identifiers split (`SublayerConnection`, `self_attn` -> "Sublayer Connection", "self attn")."""
    return " ".join(_CAMEL.sub(" ", w).replace("_", " ") for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[^\x00-\x7f]+", code))


def snippets(passages: Sequence[tuple[int, Hit]]) -> list[Snippet]:
    """The readable code blocks of the passages (numbered), each with the prose sentence before it in its passage."""
    out = []
    for n, hit in passages:
        text = hit.chunk.text
        prose = set(prose_spans(text))
        spans = sentence_spans(text)
        for m in _FENCED.finditer(text):
            a, b = m.span()
            before = [s for s in spans if s[1] <= a]
            if not code_fits(text[a:b]) or not before or text[before[-1][1]:a].strip():
                continue  # (a snippet right after a heading, a table or other code has no sentence leading into it)
            lead = before[-1]
            if lead not in prose:
                if not leads_in(text[lead[0]:lead[1]]):
                    continue
                # "... runs like this:" is quoted with the sentence of its paragraph before it, when there is one
                previous = before[-2] if len(before) > 1 else None
                if previous in prose and "\n\n" not in text[previous[1]:lead[0]]:
                    lead = (previous[0], lead[1])
            out.append(Snippet(n, hit, lead, (a, b), 0.0))
    return out


def best_snippet(queries: Sequence[str], passages: Sequence[tuple[int, Hit]], judge,
                 weight: Callable[[str], float]) -> Snippet | None:
    """The snippet of the passages (the ones an answer quotes, numbered as in it) that best shows what the
    question asks, if any shows it well enough."""
    found = snippets(passages)
    if not found:
        return None
    texts = [f"{s.hit.chunk.text[s.lead[0]:s.lead[1]]} {in_words(s.code)}" for s in found]
    similarity = np.max(judge.embed_queries(list(queries)) @ judge.embed_documents(texts).T, axis=0)
    terms = [{t: weight(t) for t in set(tokenize(q))} for q in queries]
    held = [set(tokenize(t)) for t in texts]
    lexical = np.array([max((sum(w for t, w in ts.items() if t in h) / sum(ts.values()) if ts else 0.0)
                            for ts in terms) for h in held])
    score = 0.5 * similarity + 0.5 * lexical
    best = int(np.argmax(score))
    if score[best] < MIN_CODE_SCORE:
        return None
    s = found[best]
    return Snippet(s.n, s.hit, s.lead, s.span, float(score[best]))
