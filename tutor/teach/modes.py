"""Tutoring modes that need no model: the Socratic hint ladder and the learning path.

Both build their text from the retrieved passages and the handbook outline
alone, so they answer in milliseconds on a CPU and every quote in them is
verbatim. Each returns `(text, citations)` with `[n]` markers numbered by the
hits' order, like a generated answer after verification.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Mapping, Sequence
from urllib.parse import urlsplit

from core.language import HAN_CHAR
from core.types import Citation, Hit, Message
from tutor.citations.cite import SupportScorer, sentence_spans
from tutor.citations.fragment import fragment_link
from tutor.citations.quotable import clean
from tutor.teach.outline import Section, locate, neighbours

MODES = {"explain": "Explain", "socratic": "Socratic", "quiz": "Quiz", "path": "Learning path"}
HINTS = 3  # where to look, the key passage, the full answer
PATH_HITS = 10  # passages that vote on where a topic sits in the handbook

_MORE_EN = re.compile(
    r"^\s*(?:please\s+)?(?:(?:give me |one )?(?:an?other |a |the next |next )?(?:hint|clue)s?|more|next|go on|continue|"
    r"i don'?t know|not sure|i'?m stuck|stuck|help|show me|tell me|(?:show me |tell me |give me )?the (?:full )?answer|"
    r"full answer|answer)\b[\s\w'?!.,]*$", re.IGNORECASE)
_MORE_ZH = re.compile(r"提示|再来|更多|继续|不知道|不会|答案|下一步|告诉我|卡住")


def is_more_request(text: str) -> bool:
    """Whether the learner asks for the next hint ("hint", "I don't know", "继续") rather than asking anew."""
    text = text.strip()
    if len(text.split()) > 6 or len(text) > 40:
        return False
    return bool(_MORE_EN.match(text) or _MORE_ZH.search(text))


def ladder(question: str, history: Sequence[Message]) -> tuple[str, int]:
    """The question a Socratic exchange is about, and which hint to give (0-based).

    A request for more ("hint", "继续") moves one rung up the ladder of the
    latest question asked in Socratic mode; anything else starts a new ladder.
    """
    if not is_more_request(question):
        return question, 0
    stage, i = 0, len(history) - 1
    while i >= 1:
        reply, asked = history[i], history[i - 1]
        if reply.role != "assistant" or asked.role != "user" or reply.mode != "socratic":
            break
        stage += 1
        if not is_more_request(asked.content):
            return asked.content, min(stage, HINTS - 1)
        i -= 2
    return question, 0  # "hint" with nothing asked before: treat it as the question


def cite(n: int, hit: Hit, quote: str) -> Citation:
    """A citation of `quote` (a verbatim span of the hit's text) as marker [n]."""
    return Citation(n=n, chunk_id=hit.chunk.id, url=hit.chunk.doc_url, title=hit.chunk.title, quote=quote,
                    supported=True, link=fragment_link(hit.chunk.doc_url, quote))


def sentences(hit: Hit) -> list[str]:
    """The hit's prose sentences, verbatim: no headings, tables, code, link lists or fragments."""
    out = []
    for a, b in sentence_spans(hit.chunk.text):
        s = hit.chunk.text[a:b]
        if len(s) < 25 or s.lstrip().startswith(("#", "|", "```", "!", "[", "-", "*")) or "](" in s:
            continue
        first = s.lstrip()[0]
        if first.isupper() or first.isdigit() or HAN_CHAR.match(first) or first in "“\"'(":
            out.append(s)  # a sentence that starts mid-way ("e.g., ...") reads badly out of context
    return out


def key_sentence(question: str, hits: Sequence[Hit], scorer: SupportScorer) -> tuple[int, str]:
    """The (1-based passage number, sentence) that best answers the question."""
    support = scorer.supports([question], hits)
    scored = []
    for j, hit in enumerate(hits):
        s = support[0, j]
        if s.quote in sentences(hit) or not sentences(hit):
            scored.append((s.score - 0.02 * j, j, s.quote))  # ties go to the better-ranked passage
        else:  # best was a heading or code line: take the passage's best prose sentence instead
            alt = scorer.supports([question], [_only(hit, sentences(hit))])[0, 0]
            scored.append((alt.score - 0.02 * j, j, alt.quote))
    _, j, quote = max(scored)
    return j + 1, quote


def _only(hit: Hit, keep: list[str]) -> Hit:

    return dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, text=" ".join(keep)))


def _place(hit: Hit) -> str:
    heading = " ".join(hit.chunk.heading.split())
    title = " ".join(hit.chunk.title.split())
    if heading.startswith(title):
        heading = heading[len(title):].lstrip(" >")
    return heading


