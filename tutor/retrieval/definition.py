"""A question that asks what something is wants the sentence that says it.

"What is quantization?" ranked passages that *use* the word (post-training
quantization methods, FAISS's vector quantization) above the one line in the
snapshot that says "Quantization is the process of converting the parameters
and activations of a model to a lower precision." Similarity cannot tell a
definition from a mention; the shape of the sentence can. Such sentences are
rare (one or two per term), so they are found by the term (BM25) and then by
their shape, and the retriever moves them up (tutor/retrieval/retrieve.py).
"""

from __future__ import annotations

import re

from core.language import HAN_CHAR

MAX_SUBJECT_WORDS = 5
# "What is X?", "What are X?", "What's an X?", "Define X", "Explain X" (nothing after the term but "exactly"),
# "What does X mean?", "What is meant by X?".
_ASKS_EN = re.compile(
    r"^\s*(?:so\s+|and\s+)?(?:what(?:'s|\s+is|\s+are)\s+(?:meant\s+by\s+)?(?:an?\s+|the\s+)?(?P<a>[^?]+?)"
    r"(?:\s+exactly)?|(?:please\s+)?(?:define|explain)\s+(?:an?\s+|the\s+)?(?P<b>[^?]+?)"
    r"|what\s+(?:does|do)\s+(?:an?\s+|the\s+)?(?P<c>[^?]+?)\s+(?:actually\s+)?mean)\s*[?？.]?\s*$", re.IGNORECASE)
# "什么是X？", "何为X", "X是什么？", "X是什么意思？", "X指的是什么？", "X是怎么回事？", "X是什么概念？"
_ASKS_ZH = re.compile(r"^\s*(?:什么是|何为|何谓)(?P<a>[^？?，,。]{1,30}?)\s*[？?。]?\s*$"
                      r"|^\s*(?P<b>[^？?，,。]{1,30}?)\s*(?:到底|究竟)?(?:是什么(?:意思|东西|概念)?|指的是什么|是啥|是怎么回事)"
                      r"\s*[？?。]?\s*$")
# A name given beside the term in another language: "少样本提示（few-shot prompting）".
_GLOSS = re.compile(r"\s*[（(][^）)]{1,40}[）)]\s*$")
# A subject made of several things, or a comparison, is not one term to define.
_NOT_ONE = re.compile(r",|，|、|\band\b|\bor\b|\bvs\.?\b|\bdifference\b|\bbetween\b|和|与|区别|不同", re.IGNORECASE)
# What a definition says after the term: "is a/an/the ...", "refers to", "stands for"; not "is compatible with",
# "is also a useful lens", "are inspired by". Lower case: "Attention Is All You Need" is a title.
_COPULA_EN = r"(?-i:(?:is|are)\s+(?:an?|the|one of|defined as|called|known as)|refers? to|means|stands for)\b"
_COPULA_ZH = r"(?:是(?:一种|一个|一类|指)|指的是|是指|指|即|就是)"
_OPENS = r"(?:^|(?<=[.!?。！？]\s)|(?<=[.!?。！？])|(?<=\n))[\s>*_#-]*(?:\d+\.\s*)?"


def subject(question: str) -> str:
    """The term a "what is X" question asks about ("" for any other question)."""
    for pattern in (_ASKS_EN, _ASKS_ZH):
        m = pattern.match(question)
        if m:
            term = _GLOSS.sub("", m.group("a") or m.group("b") or m.group("c") or "").strip(" *\"'“”「」《》")
            if term and not _NOT_ONE.search(term) and len(term.split()) <= MAX_SUBJECT_WORDS:
                return term
    return ""


def defining(subject: str) -> re.Pattern[str]:
    """A pattern for a sentence that opens by saying what `subject` is ("Quantization is ...", "反向传播是……")."""
    term = re.escape(subject).replace(r"\ ", r"[\s\-]+")
    if HAN_CHAR.search(subject):
        return re.compile(rf"{_OPENS}{term}[*_]*(?:[（(][^）)]{{0,60}}[）)])?\s*[，,]?\s*{_COPULA_ZH}")
    plural = "" if subject.lower().endswith("s") else "s?"
    return re.compile(rf"{_OPENS}(?:the\s+|an?\s+)?[*_]*{term}{plural}[*_]*(?:\s*\([^)]{{0,60}}\))?\s+{_COPULA_EN}",
                      re.IGNORECASE)
