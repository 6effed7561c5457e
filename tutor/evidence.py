"""Evidence first: the few source sentences that together answer the question.

A 1.5B model writing from whole passages invents names and repeats itself, and
an embedding check cannot tell; the sources' own sentences cannot be wrong about
what the sources say. So an answer opens with 2-4 verbatim sentences picked
across the top passages, and the model only explains them (tutor/explain.py).

A sentence is scored by its multilingual similarity to the question (and to the
question's English rendering, for a Chinese question on English sources) and by
the share of the question's terms it holds, weighted by their rarity in the
corpus. Picks are greedy: each next sentence must add question terms or stand
on its own merit, never repeat one already picked, so "what does each of the
three gates decide" collects the gates rather than three sentences on one.
Only whole prose sentences qualify: no headings, table rows, code, captions,
link lists, formulas, or fragments a chunk boundary cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from tutor.cite import sentence_spans
from tutor.language import question_language
from tutor.types import Evidence, Hit

MAX_SENTENCES = 4
PASSAGES = 6  # top passages the sentences are picked from
MIN_CHARS, MAX_CHARS = 40, 420  # shorter says too little alone; longer is a paragraph the splitter missed
MIN_CJK_CHARS = 12

_CJK = re.compile(r"[\u3400-\u9fff]")
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
# d2l's ":numref:`fig_vit`" left as "fig_vit", "Let's begin with ..." (a code walk-through's lead-in).
_NOT_PROSE = re.compile(r"^\s*[\w.\[\]]+\s*=[^=]|\w\([^)]*\)\.\w|\b[a-z_]\w*\.[a-z_]\w*\(|\[\*\*|\breturn\s+\w+[.(]"
                        r"|\(Image source|\bfig_\w|:numref:|:label:|`[^`]*\(|^\s*(?:Let's|Let us|Now,? let's)\b"
                        r"|https?://|\]\(|^\s*!\[|^\s*\[[^\]]+\]\s*$")
# A caption whose figure the extractor took out reads as a sentence ("The backup diagrams for Q-learning
# and SARSA."): it is a paragraph of its own with a credit after it.
_CREDIT_NEXT = re.compile(r"\s*\((?:Image|Figure)? ?(?:source|credit)", re.IGNORECASE)
# A sentence that leans on the one before it ("This is why ...", "它的作用是……") is shown with it.
_LEANS_BACK = re.compile(r"^(?:This|These|That|Those|It|They|Such|Thus|Therefore|Hence|However|Instead|"
                         r"In this way|In other words|As a result|As such|Here|The resulting|The result)\b|^(?:这|它|因此|所以|但是|然而|于是|其中)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
# A figure's caption left as a paragraph of its own: "Computing the input gate, ... in an LSTM model."
_GERUND_CAPTION = re.compile(r"^[A-Z][a-z]+ing\b[^\n]{0,160}$")
# A line of a reading list: "LoRA insights by Sebastian Raschka: Practical insights about ...".
_RESOURCE = re.compile(r"^[^:\n]{2,80}\bby [A-Z][\w.-]+(?: [A-Z][\w.-]+)*\s*:"
                       r"|\((?:blog post|video|paper|course|book|lecture|notes?|slides|thread|tweet|website|docs?|code)\b"
                       r"[^)]*\)\W*$", re.IGNORECASE)
# A reading-list line: "LangChain - Q&A with RAG: Step-by-step tutorial", "Multi Head Attention in Transformers with Code!".
_LIST_TITLE = re.compile(r"^[^:\n]{2,60}\s[-–—]\s[^:\n]{2,60}:|^(?:[A-Z0-9][\w'’-]*\s+(?:(?:a|an|the|of|in|on|for|with|and|to|from|by|via)\s+)?){2,12}[A-Z0-9][\w'’-]*[!?]?$")
# A bibliography entry: "“Tutorial on variational autoencoders.” arXiv:1606.05908, 2016. [13]".
_REFERENCE = re.compile(r"arXiv[: ]\d|\bdoi:|\b(?:19|20)\d\d\)?\.?\s*(?:\[\d+\])?\s*$|^[“\"][^”\"]{10,}[”\"]\s*(?:\(|arXiv|In\b)")
_THANKS = re.compile(r"^(?:Special thanks|Thanks to|Thank you|A (?:big )?shout[- ]out|We (?:would like to )?thank|Many thanks)\b", re.IGNORECASE)
# A sentence ends with its full stop (a closing quote or bracket may follow): "Substep 1: Activation
# normalization (short for "actnorm")" is a heading the extractor kept as text, not a sentence.
_ENDS = re.compile(r"[.!?。！？；:：][”\"')）\]]*\s*(?:\[[\d,\s]+\])*$")
_EXERCISES = re.compile(r"(?:^|> )(?:Exercises?|练习|习题)\s*$", re.IGNORECASE)
_ACKNOWLEDGEMENTS = re.compile(r"(?:^|> )(?:Acknowledge?ments?|Thanks|致谢|References?|Bibliography|Citations?|参考文献|参考资料)\s*$",
                               re.IGNORECASE)
# A pointer or an exercise is not an answer: "Read more about LoRA in ...", "Do the encoder and ...?".
_POINTER = re.compile(r"^(?:Read|See|Check out|Click|Refer to|Find|Learn more|More on|Try|For more|If you(?:'re| are) "
                      r"interested|I'd recommend|I recommend|You can find|Here is a|Here are some)\b|[?？]\s*$")
_ITEM = re.compile(r"^\s*(?:[-*•·●▪]|\d+[.)])\s+")
_OPENING = re.compile(r"^[\s*_\"“(]*(?:The|A|An)\s+", re.IGNORECASE)
SUBJECT_WORDS = 5
# Calibrated on the tune half of the dev cases: 95% of answerable questions whose evidence came from a gold
# source scored >= 0.27, 90% of out-of-scope questions < 0.24.
MIN_SCORE = 0.26
_EMPHASIS = re.compile(r"\*\*|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|(?<![\w_])_(?=[A-Za-z])|(?<=[A-Za-z])_(?!\w)")


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


def prose_spans(text: str) -> list[tuple[int, int]]:
    """The spans of a passage's sentences that read as an answer on their own."""
    fenced = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    out = []
    for a, b in sentence_spans(text):
        if any(s <= a < e for s, e in fenced):
            continue
        sentence = text[a:b].strip()
        cjk = len(_CJK.findall(sentence))
        long_enough = cjk >= MIN_CJK_CHARS if cjk > len(sentence) / 3 else len(sentence) >= MIN_CHARS
        if (not long_enough or len(sentence) > MAX_CHARS or sentence.startswith(("```", "|", "#", ">", "<"))
                or _mathy(sentence) or _FRAGMENT.match(sentence) or _NOT_PROSE.search(sentence)
                or _caption(text, a, b) or sentence.count("|") >= 2 or _RESOURCE.search(_MARKUP.sub("", sentence))
                or _POINTER.search(_MARKUP.sub("", sentence)) or _alone(text, a, b) and _GERUND_CAPTION.match(sentence)
                or _THANKS.match(_MARKUP.sub("", sentence)) or not _ENDS.search(sentence) or _REFERENCE.search(sentence)
                or _listed(text, a) and _LIST_TITLE.match(_MARKUP.sub("", sentence).strip())
                or _LEAD_IN.search(sentence) and (_listed(text, a) or not _list_end(text, b, a + MAX_BLOCK))):
            # (a lead-in "... three parts:" is evidence only with the list it opens: `attach` takes it along)
            continue
        out.append((a, b))
    return out


