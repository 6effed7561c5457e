"""Citations as a data contract: parse `[n]` markers, check them, quote verbatim.

A small local model cites badly, so nothing it writes is trusted as is. Each
sentence that carries markers is scored against the passages it cites
(lexical and number overlap, plus embedding similarity when an embedder is
given, which also works across languages with a multilingual one). A marker
beyond the passage list is removed; a marker whose passage does not support
the sentence is re-pointed to the passage that does, or flagged unsupported;
an uncited sentence that one passage clearly supports gets that marker.
Every citation's quote is a verbatim span of its passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.language import CJK_PUNCTUATION, HAN
from core.markers import MARKER, parse_markers, strip_markers
from core.types import Checked, Citation, Hit
from index.bm25 import tokenize
from tutor.citations.fragment import fragment_link

# Sentence ends: Latin punctuation followed by space/end, or CJK punctuation (no space in Chinese).
# A dot inside a number ("3.5"), after a common abbreviation ("e.g. ", "et al. ") or after a list
# item's number does not end one.
_ABBREV = r"\b(?:e\.g|i\.e|et al|vs|cf|Fig|Figs|Eq|Eqs|Sec|approx|Dr|Mr|Mrs|Ms|Prof)\.(?=\s)"
_LIST_ITEM = r"(?<![^\n])[ \t]*\d{1,2}\.(?=[ \t])"  # "1. " opening a line numbers an item, it ends nothing
# A dot before a year in brackets ends nothing either: "Yao et el. (2023) leverages ..." names its authors.
_BEFORE_YEAR = r"\.(?=[ \t]+\(\d{4}[a-z]?\))"
# A line break ends a sentence (headings, list items, table rows are lines), except between a word, comma,
# closing bracket or inline code and a lower-case word, inline math ("of value\n$\\epsilon=0.1$"), a bracket
# going on in lower case ("state\n(e.g., the generated token ...)"), inline code followed by lower case, or a
# number going on in lower case ("consisting of\n36M sentences"): hard-wrapped markdown (d2l writes a phrase
# per line) renders it as a space, and splitting there quoted "should be excluded from loss calculations."
# without its subject, and cut "we add an additional `init_state` method ... (`enc_all_outputs`)" from "into
# the encoded state." Code and YAML lines ("dtype: bfloat16", "    x = 1") stay apart. A Chinese "；" joins the
# clauses of one sentence (cut there, "没有太多意义；" lost the reason that followed).
_GOES_ON = r"\((?:e\.g\.|i\.e\.|[a-z`])|`[^`\n]+`[ ,.;]+[a-z]"  # "(e.g., the token ...)", "`init_state` method to"
_SENTENCE = re.compile(
    rf"(?:{_LIST_ITEM}|{_ABBREV}|{_BEFORE_YEAR}|[.!?](?![\s\[]|$)|[^.!?。！？\n]|(?<=[A-Za-z,])\n"
    rf"(?=[a-z]+(?:-[a-z]+)*[ ,.;]|\$[^$\n]+\$|{_GOES_ON}|(?!\d{{1,2}}\.[ \t])\d[\w.,%]*[ \t]+[a-z])"
    # (after a bracket or code, only words that read as prose: "y = x + 1" after "f(3)" is the next code line;
    # "We used the Adam optimizer (cite)\nwith $\beta_1=0.9$ ..." goes on with its math)
    rf"|(?<=[)`*_])\n(?=[a-z]+(?:-[a-z]+)* [a-z(`$]|{_GOES_ON})"
    # (a list item's indented continuation line, read on when it goes on in prose: "* The last term, $$...$$, is
    # called the\n    *commitment loss*." was quoted as "... is called the")
    rf"|(?<=[A-Za-z,])\n[ \t]+(?=[*_]{{0,2}}[a-z]+(?:-[a-z]+)*[*_]{{0,2}},? [*_(]?[a-z]))*"
    rf"(?:[.!?](?=\s|$|\[)|[。！？]|\n|$)(?:\s*{MARKER.pattern})*", re.S)
_CJK_CHAR = re.compile(f"[{HAN}{CJK_PUNCTUATION}]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of a text, trailing markers included, blanks skipped."""
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


