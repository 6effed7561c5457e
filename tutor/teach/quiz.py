"""Quiz mode: questions drawn only from cited passages, and the learner's reply graded against them.

A quiz question is either written by the model (told which sentence of the
passage holds the answer) or, without a model, a fill-in-the-blank made from
that sentence. Grading is deterministic and shows its evidence: the passage's
key sentence is found again, the reply is compared with it (its key terms, and
multilingual similarity so a Chinese reply to an English passage counts), and
the feedback names the terms the learner got and missed, with the passage quoted.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Sequence

from core.language import HAN
from core.types import Citation, Hit, Message
from index.bm25 import tokenize
from index.glossary import chinese_names
from tutor.citations.cite import SupportScorer
from tutor.citations.quotable import clean, prose_spans
from tutor.teach.modes import cite, sentences

BLANK = "_____"
QUIZ, FEEDBACK = "quiz", "quiz-feedback"  # Answer.mode of a question and of its grading

_NEXT = re.compile(r"^\s*(?:next|another|new question|skip|again|more|quiz me\b.*|ask me\b.*|test me\b.*)[\s?!.]*$"
                   r"|下一题|换一题|再来一题|再出一题|出题|考考我|测验", re.IGNORECASE)
_STOP = set("the a an of to in and or for is are was were be by with on as at that this it its from which into than "
            "their they can also such these those we our use used using".split())


def is_next_request(text: str) -> bool:
    """Whether the learner asks for a (new) question rather than answering the pending one."""
    return bool(_NEXT.search(text.strip())) and len(text) < 80


_TOPIC_PREFIX = re.compile(r"^\s*(?:please\s+)?(?:quiz|test|ask)\s+me\s*(?:on|about|a question on|a question about)?\s*"
                           r"|^\s*(?:考考我|出题|测验)[:：，,]?\s*(?:关于)?", re.IGNORECASE)


def topic(message: str, history: Sequence[Message]) -> str:
    """What to quiz on: the message's topic, or for "next" the topic of the latest quiz in the chat."""
    rest = _TOPIC_PREFIX.sub("", message).strip(" ?？!！.。")
    if rest and not is_next_request(rest):
        return rest
    for i in range(len(history) - 1, 0, -1):
        m, before = history[i], history[i - 1]
        if m.role == "assistant" and m.mode == QUIZ and before.role == "user":
            earlier = _TOPIC_PREFIX.sub("", before.content).strip(" ?？!！.。")
            if earlier and not is_next_request(earlier):
                return earlier
    return message


def looks_like_question(text: str, answer_sentence: str) -> bool:
    """Whether a model-written quiz question is usable: one short question that does not quote its answer."""
    text = text.strip()
    if not text or len(text) > 300 or "\n\n" in text or not text.endswith(("?", "？")):
        return False
    return answer_sentence.strip()[:60] not in text


def pending(history: Sequence[Message]) -> Message | None:
    """The quiz question awaiting an answer: the latest message, if it is one."""
    if history and history[-1].role == "assistant" and history[-1].mode == QUIZ and history[-1].chunk_ids:
        return history[-1]
    return None


def asked_ids(history: Sequence[Message]) -> set[str]:
    """Passages already quizzed on in this chat, so the next question moves on."""
    return {cid for m in history if m.mode in (QUIZ, FEEDBACK) for cid in m.chunk_ids[:1]}


def pick(hits: Sequence[Hit], used: set[str]) -> int:
    """Index of the best-ranked passage not quizzed yet that has prose to ask about."""
    fresh = [i for i, h in enumerate(hits) if h.chunk.id not in used and _askable(h)]
    return fresh[0] if fresh else next((i for i, h in enumerate(hits) if _askable(h)), 0)


def _askable(hit: Hit) -> bool:
    return bool(worth_asking(hit))


# What makes a sentence worth a question: it defines, explains a mechanism, or gives a number.
_TEACHES = re.compile(r"\b(?:is|are|was|were|means|refers to|called|known as|allows?|uses?|used|enables?|computes?|"
                      r"decides?|determines?|controls?|reduces?|increases?|improves?|consists? of|combines?|replaces?|"
                      r"learns?|predicts?|trains?|requires?|because|by)\b|\d|是|指|通过|用于|可以|能够|因为|由")