def clean(sentence: str) -> str:
    """A sentence as shown: one line (hard-wrapped sources keep their breaks), list, quote and emphasis marks off.

    A lead-in with its list (`attach`) keeps its items apart: "... three parts: (1) ... (2) ...".
    """
    lines = sentence.split("\n")
    if len(lines) > 1 and any(_ITEM.match(line) for line in lines[1:]):
        return " ".join(_item_mark(line) + _one_line(_ITEM.sub("", line)) for line in lines if line.strip())
    return _one_line(_MARKUP.sub("", sentence))


def _one_line(text: str) -> str:
    return " ".join(_EMPHASIS.sub("", text).split())


def _item_mark(line: str) -> str:
    number = re.match(r"\s*(\d+)[.)]\s", line)
    if number:
        return f"({number.group(1)}) "
    return ("– " if line[:1].isspace() else "• ") if _ITEM.match(line) else ""


def _mathy(sentence: str) -> bool:
    """A formula, or a sentence mostly made of one. Inline math between \\( \\) or $ $ in a sentence of prose
    stays readable; LaTeX outside them ("The loss is \\frac{1}{N} \\sum_i ...") is a formula the extractor flattened."""
    if "$$" in sentence or "\\tag" in sentence or "\\begin" in sentence:
        return True
    inline = re.findall(r"\\\(.*?\\\)|\$[^$]+\$", sentence)
    prose = re.sub(r"\\\(.*?\\\)|\$[^$]+\$", " ", sentence)
    if re.search(r"\\[A-Za-z]+", prose):
        return True
    words = len(re.findall(r"\b[A-Za-z]{3,}\b", prose))
    # "During training, we employed label smoothing of value $\epsilon_{ls}=0.1$." reads as prose; a formula
    # with a word or two around it does not.
    return sum(map(len, inline)) > 0.4 * len(sentence) or (bool(inline) and words < 6)


