"""The model as explainer: it reads only the evidence sentences and says what they mean.

With the packaged 1.5B model an answer is built in three parts: the evidence
(verbatim source sentences, tutor/quotes/evidence.py), for a Chinese question on
English sources each sentence's checked Chinese rendering (tutor/answer/render_check.py),
and a short explanation the model writes from the evidence alone, checked like
any cited text. What fails a check is left out without comment: the evidence
stands on its own. Everything here is pure: the calls to the model are the
pipeline's.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Sequence
from urllib.parse import urlsplit

from core.markers import MARKER, marker_numbers
from core.types import Citation, Evidence, Hit, Turn
from index.bm25 import tokenize
from index.glossary import chinese_names
from tutor.citations.entries import shown
from tutor.citations.fragment import fragment_link

HEADINGS = {
    "en": ("**From the sources**", "**What it means**"),
    "zh": ("**来源原文**", "**讲解**"),
    # Read by hand, about half of the 1.5B model's renderings that pass the check are faithful: they are
    # labelled as the machine's reference translation, and the English quote is what the source says.
    "zh-rendered": ("**来源原文（附机器参考译文，以英文原文为准）**", "**讲解**"),
}
# Above other documents' quotes that answer no part of the question (`Evidence.aside`): on the topic, not the answer.
ASIDE_HEADINGS = {"en": "**Related passages in other sources**", "zh": "**其他来源中的相关段落**"}
RENDERING_LABEL = "机器译文："
MAX_SECTION = 60  # characters of a section's heading shown with a quote
# A quote that reads on around its key sentence is rendered by that sentence alone: read by hand, the 1.5B model's
# renderings of whole paragraphs were faithful 27 times in 64, of single sentences 37 in 65.
KEY_RENDERING_LABEL = "机器译文（关键句）："


def rendering_label(evidence: Evidence) -> str:
    """What a rendering is labelled: the quote's rendering, or its key sentence's."""
    return KEY_RENDERING_LABEL if evidence.key else RENDERING_LABEL


def rendered_text(evidence: Evidence) -> str:
    """The text a rendering renders: the key sentence of a quote that reads on around it, else the quote."""
    return shown(evidence.key or evidence.sentence, evidence.columns)


def evidence_turn(question: str, hits: Sequence[Hit], evidence: Sequence[Evidence], level: str) -> tuple[Turn, list[int]]:
    """The model's turn: each passage that holds evidence, cut to its evidence sentences, numbered 1..m.

    Returns the turn and, per prompt number, the passage number in `hits` it stands for.
    """
    numbers = list(dict.fromkeys(e.n for e in evidence))
    reduced = []
    for n in numbers:
        hit = hits[n - 1]
        mine = sorted((e for e in evidence if e.n == n), key=lambda e: e.start)
        text = "\n".join(shown(e.sentence, e.columns) for e in mine)
        reduced.append(dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, text=text)))
    return Turn(question, tuple(reduced), mode="evidence", level=level), numbers


def render_turn(evidence: Evidence) -> Turn:
    """The model's turn for rendering one evidence sentence (one at a time: given four, the 1.5B model
    rendered one of them in a run-on sentence and dropped the rest)."""
    return Turn(rendered_text(evidence), (), mode="render")


def renumber(text: str, numbers: Sequence[int]) -> str:
    """Markers of prompt numbering `[k]` back to passage numbering `[numbers[k-1]]`."""
    def back(match: re.Match[str]) -> str:
        mapped = [numbers[k - 1] for k in marker_numbers(match.group(1)) if 1 <= k <= len(numbers)]
        return f"[{', '.join(map(str, mapped))}]" if mapped else ""
    return MARKER.sub(back, text)


def source_label(evidence: Evidence) -> str:
    """Whose words a quote is, after its marker: "The Illustrated Transformer (jalammar.github.io)". A learner who
    asked about one source ("d2l's Transformer") sees at once when a quote is another's, before following a link.
    The section it stands under comes after the title ("Contrastive Representation Learning › Triplet Loss"):
    read by two readers, a sentence on the triplet loss's margin passed for the contrastive loss's."""
    host = urlsplit(evidence.url).hostname or ""
    host = host[4:] if host.startswith("www.") else host
    title = evidence.title.strip()
    section = _heading_text(evidence.section)
    if section and section.casefold() not in title.casefold():
        title = f"{title} › {section}" if title else section
    return f"{title} ({host})" if title and host else title or host


def _heading_text(heading: str) -> str:
    """A heading as a reader sees it: d2l's "[**Masked Softmax Operation**]" as "Masked Softmax Operation"."""
    text = " ".join(_HEADING_MARKUP.sub(r"\1", heading).replace("*", "").split())
    return text if len(text) <= MAX_SECTION else text[:MAX_SECTION - 1].rstrip() + "…"


_HEADING_MARKUP = re.compile(r"[\[(]\*\*(.+?)\*\*[\])]")