def hint(question: str, stage: int, hits: Sequence[Hit], scorer: SupportScorer,
         lang: str = "en", key: tuple[int, str] | None = None) -> tuple[str, list[Citation]]:
    """Hint 1 (stage 0: where the answer lives) or hint 2 (stage 1: the key quote).

    Args:
        key: the (passage number, sentence) that answers the question, from the evidence stage
            (tutor/quotes/evidence.py); without it the passage and sentence are found here.
    """
    zh = lang == "zh"
    if stage == 0:
        n = key[0] if key else 1
        hit = hits[n - 1]
        # The link scrolls to the answering sentence; the text only says where it is.
        opening = key[1] if key else (sentences(hit) or [hit.chunk.text[:200]])[0]
        place = _place(hit)
        if zh:
            where = f"的「{place}」部分" if place else ""
            text = (f"**提示 1/{HINTS}：去哪里找。** 答案在 [{n}]《{hit.chunk.title}》{where}。"
                    f"先读这段，试着用自己的话回答：「{question}」\n\n想看关键原文时，请说“提示”。")
        else:
            where = f", in the part “{place}”" if place else ""
            text = (f"**Hint 1 of {HINTS}: where to look.** The answer is in [{n}] *{hit.chunk.title}*{where}. "
                    f"Read that passage and try to answer in your own words first: “{question}”\n\n"
                    "Say “hint” when you want the key passage.")
        return text, [cite(n, hit, opening)]
    n, quote = key or key_sentence(question, hits, scorer)
    hit = hits[n - 1]
    if zh:
        text = (f"**提示 2/{HINTS}：关键原文。** 来自 [{n}]《{hit.chunk.title}》：\n\n“{clean(quote)}” [{n}]\n\n"
                "这句话对你的问题说明了什么？想看完整解答时，请说“答案”。")
    else:
        text = (f"**Hint 2 of {HINTS}: the key passage.** From [{n}] *{hit.chunk.title}*:\n\n“{clean(quote)}” [{n}]\n\n"
                "What does it tell you about your question? Say “answer” when you want the full explanation.")
    return text, [cite(n, hit, quote)]


def full_answer_heading(lang: str) -> str:
    return f"**提示 {HINTS}/{HINTS}：完整解答。**\n\n" if lang == "zh" else f"**Hint {HINTS} of {HINTS}: the full answer.**\n\n"


def learning_path(question: str, hits: Sequence[Hit], outline: Sequence[Section], lang: str = "en",
                  term_weights: Mapping[str, float] | None = None,
                  titles: Mapping[str, str] | None = None) -> tuple[str, list[Citation]] | None:
    """Where a topic sits in the handbook, what to read first and what next, each step a link.

    Args:
        titles: page titles by URL (from the index), preferred over the source
            list's link texts, which are often generic ("博客文章", "video").

    Returns None when no passage belongs to a handbook section (e.g. only the
    Chinese notes match), so the caller can fall back to listing the sources.
    """
    titles = titles or {}
    section = locate(hits, outline, term_weights, question)
    if section is None:
        return None
    before, after = neighbours(section, outline)
    zh = lang == "zh"
    matched = next((i for i, h in enumerate(hits) if locate([h], outline) == section), 0)
    hit = hits[matched]
    opening = (sentences(hit) or [hit.chunk.text[:200]])[0]

    def step(s: Section) -> str:
        reads = [r for r in s.resources if r.captured][:2] or list(s.resources[:2])
        links = ", ".join(f"[{_md(_title(r, titles, lang))}]({r.url})" for r in reads)
        label = s.label(lang) + (f" ({s.label('en')})" if zh else "")
        return f"[{_md(label)}]({s.link})" + (f" — {links}" if links else "")

    lines = [("**学习路径**" if zh else "**Learning path**") + f": {question}", "",
             ("**它在手册中的位置：** " if zh else "**Where it sits in the handbook:** ") + step(section)]
    lines.append(("先读这段原文 [{n}]。" if zh else "Start with the passage that matched your question [{n}].").format(n=matched + 1))
    if before:
        lines += ["", "**先读（前置知识）：**" if zh else "**Read first:**"]
        lines += [f"{i}. {step(s)}" for i, s in enumerate(before, 1)]
    if after:
        lines += ["", "**接下来读：**" if zh else "**Then read next:**"]
        lines += [f"{i}. {step(s)}" for i, s in enumerate(after, 1)]
    return "\n".join(lines), [cite(matched + 1, hit, opening)]


def _title(resource, titles: Mapping[str, str], lang: str) -> str:
    """A resource's best name: its page title, else its link text, else (for English) its site and path."""
    if titles.get(resource.url):
        return titles[resource.url]
    if lang == "zh" or not HAN_CHAR.search(resource.title):
        return resource.title

    parts = urlsplit(resource.url)
    return (parts.netloc.removeprefix("www.") + parts.path.rstrip("/"))[:60]


def unplaced(question: str, hits: Sequence[Hit], lang: str = "en") -> tuple[str, list[Citation]]:
    """The path fallback: the sources that cover a topic the handbook's outline does not place."""
    seen, lines, citations = set(), [], []
    for n, hit in enumerate(hits, start=1):
        if hit.chunk.doc_url in seen or len(seen) >= 3:
            continue
        seen.add(hit.chunk.doc_url)
        lines.append(f"{len(seen)}. [{_md(hit.chunk.title)}]({hit.chunk.doc_url}) [{n}]")
        citations.append(cite(n, hit, (sentences(hit) or [hit.chunk.text[:200]])[0]))
    if lang == "zh":
        head = f"**学习路径**: {question}\n\n这个主题由以下资料讲解，但手册的章节里没有它的位置（not placed in a handbook section）。按顺序阅读："
    else:
        head = (f"**Learning path**: {question}\n\nThese sources cover the topic, but it is not placed in a handbook "
                "section, so read them in this order:")
    return head + "\n" + "\n".join(lines), citations


def _md(text: str) -> str:
    # Titles go inside markdown link text: brackets would end it early.
    return " ".join(text.replace("[", "(").replace("]", ")").split())
