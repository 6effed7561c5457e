"""Evidence first: the few source sentences that together answer the question.

A 1.5B model writing from whole passages invents names and repeats itself, and
an embedding check cannot tell; the sources' own sentences cannot be wrong about
what the sources say. So an answer opens with 2-4 verbatim sentences picked
across the top passages, and the model only explains them (tutor/answer/explain.py).

A sentence is scored by its multilingual similarity to the question (and to the
question's English rendering, for a Chinese question on English sources) and by
the share of the question's terms it holds, weighted by their rarity in the
corpus. Picks are greedy: each next sentence must add question terms or stand
on its own merit, never repeat one already picked, so "what does each of the
three gates decide" collects the gates rather than three sentences on one.
What may be quoted at all (whole prose sentences; a list when the question asks
for several things; a lead-in with what it announces) is tutor/citations/quotable.py.
Each pick is then quoted with the prose of its paragraph around it, the best one
first, as far as a page of reading allows (`reaching`): no scorer we can run
offline tells the sentence that makes the point from the one that restates the
question, and the author's paragraph usually holds both.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from core.language import question_language
from core.types import Evidence, Hit
from index.bm25 import tokenize
from index.glossary import expand
from tutor.citations.cite import sentence_spans
from tutor.citations.entries import entry_spans, in_short_list, is_row, shown, table_header, table_spans
from tutor.citations.quotable import (
    announced,
    attach,
    clean,
    leans_back,
    list_announced,
    list_spans,
    prose_spans,
    recommends,
    says_nothing,
)
from tutor.quotes.code_blocks import best_snippet
from tutor.quotes.quote_extent import (
    ADDS_TERMS,
    COMPLETES,
    COMPLETES_FIRST,
    IN_CONTEXT,
    asks_code,
    carried,
    completed,
    fits,
    merged,
    turned,
    unrepeated,
    widened,
)
from tutor.retrieval.definition import defining
from tutor.retrieval.definition import subject as asked_about
from tutor.retrieval.parts import named_parts
from tutor.retrieval.retrieve import home_document

MAX_SENTENCES = 4
PASSAGES = 6  # top passages the sentences are picked from
FURTHER = 3  # and after them, at most this many more passages of the best passage's document
# What a further passage's sentence loses in score. Tuned on the 462 earlier fresh cases and the dev tune half
# (key-fact proxy): without it the further passages led answers they do not answer (tune half 0.615 -> 0.597);
# with 0.05, 0.432 -> 0.463 and 0.615 -> 0.622; with 0.1, 0.457 and 0.629; with 5 further passages, 0.452 and 0.622.
FURTHER_HANDICAP = 0.05
_OPENING = re.compile(r"^[\s*_\"“(]*(?:The|A|An)\s+", re.IGNORECASE)
SUBJECT_WORDS = 5
# Calibrated on the tune half of the dev cases: 95% of answerable questions whose evidence came from a gold
# source scored >= 0.27, 90% of out-of-scope questions < 0.24.
MIN_SCORE = 0.26

# A question that asks for several things by name ("which resources ...", "what two types ...", "哪些").
_ENUMERATES = re.compile(r"\b(?:which|what)\s+(?:\w+\s+){0,2}(?!(?:does|is|was|has|class|process|loss|bias)\b)\w{3,}s\b"
                         r"|\blists?\b|哪些|哪几|几个|几种|几部分", re.IGNORECASE)
# ... or for each of several ("... respectively", "each one", "分别", "第几章"): a table's
# rows or a list's items may answer it one by one (tutor/citations/entries.py).
_ASKS_EACH = re.compile(r"\brespectively\b|\beach (?:of|one)\b|分别|各自|第几", re.IGNORECASE)


@dataclass(frozen=True)
class Selection:
    """The evidence for a question: the picked sentences, and whether they answer it.

    `answers` is False when the best sentence only shares the question's topic
    (weak similarity and few of its rarer terms): the tutor then declines.
    """

    sentences: tuple[Evidence, ...]
    answers: bool
    best: float = 0.0  # the first sentence's score, for logs and calibration
    coverage: float = 0.0  # share of the question's term weight the picked sentences hold
    similarity: float = 0.0  # the best picked sentence's similarity to the question


@dataclass(frozen=True)
class _Candidate:
    n: int  # 1-based passage number
    hit: Hit
    start: int
    end: int
    text: str
    leans_back: bool
    previous: tuple[int, int] | None  # the prose sentence right before it, if any
    listing: bool = False  # a whole list (`list_spans`), not a sentence
    entry: bool = False  # one table row or list item (tutor/citations/entries.py), quoted as it is
    columns: str = ""  # an entry's table header, when its passage holds it
    named_only: bool = False  # an item of a short list: an answer only to a part of the question naming it

    @property
    def display(self) -> str:
        return shown(self.text, self.columns) if self.entry else clean(self.text)


# A question about what to read or watch: only then is a sentence recommending a resource an answer.
_ASKS_READING = re.compile(r"\b(?:read|watch|resources?|recommend\w*|tutorials?|courses?|books?|videos?|blogs?|"
                           r"learn (?:more|about)|where (?:can|should) I|start with)\b|资料|资源|推荐|教程|课程|视频|书|入门|怎么学|学习路线",
                           re.IGNORECASE)


def passage_texts(text: str) -> list[str]:
    """Every text of a passage the selector may weigh against a question (its prose sentences, lists, tables and
    their entries, as `EvidenceSelector.select` embeds them): embedded ahead of time, a first question finds them
    ready."""
    return [clean(text[a:b]) for a, b in prose_spans(text) + list_spans(text)] \
        + [shown(text[a:b], table_header(text, a)) for a, b in entry_spans(text) + table_spans(text)]


def read(hits: Sequence[Hit], named: frozenset[str] = frozenset()) -> list[Hit | None]:
    """The passages the evidence is picked from: the top `PASSAGES`, then the best one's document's further ones.

    An answer quotes one document, the best passage's (`set_apart`); the retrieval's cap of two passages per
    document (tutor/retrieval/retrieve.py) would hold its answering passage back. Later passages of other
    documents read `None`, so that each keeps its number.
    """
    home = home_document([h.chunk.doc_url for h in hits[:PASSAGES]], named)
    further = {id(h) for h in [h for h in hits[PASSAGES:] if h.chunk.doc_url == home][:FURTHER]}
    return list(hits[:PASSAGES]) + [h if id(h) in further else None for h in hits[PASSAGES:]]


def _candidates(hits: Sequence[Hit | None], lists: bool = False, entries: bool = False, reading: bool = False,
                only: frozenset[str] = frozenset()) -> list[_Candidate]:
    """The prose sentences of the passages; when `lists`, their lists as whole units; when `entries`, their short
    tables as whole units and each item and table row (an entry: "which lessons are about X?" is answered by rows).

    A sentence recommending a resource is one only when the question asks what to read (`reading`). With
    `only`, the passages of other documents keep their number but give no sentence.
    """
    out = []
    for n, hit in enumerate(hits, start=1):
        if hit is None:
            continue
        text = hit.chunk.text
        if says_nothing(hit.chunk.heading) or (only and hit.chunk.doc_url not in only):
            continue
        spans = prose_spans(text)
        all_spans = sentence_spans(text)
        for a, b in spans:
            if not reading and recommends(text[a:b]):
                continue
            before = [s for s in all_spans if s[1] <= a]
            previous = before[-1] if before and before[-1] in spans else None
            out.append(_Candidate(n, hit, a, b, text[a:b], leans_back(text[a:b]), previous))
        if lists:
            out.extend(_Candidate(n, hit, a, b, text[a:b], False, None, True) for a, b in list_spans(text))
        if entries:
            out.extend(_Candidate(n, hit, a, b, text[a:b], False, None, True, True, table_header(text, a))
                       for a, b in table_spans(text))
            out.extend(_Candidate(n, hit, a, b, text[a:b], False, None, entry=True, columns=table_header(text, a),
                                  named_only=in_short_list(text, a)) for a, b in entry_spans(text))
    return out


class EvidenceSelector:
    """Picks the evidence for a question from its top passages.

    Args:
        judge: the multilingual `Embedder` (question-sentence similarity in any language pair).
        weight: a term's weight (its idf in the corpus); rare terms say what the question is about.
        min_score: below it the best sentence only shares the question's topic, and the tutor declines.
    """

    def __init__(self, judge, weight: Callable[[str], float], min_score: float = MIN_SCORE) -> None:
        self.judge, self.weight, self.min_score = judge, weight, min_score

    def select(self, question: str, hits: Sequence[Hit], english: str = "",
               max_sentences: int = MAX_SENTENCES, sources: frozenset[str] = frozenset()) -> Selection:
        """The sentences of the passages `read` from `hits` that together answer `question`.

        A question in several parts is answered when any part is: the whole question's terms and meaning are
        spread over its parts, so the sentence answering one part scores low against the whole ("what is the
        Markov condition, and does it hold for text?" was declined with the answer to both in passage 1).

        Args:
            question: the learner's question (a follow-up already carries its subject).
            hits: the retrieved passages, best first; `Evidence.n` numbers them from 1.
            english: the question in English, when it was asked in another language.
            sources: the documents the question names (tutor/retrieval/named.py): when any of `hits` is
                theirs, only their sentences are evidence.
        """
        only = sources if any(h.chunk.doc_url in sources for h in hits[:PASSAGES]) else frozenset()
        selection = self._select(question, hits, english, max_sentences, only)
        asked = named_parts(question)
        if selection.answers or not selection.sentences or len(asked) < 2:
            return selection
        rendered = [p for p, _ in named_parts(english)] if english else []
        rendered = rendered if len(rendered) == len(asked) else [""] * len(asked)
        best = max(self._select(part, hits, in_english, 1, only).best for (part, _), in_english in zip(asked, rendered))
        if best < self.min_score:
            return selection
        return Selection(selection.sentences, True, best, selection.coverage, selection.similarity)

    def _select(self, question: str, hits: Sequence[Hit], english: str = "",
                max_sentences: int = MAX_SENTENCES, only: frozenset[str] = frozenset()) -> Selection:
        """`select` for the question as a whole; with `only`, quoting only those documents' passages."""
        enumerating = any(_ENUMERATES.search(q) for q in (question, english))
        each = enumerating or any(_ASKS_EACH.search(q) for q in (question, english))
        reading = any(_ASKS_READING.search(q) for q in (question, english))
        candidates = _candidates(read(hits, only), lists=enumerating, entries=each, reading=reading, only=only)
        if not candidates:
            return Selection((), False)
        queries = [q for q in dict.fromkeys((question, english)) if q]
        texts = [c.display for c in candidates]
        vectors = self.judge.embed_documents(texts)
        similarity = np.max(self.judge.embed_queries(queries) @ vectors.T, axis=0).astype(float)
        term_sets = [{t: self.weight(t) for t in set(tokenize(q))} for q in queries]
        tokens = [set(tokenize(t)) for t in texts]
        # The terms a sentence opens with are what it is about: "The *forget gate* determines ...".
        openings = [set(tokenize(" ".join(_OPENING.sub("", t).split()[:SUBJECT_WORDS]))) for t in texts]
        headings = {c.hit.chunk.heading: set(tokenize(c.hit.chunk.heading.rsplit(" > ", 1)[-1])) for c in candidates}

        def coverage(held: set[str]) -> float:
            return max((sum(w for t, w in terms.items() if t in held) / sum(terms.values()) if terms else 0.0)
                       for terms in term_sets)

        def focus(credit: dict[str, float]) -> float:
            return max((sum(w * credit.get(t, 0.0) for t, w in terms.items()) / sum(terms.values()) if terms else 0.0)
                       for terms in term_sets)

        def credits(opening: set[str]) -> dict[str, float]:
            # A sentence opening on one asked-about term is about it; one listing four is about each a quarter.
            asked = [t for t in opening if any(t in terms for terms in term_sets)]
            return {t: 1.0 / len(asked) for t in asked}

        chinese = np.array([question_language(t) == "zh" for t in texts])
        entries = np.array([c.entry for c in candidates])
        named_only = [i for i, c in enumerate(candidates) if c.named_only]
        lexical = np.array([coverage(t) for t in tokens])
        opening_credit = [credits(o) for o in openings]
        subject = np.array([focus(c) for c in opening_credit])
        heading = np.array([coverage(headings[c.hit.chunk.heading]) for c in candidates])
        rank = np.array([1.0 / c.n for c in candidates])
        defines = np.array([_defines(t, opening_credit[i]) for i, t in enumerate(texts)], dtype=float)
        kind = np.array([fits(queries, t) for t in texts], dtype=float)
        # "What is X?" is answered first by the sentence that says what X is (tutor/retrieval/definition.py).
        terms = [defining(s) for s in dict.fromkeys(asked_about(q) for q in queries) if s]
        says_what = np.array([any(p.search(t) for p in terms) for t in texts], dtype=float)
        score = (0.5 * similarity + 0.3 * lexical + 0.2 * subject + 0.05 * heading + 0.04 * rank + 0.08 * defines
                 + 0.06 * kind + 0.2 * says_what)
        # A further passage (`read`) was ranked below six others: its sentence has to be clearly better.
        score = score - FURTHER_HANDICAP * np.array([c.n > PASSAGES for c in candidates])
        picked: list[int] = []
        lead = 0.0  # the first pick's score (before a translation of it may take its place)
        asks_chinese = question_language(question) == "zh"
        held: set[str] = set()
        about: dict[str, float] = {}
        follows = {i: next((j for j, d in enumerate(candidates) if d.hit is c.hit and (d.start, d.end) == c.previous),
                           None) for i, c in enumerate(candidates)}
        while len(picked) < max_sentences:
            gain = np.array([focus(_raise(about, c)) - focus(about) + 0.5 * (coverage(held | t) - coverage(held))
                             for c, t in zip(opening_credit, tokens)])
            # A sentence that goes on from a picked one reads as part of the same explanation.
            flow = np.array([0.08 if follows[i] in picked else 0.0 for i in range(len(candidates))])
            value = score + 0.5 * gain + flow
            for i in picked + named_only:
                value[i] = -np.inf
            if picked:
                # says again what one picked says, in its words or in another language (the handbook and its
                # Chinese translation say everything twice: a sentence and its translation score ~0.7)
                bar = np.where(chinese[:, None] == chinese[picked][None, :], SAME_SAYING, SAME_SAYING_TRANSLATED)
                # (two rows of one table read alike and say different things)
                same = (vectors @ vectors[picked].T) > np.where(entries[:, None] & entries[picked][None, :],
                                                                 SAME_ENTRY, bar)
                value[same.any(axis=1)] = -np.inf
                # A list answers as a whole or not at all: after the answer, another list is a reading list
                # (unless it is in the answer's own passage: "A list of notebooks I wrote:" and its table).
                listed = any(candidates[i].listing for i in picked)
                home = candidates[picked[0]].hit
                value[[i for i, c in enumerate(candidates) if c.listing and (
                    listed or similarity[i] < similarity[picked[0]] and c.hit is not home)]] = -np.inf
            best = int(np.argmax(value))
            if not np.isfinite(value[best]):
                break
            # (the definition's bonus puts it first; it does not raise the bar for what may follow it)
            top = lead - 0.2 * says_what[picked[0]] if picked else 0.0
            worth = score[best] + flow[best]
            # The second sentence needs to be nearly as good as the first; later ones must add what the
            # question asks about, or be nearly as good.
            # ... and stay about the question: a sentence that only shares a name with it ("Karpathy's video on
            # tokenization" for a question on Karpathy's Pong agent) adds terms but no answer.
            if picked:
                adds = gain[best] > 0.02 and worth >= 0.5 * top and similarity[best] >= 0.4 * similarity[picked[0]]
                if not adds and worth < (0.65 if len(picked) == 1 else 0.85) * top:
                    break
            else:
                lead = score[best]
            # Of a sentence and its translation (the handbook and its Chinese version), the one in the
            # learner's language is quoted: it needs no machine rendering.
            twins = [j for j in np.flatnonzero(np.isfinite(value)) if j != best and chinese[j] == asks_chinese
                     and chinese[best] != asks_chinese and vectors[j] @ vectors[best] >= SAME_SAYING_TRANSLATED]
            if twins:
                best = int(max(twins, key=lambda j: value[j]))
            picked.append(best)
            held |= tokens[best]
            about = _raise(about, opening_credit[best])
        for_parts = self._other_parts(question, english, candidates, texts, tokens, vectors, similarity, picked,
                                      tokenize, chinese)
        if for_parts:  # each part's answer outranks the weakest of the other picks, unless it answers a part too
            keep = max_sentences - len(for_parts)
            names = [n for _, n in named_parts(question) if n]
            answers_part = [any(_names(texts[i], n, tokenize) for n in names) for i in range(len(texts))]
            picked = picked[:1] + sorted(picked[1:], key=lambda i: (not answers_part[i], -score[i]))[:max(0, keep - 1)] \
                + for_parts
        first = picked[0]
        answers = bool(max(lead, score[first]) >= self.min_score)
        chosen = [picked[0]] + sorted(picked[1:], key=lambda i: (candidates[i].n, candidates[i].start))
        where = {(c.hit.chunk.id, c.start): k for k, c in enumerate(candidates)}
        quotes: list[list] = []  # [passage n, hit, start, end, score]: a pick with what it takes along
        for i in chosen:
            c = candidates[i]
            text = c.hit.chunk.text
            if c.entry:  # a row or an item is quoted as it is: the lines around it are other entries
                quotes.append([c.n, c.hit, c.start, c.end, float(score[i]), c.start, c.end])
                continue
            start = c.previous[0] if c.leans_back and c.previous else c.start  # "To address this, ..." needs its "this"
            end = attach(text, c.start, c.end, enumerating)
            follows = lambda a, c=c: score[where[(c.hit.chunk.id, a)]] if (c.hit.chunk.id, a) in where else -1.0
            # The best sentence of a how/why question usually names the thing; what it does or why often
            # follows in the next sentence in fewer of the question's words ("Only when the batch size is big
            # enough, the loss ..."), so the first pick's bar is lower.
            bar = (COMPLETES_FIRST if i == first else COMPLETES) * score[first]
            end = turned(text, start, completed(text, c.start, end, queries, follows, bar))

            def adds(a: int, b: int, c=c, start=start, end=end) -> bool:  # says more of what was asked
                held_now = set(tokenize(c.hit.chunk.text[start:end]))
                return (follows(a) >= COMPLETES_FIRST * score[first]
                        and coverage(held_now | set(tokenize(c.hit.chunk.text[a:b]))) - coverage(held_now) >= ADDS_TERMS)
            end = carried(text, start, end, adds)
            if i == first:  # the best sentence often sets up what the next one says: it is quoted in context
                end = carried(text, start, end, lambda a, b: follows(a) >= IN_CONTEXT * score[first])
            end = list_announced(text, start, end)
            quotes.append([c.n, c.hit, start, end, float(score[i]), start, end])
        kept = within(unrepeated(merged(reaching(quotes, [i in for_parts for i in chosen],
                                      [candidates[i].entry for i in chosen]))), max_sentences + 1)
        evidence = [_evidence(*q, block=b) for q, b in zip(kept, _blocks(kept))]
        if asks_code(queries):
            evidence = self._with_code(queries, kept, evidence, max_sentences + 1)
        evidence = set_apart(evidence, [(candidates[i].hit.chunk.id, candidates[i].start) for i in for_parts])
        return Selection(tuple(evidence), answers, float(score[first]), coverage(held),
                         float(max(similarity[i] for i in picked)))


    def _with_code(self, queries: Sequence[str], kept: Sequence[tuple], evidence: list[Evidence],
                   most: int) -> list[Evidence]:
        """The evidence with the code the question asks for, from a passage it quotes: under the quote holding
        the sentence that leads into the code, or as a quote of that sentence after the passage's first quote."""
        passages = list({q[0]: q[1] for q in kept}.items())
        snippet = best_snippet(queries, passages, self.judge, self.weight)
        if snippet is None or any(snippet.code == e.block for e in evidence):
            return evidence
        if sum(bool(e.block) for e in evidence) >= MAX_BLOCKS:  # the code asked for before another block
            last = max(k for k, e in enumerate(evidence) if e.block)
            evidence = evidence[:last] + [dataclasses.replace(evidence[last], block="")] + evidence[last + 1:]
        a, b = snippet.lead
        for k, (n, hit, start, end, *_) in enumerate(kept):
            if hit is snippet.hit and start <= a and b <= end:
                return evidence[:k] + [dataclasses.replace(evidence[k], block=snippet.code)] + evidence[k + 1:]
        if len(evidence) >= most:
            evidence = evidence[:most - 1]
        at = next(k for k, q in enumerate(kept) if q[1] is snippet.hit) + 1
        return evidence[:at] + [_evidence(snippet.n, snippet.hit, a, b, snippet.score, a, b, snippet.code)] + evidence[at:]

    def _other_parts(self, question: str, english: str, candidates, texts, tokens: list[set[str]], vectors,
                     whole: np.ndarray, picked: list[int], tokenize, chinese: np.ndarray) -> list[int]:
        """For a question in several parts ("X 是什么？需要什么基础？"), the best sentence for each part no pick answers.

        A part counts as answered when a picked sentence scores nearly as well for it as the best
        candidate does; otherwise that candidate is added if it is about the part on its own merit.
        A part about one of several names ("位置偏差和曝光偏差分别是什么") is answered only by a sentence
        naming it, and the best sentence naming it is added when no pick does.
        """
        asked = named_parts(question)
        english_parts = named_parts(english) if english else []
        if len(asked) < 2:
            return []
        english_parts = english_parts[:len(asked)]  # (the glossary's names after the translation are no part)
        if len(english_parts) != len(asked):
            english_parts = [("", "")] * len(asked)
        added: list[int] = []
        for (part, name), (rendered, english_name) in zip(asked, english_parts):
            queries = [q for q in (part, rendered) if q]
            similarity = np.max(self.judge.embed_queries(queries) @ vectors.T, axis=0).astype(float)
            terms = [{t: self.weight(t) for t in set(tokenize(q))} for q in queries]
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
            holds = [not naming or any(_names(t, n, tokenize) for n in naming) for t in texts]
            if not any(holds):  # named in other words, or in another language: its similarity has to say it
                naming, holds = [], [True] * len(texts)
            # ... and best by one that opens on the name, saying what it is or does ("位置偏差(positional
            # bias),即模型倾向于……"), not one naming it in passing ("……来解决位置偏差问题").
            opens = NAME_OPENS * np.array([any(_opens_on(t, n, tokenize) for n in naming) for t in texts])
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
            if (best in chosen or chosen and max(own[i] for i in chosen) >= PART_ANSWERED * own[best]
                    or any(vectors[i] @ vectors[best] >= SAME_SAYING_TRANSLATED for i in chosen)):  # said by a pick
                continue
            # (for a named part, naming it is the sign of being about it that similarity gives otherwise)
            if naming or value[best] >= PART_MIN and similarity[best] >= PART_MIN_SIMILARITY:
                added.append(best)
        return added


def _opens_on(text: str, name: str, tokenize) -> bool:
    """Whether a sentence is about `name`: it names it in its opening words, or says what is called so
    ("The term P(Hypothesis) is also called **prior**", "……称为先验")."""
    opening = _OPENING.sub("", clean(text))
    if _names(opening[:len(name) + 8] if question_language(opening) == "zh"
              else " ".join(opening.split()[:len(name.split()) + 2]), name, tokenize):
        return True
    called = re.search(r"\b(?:called|named|known as|referred to as|termed)\s+[*_\"“]*(?:the\s+)?(.{1,40})|"
                       r"(?:称为|叫做|叫作|称作|即)[“\"「]?(.{1,20})", clean(text), re.IGNORECASE)
    return bool(called) and _names((called.group(1) or called.group(2))[:len(name) + 12], name, tokenize)


def _names(text: str, name: str, tokenize) -> bool:
    """Whether a sentence names `name`: as written, or with most of its words ("flow-based generative models")."""
    squeeze = lambda s: re.sub(r"[\s\-_]+", "", s.lower())  # "skip-gram", "skipgram", "Skip Gram"
    if squeeze(name) in squeeze(text):
        return True
    wanted = set(tokenize(name))
    return bool(wanted) and len(wanted & set(tokenize(text))) >= 2 / 3 * len(wanted)


_COPULA = re.compile(r"^[^,;:]{0,60}?\b(?:is|are|refers? to|means|stands for|is called|are called|describes?|"
                     r"determines?|decides?|controls?|allows?|lets?|enables?)\b|^[^，；：]{0,20}?(?:是|指|称为|就是|决定|控制|用于)")


SAME_SAYING, SAME_SAYING_TRANSLATED = 0.8, 0.65  # similarity of two sentences saying the same thing
SAME_ENTRY = 0.95  # ... of two table rows or list items (the same entry, in the handbook and its translation)
PART_ANSWERED = 0.85  # a pick scoring this share of the part's best candidate answers the part
PART_MIN, PART_MIN_SIMILARITY = 0.35, 0.3
NAME_OPENS = 0.3  # a named part's sentence that opens on the name, over one naming it in passing


def _defines(text: str, opening: dict[str, float]) -> bool:
    """Whether a sentence opens by saying what something asked about is or does ("The forget gate determines ...")."""
    return bool(opening) and bool(_COPULA.search(text))


def _raise(credit: dict[str, float], more: dict[str, float]) -> dict[str, float]:
    return {t: max(credit.get(t, 0.0), more.get(t, 0.0)) for t in credit.keys() | more.keys()}


TOTAL = 1600  # characters of quotes an answer shows at most (about 250 words: a page of reading, not a chapter)


def reaching(quotes: list[list], parts: list[bool], entries: Sequence[bool] = (), total: int = TOTAL) -> list[list]:
    """Each quote with the rest of its paragraph around it (`widened`), the best quote and the answers to a
    question's parts first, the others while the answer stays readable (`total` characters). An entry (a row
    or an item) stays as it is."""
    order = sorted(range(len(quotes)), key=lambda k: (k != 0, not parts[k], -quotes[k][4]))
    used = 0
    out = [list(q) for q in quotes]
    for k in order:
        hit, start, end = out[k][1:4]
        if k < len(entries) and entries[k]:
            used += end - start
            continue
        for wide in (widened(hit.chunk.text, start, end), widened(hit.chunk.text, start, end, answered=False)):
            if k == 0 or used + wide[1] - wide[0] <= total:
                out[k][2], out[k][3] = wide
                break
        used += out[k][3] - out[k][2]
    return out


def within(quotes: list[tuple], most: int, total: int = TOTAL) -> list[tuple]:
    """The first `most` quotes that fit in `total` characters (the first always)."""
    out, used = [], 0
    for q in quotes[:most]:
        if out and used + q[3] - q[2] > total:
            continue
        out.append(q)
        used += q[3] - q[2]
    return out


MAX_BLOCKS = 2  # code blocks or formulas an answer shows under its quotes


def _blocks(quotes: Sequence[tuple]) -> list[str]:
    """Per quote, the code or formula it announces, if any."""
    out: list[str] = []
    for n, hit, start, end, *_ in quotes:
        span = announced(hit.chunk.text, end) if sum(map(bool, out)) < MAX_BLOCKS else None
        out.append(hit.chunk.text[span[0]:span[1]] if span else "")
    return out


MAX_ASIDES = 2  # quotes of other documents shown as related reading


def set_apart(evidence: Sequence[Evidence], parts: Sequence[tuple[str, int]]) -> list[Evidence]:
    """The answer's quotes, then at most `MAX_ASIDES` of other documents marked `aside`.

    The answer's document is the best quote's. Another document's quote stays in the answer only when it
    answers a part of the question (`parts`: the chunk and start of each part's pick). Read by two readers,
    another source's quote in the answer read as the mechanism asked about (a GRU sentence under an LSTM
    question, another system's batching under d2l's), and a false rendering of one sank answers whose own
    source answered; shown apart and unrendered, it is related reading, not the answer.
    """
    if not evidence:
        return []
    home = evidence[0].url

    def answers_part(e: Evidence) -> bool:
        return any(chunk == e.chunk_id and e.start <= start < e.start + len(e.sentence) for chunk, start in parts)

    keep = [e.url == home or answers_part(e) for e in evidence]
    main = [e for e, k in zip(evidence, keep) if k]
    rest = [dataclasses.replace(e, aside=True) for e, k in zip(evidence, keep) if not k]
    return main + rest[:MAX_ASIDES]


def _evidence(n: int, hit: Hit, start: int, end: int, score: float, key_start: int, key_end: int,
              block: str = "") -> Evidence:
    text = hit.chunk.text
    sentence = text[start:end].strip()
    key = text[key_start:key_end].strip()
    columns = table_header(text, start) if is_row(sentence) else ""
    return Evidence(n=n, chunk_id=hit.chunk.id, url=hit.chunk.doc_url, title=hit.chunk.title, sentence=sentence,
                    start=start, score=round(score, 4), key=key if key != sentence else "", block=block,
                    columns=columns)


def needs_rendering(question: str, evidence: Sequence[Evidence]) -> bool:
    """Whether a Chinese question's evidence is in English (so each quote gets a Chinese rendering)."""
    return question_language(question) == "zh" and any(question_language(e.sentence) != "zh" for e in evidence
                                                        if not e.aside)