def _listed(text: str, a: int) -> bool:
    """Whether the sentence at `a` opens a list item ("- ", "* ", "1. ")."""
    line = text[text.rfind("\n", 0, a) + 1:a + 4]
    return bool(_MARKUP.match(line)) and line.lstrip()[:1] in "-*0123456789"


def _alone(text: str, a: int, b: int) -> bool:
    """Whether text[a:b] is a paragraph of its own (blank line or edge on both sides)."""
    return (a == 0 or text[max(0, a - 2):a] == "\n\n") and (b >= len(text.rstrip()) or text[b:b + 2] == "\n\n")


def _caption(text: str, a: int, b: int) -> bool:
    return bool(_CREDIT_NEXT.match(text, b)) and (a == 0 or text[max(0, a - 2):a].count("\n") == 2)


def _candidates(hits: Sequence[Hit], lists: bool = False) -> list[_Candidate]:
    """The prose sentences of the passages and, when `lists`, their lists as whole units."""
    out = []
    for n, hit in enumerate(hits, start=1):
        text = hit.chunk.text
        if _EXERCISES.search(hit.chunk.heading) or _ACKNOWLEDGEMENTS.search(hit.chunk.heading):
            continue  # a book's exercises ask, and thanks tell nothing: neither answers
        spans = prose_spans(text)
        all_spans = sentence_spans(text)
        for a, b in spans:
            before = [s for s in all_spans if s[1] <= a]
            previous = before[-1] if before and before[-1] in spans else None
            out.append(_Candidate(n, hit, a, b, text[a:b], bool(_LEANS_BACK.match(text[a:b].lstrip())), previous))
        if lists:
            out.extend(_Candidate(n, hit, a, b, text[a:b], False, None, True) for a, b in list_spans(text))
    return out


def _reading_list(block: str) -> bool:
    """A list of titles with their authors ("OWASP LLM Top 10 by HEGO Wiki: ...") points to reading; it explains nothing."""
    items = [_ITEM.sub("", line).strip() for line in block.split("\n") if _ITEM.match(line) and not line[:1].isspace()]
    titles = [i for i in items if _RESOURCE.search(i) or i.startswith(('"', "“"))]
    return len(titles) * 2 >= len(items)


