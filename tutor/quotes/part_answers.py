"""A question in several parts, answered part by part: the best sentence for each part no pick answers.

"X 是什么？需要什么基础？" and "位置偏差和曝光偏差分别是什么" ask two things; a sentence answering the whole
question's words best often answers one of them (tutor/retrieval/parts.py splits the question).
The selector (tutor/quotes/evidence.py) adds what this module finds to its picks.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from core.language import question_language
from index.bm25 import tokenize
from index.glossary import expand
from tutor.citations.quotable import clean
from tutor.quotes.candidates import OPENING, SAME_SAYING_TRANSLATED, Candidate
from tutor.retrieval.parts import named_parts, rendered_parts

PART_ANSWERED = 0.85  # a pick scoring this share of the part's best candidate answers the part
PART_MIN, PART_MIN_SIMILARITY = 0.35, 0.3
NAME_OPENS = 0.3  # a named part's sentence that opens on the name, over one naming it in passing


def other_parts(similar: Callable[[Sequence[str], Sequence[str]], np.ndarray], weight: Callable[[str], float], question: str, english: str, candidates: Sequence[Candidate],
                texts: list[str], tokens: list[set[str]], vectors: np.ndarray, whole: np.ndarray, picked: list[int],
                chinese: np.ndarray) -> tuple[list[int], set[int]]:
    """For a question in several parts ("X 是什么？需要什么基础？"), the best sentence for each part no pick answers,
    and the picks that answer a part.

    A part counts as answered when a picked sentence scores nearly as well for it as the best
    candidate does; otherwise that candidate is added if it is about the part on its own merit.
    A part about one of several names ("位置偏差和曝光偏差分别是什么") is answered only by a sentence
    naming it, and the best sentence naming it is added when no pick does.
    """
    asked = named_parts(question)
    if len(asked) < 2:
        return [], set()
    english_parts = rendered_parts(question, english)
    added: list[int] = []
    answering: set[int] = set()
    for (part, name), (rendered, english_name) in zip(asked, english_parts):
        queries = [q for q in (part, rendered) if q]
        similarity = similar(queries, texts)
        terms = [{t: weight(t) for t in set(tokenize(q))} for q in queries]
        lexical = np.array([max((sum(w for t, w in ts.items() if t in held) / sum(ts.values())
                                 if ts else 0.0) for ts in terms) for held in tokens])
        if not rendered and question_language(part) == "zh":
            # a Chinese part's words are not in an English sentence (its names may be): meaning stands in,
            # for a Chinese sentence too, so that of two saying the same the one in the learner's language wins
            lexical = np.maximum(lexical, similarity)
        own = 0.35 * similarity + 0.4 * lexical  # how well a sentence answers this part, by the part alone
        # (the whole question's similarity keeps "what effect did it have?" on the question's subject)
        value = own + 0.25 * whole
        # A part about one of several names ("SARSA 和 Q-learning 有什么区别") is answered only by a
        # sentence that names it: one sharing the question's other words answers another name's part.
        # (a Chinese name on English passages is named by its English: 聚类 by "Clustering Analysis")
        naming = [n for n in (name, english_name or expand(name)) if n]
        holds = [not naming or any(names_it(t, n, tokenize) for n in naming) for t in texts]
        if not any(holds):  # named in other words, or in another language: its similarity has to say it
            naming, holds = [], [True] * len(texts)
        # ... and best by one that opens on the name, saying what it is or does ("位置偏差(positional
        # bias),即模型倾向于……"), not one naming it in passing ("……来解决位置偏差问题").
        opens = NAME_OPENS * np.array([any(opens_on(t, n, tokenize) for n in naming) for t in texts])
        value, own = value + opens, own + opens
        for i, c in enumerate(candidates):
            if c.listing or not holds[i]:
                value[i] = -np.inf
        best = int(np.argmax(value))
        if not np.isfinite(value[best]):
            continue
        # A pick answers the part when it answers it nearly as well as the part's best sentence does, by the
        # part's own words and meaning: every pick is like the whole question, so by that it "answered" the
        # second part of "how is the classifier attached to BERT? and did next-sentence prediction prove
        # useful?" with a sentence on the classifier.
        chosen = [i for i in picked + added if holds[i]]
        by = [i for i in chosen if i == best or own[i] >= PART_ANSWERED * own[best]
              or vectors[i] @ vectors[best] >= SAME_SAYING_TRANSLATED]  # said by a pick
        if by:
            answering.update(i for i in by if i in picked)
            continue
        # (for a named part, naming it is the sign of being about it that similarity gives otherwise)
        if naming or value[best] >= PART_MIN and similarity[best] >= PART_MIN_SIMILARITY:
            added.append(best)
    return added, answering



def opens_on(text: str, name: str, tokenize) -> bool:
    """Whether a sentence is about `name`: it names it in its opening words, or says what is called so
    ("The term P(Hypothesis) is also called **prior**", "……称为先验")."""
    opening = OPENING.sub("", clean(text))
    if names_it(opening[:len(name) + 8] if question_language(opening) == "zh"
              else " ".join(opening.split()[:len(name.split()) + 2]), name, tokenize):
        return True
    called = re.search(r"\b(?:called|named|known as|referred to as|termed)\s+[*_\"“]*(?:the\s+)?(.{1,40})|"
                       r"(?:称为|叫做|叫作|称作|即)[“\"「]?(.{1,20})", clean(text), re.IGNORECASE)
    return bool(called) and names_it((called.group(1) or called.group(2))[:len(name) + 12], name, tokenize)


def names_it(text: str, name: str, tokenize) -> bool:
    """Whether a sentence names `name`: as written, or with most of its words ("flow-based generative models")."""
    squeeze = lambda s: re.sub(r"[\s\-_]+", "", s.lower())  # "skip-gram", "skipgram", "Skip Gram"
    if squeeze(name) in squeeze(text):
        return True
    wanted = set(tokenize(name))
    return bool(wanted) and len(wanted & set(tokenize(text))) >= 2 / 3 * len(wanted)