def worth_asking(hit: Hit) -> list[str]:
    """The passage's sentences a quiz may ask about: whole prose sentences (tutor/citations/quotable.py) that teach
    something (a definition, a mechanism, a number), never a title, a code line or a "Let's begin with ..." lead-in."""
    text = hit.chunk.text
    return [text[a:b] for a, b in prose_spans(text) if _TEACHES.search(text[a:b]) and len(text[a:b].split()) >= 6
            or _CJK_TEXT.search(text[a:b]) and _TEACHES.search(text[a:b])]


_CJK_TEXT = re.compile(f"[{HAN}]{{8}}")


def target_sentence(topic: str, hit: Hit, scorer: SupportScorer) -> str:
    """The sentence of the passage a question on `topic` should be about."""
    candidates = worth_asking(hit) or [s for s in sentences(hit) if 40 <= len(s) <= 400] or sentences(hit) \
        or [hit.chunk.text[:300]]
    support = scorer.supports(candidates, [hit])
    topical = scorer.supports([topic], [_with_text(hit, " ".join(candidates))])[0, 0].quote
    # Prefer the sentence closest to the topic; among equals, the one with the most content.
    return max(candidates, key=lambda s: (s == topical, support[candidates.index(s), 0].score, len(s)))


def cloze(sentence: str) -> tuple[str, str]:
    """A fill-in-the-blank question from a sentence: (question text, the blanked term)."""
    words = re.findall(r"[A-Za-z][A-Za-z\-]{3,}|\d+(?:\.\d+)?%?", sentence)
    content = [w for w in words if w.lower() not in _STOP]
    if not content:
        return f"{sentence.strip()} — true or false?", ""
    # A long or rare-looking term (capitalised, a number) is what the sentence teaches.
    term = max(content, key=lambda w: (w[0].isdigit() or w[:1].isupper() and not sentence.startswith(w), len(w)))
    return sentence.strip().replace(term, BLANK, 1), term


def question_text(question: str, n: int, hit: Hit, lang: str) -> str:
    if lang == "zh":
        return f"**测验题**（出自 [{n}]《{hit.chunk.title}》）：{question}\n\n请回复你的答案，我会对照原文评分。"
    return (f"**Quiz question** (from [{n}] *{hit.chunk.title}*): {question}\n\n"
            "Reply with your answer, and I will check it against the passage.")


def question_citation(n: int, hit: Hit, answer_sentence: str) -> Citation:
    """Cite the passage without giving the answer away: quote a sentence other than the answer's."""
    others = [s for s in sentences(hit) if s != answer_sentence and answer_sentence not in s]
    return cite(n, hit, (others or [hit.chunk.title if hit.chunk.title in hit.chunk.text else hit.chunk.text[:80]])[0])


@dataclass(frozen=True)
class Grade:
    verdict: str  # "correct" | "partly" | "wrong"
    score: float
    got: tuple[str, ...]
    missed: tuple[str, ...]
    reference: str  # the passage sentence that answers the question (verbatim)
    blank: str = ""  # for a fill-in-the-blank question, the missing term


def question_body(text: str) -> str:
    """The question itself, from a quiz question as the chat shows it (its "**Quiz question** (from ...):" label and
    the closing line taken off)."""
    return re.sub(r"\*\*[^*]+\*\*\s*(\([^)]*\)|（[^）]*）)?[:：]?\s*", "", text).split("\n")[0].strip()


def grade(quiz_question: str, reply: str, hit: Hit, scorer: SupportScorer) -> Grade:
    """Grade a reply against the passage a quiz question came from, by meaning, in either language.

    The reply is compared with the passage's answering sentence by the multilingual judge (a right
    Chinese reply to an English passage is right) and by the sentence's key words, found in the reply
    as they are or, for a Chinese reply, by their Chinese names. Missed ideas are named with the
    sentence's own words, as a learner reads them.
    """
    body = question_body(quiz_question)
    return grade_against(body, _blanked_source(body, hit) or target_sentence(body, hit, scorer), reply, scorer)