def evidence_block(evidence: Sequence[Evidence], lang: str) -> str:
    """The evidence as the learner reads it: a heading, then each sentence quoted with its marker and rendering;
    other documents' related quotes (`Evidence.aside`) last, under their own heading (`aside_block`)."""
    answer = [e for e in evidence if not e.aside]
    rendered = any(e.rendering for e in answer)
    lines = [HEADINGS["zh-rendered" if rendered else lang][0]] + [_item(e) for e in answer]
    return "\n".join(lines) + aside_block(evidence, lang)


def aside_block(evidence: Sequence[Evidence], lang: str) -> str:
    """The related quotes of other documents under their heading, after a blank line; "" when there are none."""
    asides = [_item(e) for e in evidence if e.aside]
    return "\n".join(["", "", ASIDE_HEADINGS[lang]] + asides) if asides else ""


def _item(e: Evidence) -> str:
    lines = [f"- “{shown(e.sentence, e.columns)}” [{e.n}] — {source_label(e)}"]
    if e.block:  # indented under its item, so the chat shows the code or formula with its quote
        lines.append("\n".join("  " + line if line.strip() else "" for line in e.block.strip().split("\n")))
    if e.rendering:
        lines.append(f"  - {rendering_label(e)}{e.rendering}")  # a nested item, so the chat shows it under its quote
    return "\n".join(lines)


def compose(evidence: Sequence[Evidence], explanation: str, lang: str) -> str:
    """The whole answer: the evidence block, then the checked explanation when any of it passed."""
    block = evidence_block(evidence, lang)
    if not explanation.strip():
        return block
    return f"{block}\n\n{HEADINGS[lang][1]}\n{explanation.strip()}"


# Words an explanation adds without adding a claim: connectives and the verbs of explaining.
_GLUE = frozenset(
    "mean means meaning use used uses using help helps allow allows allowed make makes made way ways thus so also "
    "therefore because since instead rather more less most only just simply basic basically other each both "
    "such example words word idea ideas work works called call like same different able need needs one two "
    "意味着 通过 使得 使 可以 能够 因此 所以 也就是说 就是 即 用于 用来 这样 这种 这些 那么 而 并 并且 但 但是 "
    "一种 一个 来 会 让 能 对 从 把 被 将 更 最 不 没有 需要 进行 实现 作用 方法 方式 简单 来说 换句话说 例如 比如".split())
MAX_NOVEL_SHARE = 0.34  # of an explanation sentence's content words, at most this share may be new
MAX_NOVEL = 3


def novel_words(sentence: str, allowed: str) -> list[str]:
    """The content words of `sentence` that `allowed` (the evidence, its renderings, the question) does not hold."""
    known = set(tokenize(allowed)) | _glue()
    return [t for t in dict.fromkeys(tokenize(sentence)) if t not in known and not t.isdigit()]


@functools.cache
def _glue() -> frozenset[str]:
    return frozenset(t for w in _GLUE for t in tokenize(w))


def restates(sentence: str, allowed: str) -> bool:
    """Whether an explanation sentence says only what `allowed` says: its numbers all there, few new words.

    An embedding check passed "PagedAttention ... only uses memory for the last block, the most recent
    information" against a sentence that says waste happens only in the last block: same topic, new claim.
    Counting the words a sentence brings in catches that kind of addition.
    """
    numbers = re.findall(r"\d+(?:[.,]\d+)?", sentence)
    if any(n not in allowed for n in numbers):
        return False
    content = [t for t in dict.fromkeys(tokenize(sentence)) if t not in _glue()]
    novel = novel_words(sentence, allowed)
    return bool(content) and len(novel) <= MAX_NOVEL and len(novel) <= MAX_NOVEL_SHARE * len(content)


def allowed_text(question: str, evidence: Sequence[Evidence]) -> str:
    """What an explanation may draw its words from: the question, the evidence, its renderings and the
    glossary's Chinese names for the evidence's terms."""
    said = " ".join(e.sentence + " " + e.rendering for e in evidence)
    names = " ".join(zh for _, zh in chinese_names(said, question, limit=50))
    return f"{question} {said} {names}"


def evidence_citations(evidence: Sequence[Evidence]) -> list[Citation]:
    """One citation per passage the evidence quotes (its first sentence as the quote)."""
    out: dict[int, Citation] = {}
    for e in evidence:
        if e.n not in out:
            out[e.n] = Citation(n=e.n, chunk_id=e.chunk_id, url=e.url, title=e.title, quote=e.sentence,
                                supported=True, link=fragment_link(e.url, e.sentence))
    return [out[n] for n in sorted(out)]


def merge_citations(first: Sequence[Citation], more: Sequence[Citation]) -> list[Citation]:
    """Citations by marker number, the evidence's own first (its quote is the sentence shown)."""
    out = {c.n: c for c in more}
    out.update({c.n: c for c in first})
    return [out[n] for n in sorted(out)]
