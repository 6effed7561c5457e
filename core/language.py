"""Which language a text is written in, and about how many model tokens it is, without a tokenizer.

Both are read on every turn (prompt budgets, the language line of the prompt,
restating a fallback, the eval's language metric), so they are plain regex
counts, not a language-identification model.
"""

from __future__ import annotations

import math
import re

# Chinese characters (CJK Unified Ideographs, Extension A, Compatibility Ideographs), for a [...] class: the one
# definition every module uses (a Chinese word in a question, a Chinese passage, a Chinese BM25 term).
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_CHAR = re.compile(f"[{HAN}]")
# Full-width and CJK punctuation ("，。：？（）"): part of Chinese text, but no word.
CJK_PUNCTUATION = r"\u3000-\u303f\uff00-\uffef"
KANA = r"\u3040-\u30ff"  # Japanese hiragana and katakana
HANGUL = r"\uac00-\ud7af"  # Korean syllables
EAST_ASIAN = f"{HAN}{KANA}{HANGUL}"  # the letters of any East Asian script, for a [...] class
_KANA = re.compile(f"[{KANA}]")
_HANGUL = re.compile(f"[{HANGUL}]")
_CJK = re.compile(f"[{EAST_ASIAN}{CJK_PUNCTUATION}]")  # any East Asian script or its punctuation, for token counts
_WORD = re.compile(r"[A-Za-z]+")
# English function words (articles, pronouns, auxiliaries, question words, connectives): one home for the
# list the modules that read English words share; each adds the words its own purpose needs
# (tutor/retrieval/rewrite.py: a learner's generic requests; tutor/answer/render_check.py: words a translation translates).
ENGLISH_FUNCTION_WORDS = frozenset("""
a about also an and any are as at be been but by can could did do does for from has have how if in
into is it its may might more must no not of on one only or other should so some that the then these
this those to very was we were what when where which who why will with would you
""".split())


def estimate_tokens(text: str) -> int:
    """Approximate a text's token count without a tokenizer.

    Heuristic: each CJK character (Han, kana, Hangul, full-width punctuation)
    counts 1 token, and the rest of the text 1 token per 3.5 characters.
    Measured with Qwen2.5's tokenizer: English prose runs 4.4 characters per
    token, markdown notes 3.9, number-dense tables 2.8, Chinese about 1.5.
    So the estimate is high for prose and Chinese (the safe side) and up to
    ~20% low for tables of numbers, which `prompt_budget`'s margin absorbs.
    """
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 3.5)


def question_language(question: str) -> str | None:
    """Return "zh", "ja" or "ko" when the question is mainly in that script, else None."""
    han, kana, hangul = len(HAN_CHAR.findall(question)), len(_KANA.findall(question)), len(_HANGUL.findall(question))
    words = len(_WORD.findall(question))
    # A CJK word is about two characters: "What does 注意力 mean?" stays English, "什么是 RAG？" is Chinese.
    if kana >= 2 and kana + han >= 2 * words:
        return "ja"
    if hangul >= 2 and hangul >= 2 * words:
        return "ko"
    if han >= 2 and han >= 2 * words:
        return "zh"
    return None


def is_chinese(text: str) -> bool:
    """Whether a text is mostly Chinese: at least two Chinese characters and a fifth of its non-space
    characters (stricter on mixed text than `question_language`, which counts English words)."""
    return len(HAN_CHAR.findall(text)) >= max(2, 0.2 * len(re.sub(r"\s", "", text)))


def zh_or_en(text: str) -> str:
    """The language to reply in with the tutor's own words (hints, paths, quiz): Chinese or English."""
    return "zh" if question_language(text) == "zh" else "en"