_ENDS = re.compile(r"(?:[.!?。！？；:：)）\]`*]|\n)\s*$")
_DEBRIS = re.compile(r"^[\s\[\]\d,!?.。！？:;*\-–]*$")  # "[3]!", "[1, 2]." alone: markers and punctuation, no words


def whole_sentences(text: str) -> str:
    """An answer cut off mid-way (a repetition loop stopped, the token cap hit) kept to its last whole sentence.

    A sentence that never ended ("... as shown in [1") and lines of bare markers ("[3]!") are dropped;
    an answer whose text ends whole comes back as it was.
    """
    spans = sentence_spans(text)
    keep = [(a, b) for a, b in spans if not _DEBRIS.match(text[a:b])]
    if keep and not _ENDS.search(text[keep[-1][0]:keep[-1][1]]):
        keep = keep[:-1]
    if keep == spans:
        return text
    kept = "".join(text[a:b] + (text[b:spans[spans.index((a, b)) + 1][0]] if (a, b) != spans[-1] else "")
                   for a, b in keep).rstrip()
    return _EXTRA_MARKERS.sub(r"\1", kept)  # "... weights [1]. [3]": the [3] began the sentence that was cut


_EXTRA_MARKERS = re.compile(rf"(\]\s*[.!?。！？])(?:\s*{MARKER.pattern})+$")


@dataclass(frozen=True)
class Support:
    score: float
    quote: str


class SupportScorer:
    """Scores how well a passage supports a claim and picks the quote that does.

    Args:
        embedder: optional `Embedder`; adds semantic (and, if multilingual,
            cross-language) similarity to the lexical score.
    """

    def __init__(self, embedder=None) -> None:
        self.embedder = embedder

    def supports(self, claims: Sequence[str], hits: Sequence[Hit]) -> np.ndarray:
        """A (claims x hits) matrix of Support, one best quote per pair."""
        sentences = [[h.chunk.text[a:b] for a, b in sentence_spans(h.chunk.text)] or [h.chunk.text[:300]] for h in hits]
        flat = [s for group in sentences for s in group]
        sims = None
        if self.embedder is not None and claims and flat:
            c = self.embedder.embed_queries([strip_markers(x) for x in claims])
            p = self.embedder.embed_documents(flat)
            sims = c @ p.T
        out = np.empty((len(claims), len(hits)), dtype=object)
        sent_tokens = [set(tokenize(s)) for s in flat]
        for i, claim in enumerate(claims):
            bare = strip_markers(claim)
            terms = set(tokenize(bare))
            numbers = set(_NUMBER.findall(bare))
            offset = 0
            for j, group in enumerate(sentences):
                best = Support(0.0, group[0])
                passage_tokens = set().union(*sent_tokens[offset : offset + len(group)])
                passage_text = hits[j].chunk.text
                whole = len(terms & passage_tokens) / len(terms) if terms else 0.0
                missing_numbers = [n for n in numbers if n not in passage_text]
                for k, sent in enumerate(group):
                    local = len(terms & sent_tokens[offset + k]) / len(terms) if terms else 0.0
                    lexical = 0.6 * whole + 0.4 * local
                    semantic = float(sims[i, offset + k]) if sims is not None else 0.0
                    score = max(lexical, semantic) - 0.25 * len(missing_numbers) / max(len(numbers), 1) * bool(numbers)
                    if score > best.score:
                        best = Support(score, sent)
                out[i, j] = best
                offset += len(group)
        return out


def _past(text: str, a: int, b: int) -> int:
    """Where to resume after leaving out text[a:b]: a line of its own (a list item) goes with its line break."""
    whole_line = (a == 0 or text[a - 1] == "\n") and text[b : b + 1] == "\n"
    return b + 1 if whole_line else b


def _place_markers(sentence: str, numbers: list[int]) -> str:
    """Put markers before the sentence's final punctuation: "... weights [1]." / "……权重[1]。"."""
    if not numbers:
        return sentence
    marks = "".join(f"[{n}]" for n in numbers)
    end = len(sentence)
    while end and sentence[end - 1] in ".!?。！？；:：":
        end -= 1
    body = sentence[:end].rstrip()
    tail = sentence[end:]
    if len(tail) > 1 and tail[0] in ":：":  # "如下：[1]。" came out as "如下[1]：。": keep the full stop
        tail = tail[1:]
    space = "" if body and _CJK_CHAR.match(body[-1]) else " "
    return f"{body}{space}{marks}{tail}"