def list_spans(text: str) -> list[tuple[int, int]]:
    """The lists of a passage (2 to MAX_ITEMS items, nested ones included): the answer to "which resources
    did the author work through?" is a list with no sentence around it. Fenced code is no list."""
    fenced = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    out, start, end, items, at = [], -1, -1, 0, 0
    for line in text.split("\n") + [""]:
        if _ITEM.match(line) and not any(s <= at < e for s, e in fenced):
            start = at if start < 0 else start
            end, items = at + len(line.rstrip()), items + (0 if line[:1].isspace() else 1)
        elif line.strip() or start >= 0 and at >= len(text):
            if start >= 0 and 2 <= items <= MAX_ITEMS and end - start <= MAX_BLOCK and not _reading_list(text[start:end]):
                out.append((start, end))
            start, items = -1, 0
        at += len(line) + 1
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
               max_sentences: int = MAX_SENTENCES) -> Selection:
        """The sentences of `hits[:PASSAGES]` that together answer `question`.

        Args:
            question: the learner's question (a follow-up already carries its subject).
            hits: the retrieved passages, best first; `Evidence.n` numbers them from 1.
            english: the question in English, when it was asked in another language.
        """
        from index.bm25 import tokenize

        enumerating = any(_ENUMERATES.search(q) for q in (question, english))
        candidates = _candidates(hits[:PASSAGES], lists=enumerating)
        if not candidates:
            return Selection((), False)
        queries = [q for q in dict.fromkeys((question, english)) if q]
        texts = [clean(c.text) for c in candidates]
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

        lexical = np.array([coverage(t) for t in tokens])
        opening_credit = [credits(o) for o in openings]
        subject = np.array([focus(c) for c in opening_credit])
        heading = np.array([coverage(headings[c.hit.chunk.heading]) for c in candidates])
        rank = np.array([1.0 / c.n for c in candidates])
        defines = np.array([_defines(t, opening_credit[i]) for i, t in enumerate(texts)], dtype=float)
        kind = np.array([_fits(queries, t) for t in texts], dtype=float)
        score = (0.5 * similarity + 0.3 * lexical + 0.2 * subject + 0.05 * heading + 0.04 * rank + 0.08 * defines
                 + 0.06 * kind)
        picked: list[int] = []
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
            for i in picked:
                value[i] = -np.inf
            if picked:
                value[(vectors @ vectors[picked].T).max(axis=1) > 0.8] = -np.inf  # says again what one picked says
                # A list answers as a whole or not at all: after the answer, another list is a reading list.
                listed = any(candidates[i].listing for i in picked)
                value[[i for i, c in enumerate(candidates)
                       if c.listing and (listed or similarity[i] < similarity[picked[0]])]] = -np.inf
            best = int(np.argmax(value))
            if not np.isfinite(value[best]):
                break
            top = score[picked[0]] if picked else 0.0
            worth = score[best] + flow[best]
            # The second sentence needs to be nearly as good as the first; later ones must add what the
            # question asks about, or be nearly as good.
            # ... and stay about the question: a sentence that only shares a name with it ("Karpathy's video on
            # tokenization" for a question on Karpathy's Pong agent) adds terms but no answer.
            if picked:
                adds = gain[best] > 0.02 and worth >= 0.5 * top and similarity[best] >= 0.4 * similarity[picked[0]]
                if not adds and worth < (0.65 if len(picked) == 1 else 0.85) * top:
                    break
            picked.append(best)
            held |= tokens[best]
            about = _raise(about, opening_credit[best])
        first = picked[0]
        answers = bool(score[first] >= self.min_score)
        chosen = [picked[0]] + sorted(picked[1:], key=lambda i: (candidates[i].n, candidates[i].start))
        evidence: list[Evidence] = []

        def shown(chunk_id: str, at: int) -> bool:
            return any(e.chunk_id == chunk_id and e.start <= at < e.start + len(e.sentence) for e in evidence)

        for i in chosen:
            c = candidates[i]
            if len(evidence) > max_sentences:
                break  # a pick's lead-in sentence came along: enough to read
            if shown(c.hit.chunk.id, c.start):
                continue  # part of a list or a sentence already shown with an earlier pick
            if c.leans_back and c.previous and not shown(c.hit.chunk.id, c.previous[0]):
                a, b = c.previous
                evidence.append(_evidence(c.n, c.hit, a, b, float(score[i])))
            evidence.append(_evidence(c.n, c.hit, c.start, attach(c.hit.chunk.text, c.start, c.end, enumerating),
                                      float(score[i])))
        return Selection(tuple(evidence), answers, float(score[first]), coverage(held),
                         float(max(similarity[i] for i in picked)))


# A sentence that announces what follows: "The course is divided into three parts:", "There are two types
# of hallucination: ...", "下面是一个问题清单……". Quoted without what it announces it says nothing.
_ANNOUNCES = re.compile(r"\b(?:two|three|four|five|six|seven|several|following|as follows)\b|以下|下面|如下|清单"
                        r"|[两二三四五六七几][个种类部步点条项大]", re.IGNORECASE)
_LEAD_IN = re.compile(r"[:：]\s*(?:\[[\d,\s]+\])*$")  # "... divided into three parts:"
# A question that asks for several things by name ("which resources ...", "what two types ...", "哪些").
_ENUMERATES = re.compile(r"\b(?:which|what)\s+(?:\w+\s+){0,2}(?!(?:does|is|was|has|class|process|loss|bias)\b)\w{3,}s\b"
                         r"|\blist\b|哪些|哪几|几个|几种|几部分", re.IGNORECASE)
_LABELLED = re.compile(r"^[^:：\n.。!?]{2,48}[:：]\s*\S")  # "Extrinsic hallucination: The model output ..."
# A sentence that goes on with what the one before said: "They're separate models that work in tandem."
_GOES_ON = re.compile(r"^(?:This|These|That|Those|It|They|Thus|Therefore|Hence|In other words|As a result|That is|"
                      r"This is why|Such)\b|^(?:这|它|因此|所以|也就是说|换句话说)")
MAX_ITEMS, MAX_BLOCK = 8, 900  # a list longer than this is a table of contents, not an answer