def grade_against(body: str, reference: str, reply: str, scorer: SupportScorer) -> Grade:
    """Grade a reply to the question `body` against `reference`, the sentence that answers it (see `grade`)."""
    key = key_words(reference, body)
    got = tuple(w for w in key if _said(w, reply))
    lexical = len(got) / len(key) if key else 0.0
    semantic = 0.0
    if scorer.embedder is not None and reply.strip():
        q = scorer.embedder.embed_queries([reply])
        p = scorer.embedder.embed_documents([reference])
        semantic = float((q @ p.T)[0, 0])
    blank = _blank_answer(body, reference)
    if blank:  # fill-in-the-blank: the term itself decides
        lexical = 1.0 if _said(blank, reply) else lexical * 0.5
    score = max(lexical, semantic)
    verdict = "correct" if lexical >= 0.5 or semantic >= 0.6 else "partly" if lexical >= 0.2 or semantic >= 0.45 else "wrong"
    return Grade(verdict, score, got, tuple(w for w in key if w not in got)[:5], reference, blank)


_STOPWORDS = _STOP | set("what how why when where who which does do did not more most many much very just only one two "
                         "some any each every other same new first like about over under between during another "
                         "while through without within especially often usually also still even then there here "
                         "well way ways thing things make makes made get gets got lot lots really quite rather".split())


def key_words(reference: str, question: str) -> list[str]:
    """The words of the reference sentence that carry its content and the question does not give away."""

    asked = set(tokenize(question))
    words = re.findall(rf"[A-Za-z][A-Za-z\-]{{2,}}|\d+(?:\.\d+)?%?|[{HAN}]{{2,}}", clean(reference))
    out = []
    for w in words:
        stems = tokenize(w)
        if w.lower() in _STOPWORDS or not stems or set(stems) <= asked:
            continue
        if not any(tokenize(o) == stems for o in out):
            out.append(w)
    return out[:8]


def _said(word: str, reply: str) -> bool:
    """Whether the reply says `word`: the same word (stemmed), or for an English term its Chinese name."""
    if set(tokenize(word)) <= set(tokenize(reply)):
        return True
    return any(zh in reply for _, zh in chinese_names(word, limit=3))


def feedback_text(g: Grade, n: int, hit: Hit, lang: str) -> str:
    if lang == "zh":
        head = {"correct": "✅ 答对了。", "partly": "🟡 部分正确。", "wrong": "❌ 还不对。"}[g.verdict]
        if g.blank:
            terms = f"空格处是 **{g.blank}**。"
        else:
            terms = (f"你答到的关键词：{', '.join(g.got)}。" if g.got else "") + (f"还可以提到：{', '.join(g.missed)}。" if g.missed else "")
        return f"{head}{terms}\n\n原文是这样说的（[{n}]《{hit.chunk.title}》）：\n\n“{clean(g.reference)}” [{n}]\n\n想再来一题时，请说“下一题”。"
    head = {"correct": "✅ Correct.", "partly": "🟡 Partly right.", "wrong": "❌ Not quite."}[g.verdict]
    if g.blank:
        terms = f" The missing term is **{g.blank}**."
    else:
        terms = (f" You got: {', '.join(g.got)}." if g.got else "") + (f" Missing: {', '.join(g.missed)}." if g.missed else "")
    return (f"{head}{terms}\n\nHere is what the passage says ([{n}] *{hit.chunk.title}*):\n\n“{clean(g.reference)}” [{n}]\n\n"
            "Say “next” for another question.")


def _blanked_source(question: str, hit: Hit) -> str | None:
    """For a fill-in-the-blank question, the passage sentence it was made from."""
    if BLANK not in question:
        return None
    for s in sentences(hit):
        if _blank_answer(question, s):
            return s
    return None


def _blank_answer(question: str, sentence: str) -> str:
    if BLANK not in question:
        return ""
    head, _, tail = question.partition(BLANK)
    m = re.search(re.escape(head[-40:]) + r"(.+?)" + re.escape(tail[:40]), sentence, re.S)
    return m.group(1) if m else ""


def _with_text(hit: Hit, text: str) -> Hit:

    return dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, text=text))