def check(text: str, hits: Sequence[Hit], scorer: SupportScorer, threshold: float = 0.5,
          add_threshold: float = 0.7, drop_unsupported: bool = True) -> Checked:
    """Check every citation marker of an answer against the passages.

    Args:
        text: the generated answer with `[n]` markers (1-based into `hits`).
        hits: the passages shown to the model, in prompt order.
        scorer: a SupportScorer.
        threshold: support needed to keep a marker on its passage.
        add_threshold: support needed to add a marker to an uncited sentence
            (with `drop_unsupported`, `threshold` suffices: the sentence goes otherwise).
        drop_unsupported: take out every claim that no passage supports: a cited
            sentence whose markers all fail (after re-pointing), and an uncited
            one no passage backs. Otherwise such sentences stay, flagged.

    Returns:
        The answer text with markers removed / re-pointed / added (and unsupported
        sentences taken out), one Citation per distinct marker in it, each with a
        verbatim quote, and the sentences taken out.
    """
    spans = sentence_spans(text)
    claims = [text[a:b] for a, b in spans]
    if not claims or not hits:
        return Checked(strip_markers(text).strip())
    support = scorer.supports(claims, hits)
    best: dict[int, tuple[Support, bool]] = {}
    pieces, dropped, said, cursor, repeats = [], [], set(), 0, 0
    for i, (a, b) in enumerate(spans):
        claim = claims[i]
        same = " ".join(strip_markers(claim).split())
        if drop_unsupported and len(same) > 25 and same in said:  # a small model's loop: say it once
            repeats += 1
            pieces.append(text[cursor:a])
            cursor = _past(text, a, b)
            continue
        said.add(same)
        cited = [n for n in parse_markers(claim) if 1 <= n <= len(hits)]
        bare = strip_markers(claim).rstrip()
        kept: list[tuple[int, bool]] = []
        for n in cited:
            s = support[i, n - 1]
            if s.score >= threshold:
                kept.append((n, True))
                continue
            alt = max(range(len(hits)), key=lambda j: support[i, j].score)
            if support[i, alt].score >= threshold:
                kept.append((alt + 1, True))  # re-point to the passage that supports it
            elif not drop_unsupported:
                kept.append((n, False))  # keep but flag: the learner sees it is unverified
        claim_like = len(bare) > 25 and not bare.endswith((":", "："))  # not a lead-in to a list
        if not cited and claim_like:
            alt = max(range(len(hits)), key=lambda j: support[i, j].score)
            if support[i, alt].score >= (threshold if drop_unsupported else add_threshold):
                kept.append((alt + 1, True))
        kept = list(dict.fromkeys(kept))
        if drop_unsupported and (cited or claim_like) and not kept:
            dropped.append(strip_markers(bare).strip())
            pieces.append(text[cursor:a])
            cursor = _past(text, a, b)
            continue
        for n, ok in kept:
            s = support[i, n - 1]
            if n not in best or (ok, s.score) > (best[n][1], best[n][0].score):
                best[n] = (s, ok)
        pieces.append(text[cursor:a] + _place_markers(bare, [n for n, _ in kept]))
        cursor = b
    pieces.append(text[cursor:])
    citations = [
        Citation(n=n, chunk_id=hits[n - 1].chunk.id, url=hits[n - 1].chunk.doc_url, title=hits[n - 1].chunk.title,
                 quote=s.quote, supported=ok, link=fragment_link(hits[n - 1].chunk.doc_url, s.quote))
        for n, (s, ok) in sorted(best.items())
    ]
    body = "".join(pieces)
    if dropped or repeats:  # tidy the gaps: doubled spaces, emptied list items, runs of blank lines
        body = re.sub(r"(?<=\S) {2,}", " ", body)
        body = re.sub(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]*$\n?", "", body, flags=re.M)
        body = re.sub(r"[ \t]+\n", "\n", re.sub(r"\n{3,}", "\n\n", body))
    return Checked(body.strip(), tuple(citations), tuple(dropped))