def attach(text: str, start: int, end: int, enumerating: bool = False) -> int:
    """Where the evidence that starts with `text[start:end]` ends.

    A sentence that announces a list or labelled parts takes them along (up to
    MAX_ITEMS, MAX_BLOCK characters), and one that the next sentence of its
    paragraph goes on from ("It ...", "This is why ...") takes that sentence.
    When the question asks for several things (`enumerating`), any sentence
    right before a list leads into it.
    """
    spans = [s for s in sentence_spans(text) if s[0] >= end]
    sentence = text[start:end]
    announces = bool(_ANNOUNCES.search(sentence))
    if (announces or enumerating or _LEAD_IN.search(sentence)) and not _listed(text, start):
        listed = _list_end(text, end, start + MAX_BLOCK)  # a list item's own label ("- **Training:** ...") is no lead-in
        if listed:
            return listed
    if announces and (":" in sentence or "：" in sentence):
        # Labelled parts in prose: "There are two types: In-context ...: ... . Extrinsic ...: ... ."
        last = end
        for a, b in spans[:MAX_ITEMS]:
            if "\n\n" in text[last:a] or not _LABELLED.match(text[a:b]) or b - start > MAX_BLOCK:
                break
            last = b
        if last > end:
            return last
    if spans and "\n\n" not in text[end:spans[0][0]] and _GOES_ON.match(text[spans[0][0]:spans[0][1]]) \
            and spans[0][1] - start <= MAX_CHARS + 200 and spans[0] in prose_spans(text):
        return spans[0][1]
    return end


def _list_end(text: str, end: int, limit: int) -> int:
    """The end of the list that follows `end` (after at most one more sentence of its paragraph), or 0."""
    lines = text[end:].split("\n")
    at = end + len(lines[0]) + 1
    if len(lines[0].strip()) > 160:
        return 0  # the paragraph goes on: whatever list comes later is not this sentence's
    items, last = 0, 0
    for line in lines[1:]:
        if _ITEM.match(line):
            items += 1
            if items > MAX_ITEMS or at + len(line) > limit:
                break
            last = at + len(line.rstrip())
        elif line.strip() and (items or not line.startswith((" ", "\t"))):
            if not items or not line.startswith((" ", "\t")):
                break  # the list ended (or never began): an indented line continues an item
        at += len(line) + 1
    return last if items >= 2 else 0


_COPULA = re.compile(r"^[^,;:]{0,60}?\b(?:is|are|refers? to|means|stands for|is called|are called|describes?|"
                     r"determines?|decides?|controls?|allows?|lets?|enables?)\b|^[^，；：]{0,20}?(?:是|指|称为|就是|决定|控制|用于)")


# What kind of answer a question wants, and what a sentence giving it holds: "how much" wants a number,
# "why" a reason, "how" a means. The lead-in "We compare the throughput of vLLM with ..." loses to the
# sentence after it that says "up to 24x".
_ASKS = (
    (re.compile(r"\bhow (?:much|many|fast|big|large|long)\b|\bwhat (?:percentage|fraction|speed-?up)|多少|几|多大|多快|多长",
                re.IGNORECASE), re.compile(r"\d")),
    (re.compile(r"\bwhy\b|为什么|为何|原因", re.IGNORECASE),
     re.compile(r"\b(?:because|since|so that|in order to|to avoid|to prevent|due to|as a result|the reason)\b|因为|由于|为了|以免|从而",
                re.IGNORECASE)),
    (re.compile(r"\bhow (?:does|do|is|are|can|did)\b|怎么|如何|怎样", re.IGNORECASE),
     re.compile(r"\b(?:by|through|using|via|uses?|instead of)\b|通过|利用|使用|用", re.IGNORECASE)),
)


def _fits(queries: Sequence[str], sentence: str) -> bool:
    """Whether the sentence gives the kind of answer the question asks for (a number, a reason, a means)."""
    return any(asks.search(q) and gives.search(sentence) for asks, gives in _ASKS for q in queries)


def _defines(text: str, opening: dict[str, float]) -> bool:
    """Whether a sentence opens by saying what something asked about is or does ("The forget gate determines ...")."""
    return bool(opening) and bool(_COPULA.search(text))


def _raise(credit: dict[str, float], more: dict[str, float]) -> dict[str, float]:
    return {t: max(credit.get(t, 0.0), more.get(t, 0.0)) for t in credit.keys() | more.keys()}


def _evidence(n: int, hit: Hit, start: int, end: int, score: float) -> Evidence:
    return Evidence(n=n, chunk_id=hit.chunk.id, url=hit.chunk.doc_url, title=hit.chunk.title,
                    sentence=hit.chunk.text[start:end].strip(), start=start, score=round(score, 4))


def needs_rendering(question: str, evidence: Sequence[Evidence]) -> bool:
    """Whether a Chinese question's evidence is in English (so each quote gets a Chinese rendering)."""
    return question_language(question) == "zh" and any(question_language(e.sentence) != "zh" for e in evidence)
