"""Refusals: saying plainly that the sources don't cover a question, and where to look instead.

The pipeline declines before generating when retrieval finds nothing relevant
(`refusal_text`), and after generating when the model itself says the
passages don't answer the question (`declined`).
"""

from __future__ import annotations

import re
from typing import Sequence

from core.language import is_chinese, question_language
from core.types import Hit
from index.bm25 import tokenize
from tutor.retrieval.parts import FIRST_PERSON_EN, FIRST_PERSON_ZH

_YEAR = re.compile(r"(19|20)\d\d")


def covers(retrieval, unknown: Sequence[str], settings, unheard: Sequence[str] = ()) -> bool:
    """Whether retrieved passages are relevant enough to answer from.

    Calibrated on the eval cases (see `Settings`): semantic relevance, or
    keyword coverage with some relevance; a question naming something no
    source contains needs more relevance, and a year no source mentions
    (news after the snapshot) is never covered. Nor is a question using a
    rare word no source contains (`rare_words`): "3D Gaussian splatting" or
    "machine unlearning" retrieve passages as relevant as an answerable
    question's (they share "3D", "Gaussian", "machine"), but no sentence can
    be about what the sources never name.

    Args:
        retrieval: a `core.types.Retrieval` (hits, relevance, keyword_coverage).
        unknown: the question's names that no indexed text contains (`names` minus the vocabulary).
        settings: the thresholds.
        unheard: the question's rare words that no indexed text contains.
    """
    if not retrieval.hits or unheard or any(_YEAR.fullmatch(t) for t in unknown):
        return False
    if unknown and retrieval.relevance < settings.unknown_term_relevance:
        return False
    return (retrieval.relevance >= settings.min_relevance
            or (retrieval.keyword_coverage >= settings.min_keyword_coverage
                and retrieval.relevance >= settings.keyword_min_relevance))


def names(question: str) -> list[str]:
    """The question's names, tokenized as the keyword index does: capitalised words (not the first), numbers.

    Only names count as evidence: a small corpus lacks many common words,
    but a model ("Llama 4 Scout"), a body ("EU") or a year that no source
    mentions is a sign the question is about something else.
    """
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9.]*", re.sub(r"[-_/]", " ", question))  # "GPT-6" -> "GPT", "6"
    picked = [w for i, w in enumerate(words) if re.search(r"\d", w) or (i and re.search(r"[A-Z]", w))]
    return list(dict.fromkeys(t for w in picked for t in tokenize(w)))


def rare_words(question: str, max_zipf: float) -> list[str]:
    """The question's English words that are rare in English at large (a Zipf frequency below `max_zipf`).

    A rare word the sources never use is what the question is about ("splatting", "unlearning",
    "watermarking"); an everyday one is just how the learner put it ("niche", "teases", "versus"),
    which a small corpus often lacks. Word frequencies are wordfreq's (Zipf 3 is once per million
    words). Acronyms and words with digits are left out: the sources often spell an acronym out
    ("CBOW"), and a number is `names`' business.
    """
    if max_zipf <= 0:
        return []
    from wordfreq import zipf_frequency  # its word lists load on first use

    words = re.findall(r"[A-Za-z][A-Za-z0-9]*", re.sub(r"'s\b", "", question))
    picked = (w for w in words if len(w) >= 4 and not re.search(r"\d", w) and not (w.isupper() and len(w) <= 6))
    rare = [w for w in picked if all(zipf_frequency(form, "en") < max_zipf for form in _forms(w.lower()))]
    return list({w.lower(): w for w in reversed(rare)}.values())[::-1]  # as the learner wrote it ("LongLoRA"), once


def _forms(word: str) -> list[str]:
    """A word and the everyday word it may be a comparative of: "steadier" is "steady" ("watermarking" is no form of
    "watermark" here: a rarer word made of an everyday one is what rare questions are about)."""
    return [word, re.sub(r"i(?:er|est)$", "y", word)] if re.search(r"i(?:er|est)$", word) else [word]


# A word shaped like a coined name: a capital after a small letter ("GaLore", "xLSTM", "StreamingLLM"), or hyphened
# parts of which two open with a capital ("DP-SGD", "Mixture-of-Depths") or the last is one small letter ("min-p").
_WORD = r"[A-Za-z0-9][A-Za-z0-9.+]*(?:-[A-Za-z0-9.+]+)*"
_ACRONYM = re.compile(r"[A-Z0-9]{2,6}s?")
# "(rectified flow)", "(Attention with Linear Biases)", "（federated learning）": another name for what comes before,
# in words all capitalised or all small (an aside, "(I saw CCNet mentioned)", mixes them).
# (a bracket right after a letter is a formula's or a call's, "p(x)", "User(id='123')"; not so a full-width one)
_ALIAS = re.compile(rf"((?:{_WORD}\s+){{0,3}}{_WORD})?(?:\s+\(|\s*（|(?<![A-Za-z0-9])\()\s*([A-Za-z][A-Za-z0-9 .\-]*?)\s*[)）]")
_LINKING = {"of", "with", "for", "to", "in", "on", "the", "a", "an", "via", "from"}  # inside a name; "and" joins two
_ASKING = {"what", "how", "why", "when", "which", "where", "who", "is", "are", "does", "do", "did", "can", "could",
           "should", "would", "the", "a", "an", "about", "use", "using", "and", "or", "between", "vs"}
# A product as common as "iPhone" or "LinkedIn" is how the learner sets the scene, not what the question is about.
EVERYDAY_ZIPF = 3.5
# ... but an acronym written with its vowels small ("VeRA", "YaRN", "MoD", "CoVe") is a coined name however everyday the
# word it spells ("vera", "yarn"): at most five letters, opening on a capital, another capital after a small letter
# (a product opening small, "macOS", "iOS", "eBay", is the learner's setup).
_SMALL_VOWELS = re.compile(r"(?=(?:[^A-Z]*[A-Z]){2})[A-Z][A-Za-z]{1,4}")


def coined_names(question: str) -> list[tuple[str, ...]]:
    """The question's coined names, each with the other names the question gives it ("ALiBi (Attention with ...)").

    A rare word is not the only sign a question is about something the sources never name: "GaLore",
    "DP-SGD", "Mixture-of-Depths" and "min-p" are made of everyday words ("galore" is English), and
    "flow matching (rectified flow)" or "联邦学习（federated learning）" give an everyday phrase as the name.
    Acronyms, words with digits ("Llama-2-13B": a model's size is how a learner sets the scene) and a
    name's everyday suffix ("LSTM-style") are left out.
    """
    from wordfreq import zipf_frequency  # its word lists load on first use

    def coined(word: str) -> str | None:
        parts = word.split("-")
        while len(parts) > 1 and re.fullmatch(r"[a-z]{3,}", parts[-1]) and zipf_frequency(parts[-1], "en") >= 3:
            parts = parts[:-1]  # "GRU-based", "LSTM-style": the name is what comes before
        word = "-".join(parts)
        if _ACRONYM.fullmatch(word) or re.search(r"\d", word):
            return None
        if re.search(r"[a-z][A-Z]", word) and (zipf_frequency(word.lower(), "en") < EVERYDAY_ZIPF or _SMALL_VOWELS.fullmatch(word)):
            return word
        if len(parts) > 1 and (sum(p[:1].isupper() for p in parts) >= 2 or re.fullmatch(r"[a-z]", parts[-1])):
            return word
        return None

    def shaped(words: list[str]) -> bool:  # a name's shape: every word capitalised, or every word small
        content = [w for w in words if w.lower() not in _LINKING] or words
        return all(w[:1].isupper() for w in content) or all(w.islower() for w in words) and len(words) <= 3

    groups: list[tuple[str, ...]] = []
    for m in _ALIAS.finditer(question):
        alias = m.group(2).split()
        if len(alias) > 4 or not shaped(alias) or alias[0].lower() in {"e.g", "e.g.", "i.e", "i.e.", "see", "like"}:
            continue
        before = (m.group(1) or "").split()
        while before and before[0].lower() in _ASKING:
            before = before[1:]
        # The name before it is its last words: the capitalised ones ("Byte Latent Transformer (BLT)"), or the last
        # two or three small ones, or one coined word ("... sampling and top-p (nucleus)" names "top-p").
        if before and before[-1][:1].isupper():
            run = len(before)
            while run > 0 and (before[run - 1][:1].isupper() or before[run - 1] in _LINKING and run < len(before)):
                run -= 1
            while before[run].lower() in _LINKING:
                run += 1
            names = [" ".join(before[run:])]
        else:
            names = [" ".join(before[i:]) for i in range(len(before)) if not (_LINKING | {"and", "or"}) & set(before[i:])
                     and (2 <= len(before) - i <= 3 or i == len(before) - 1 and coined(before[i]))]
        group = tuple(n for n in [*names, " ".join(alias)] if n)  # the fullest name first: the one a refusal names
        if group and not all(_ACRONYM.fullmatch(n) for n in group):  # (a source may spell out an acronym alone)
            groups.append(group)
    aliased = {n for g in groups for n in g}
    for word in re.findall(_WORD, question):
        name = coined(word.rstrip("."))  # (a sentence's full stop is not the name's: "... on macOS.")
        if name and name not in aliased:
            groups.append((name,))
            aliased.add(name)
    return groups


# A Latin word opening a sentence of a Chinese question: the sentence's topic, and no capital there is owed to grammar.
_OPENS_ZH = re.compile(rf"(?:^|(?<=[。？！?!；;]))\s*({_WORD})")


def topic_names(question: str) -> list[str]:
    """The names a Chinese question's sentences open on: "Donut 这种不用 OCR 的文档理解模型，是怎么……" asks about Donut.

    Chinese puts what a sentence is about first, and writes an English word only for a term or a name; a capital
    there is the name's own, not a sentence's. (In English the first word's capital says nothing, and a name inside
    a Chinese sentence is as often the learner's scene or a citation: "我在 Mac mini 上跑", "Bai 等人 2022".)
    Acronyms and names with digits are left out, as in `coined_names`.

    (English has no such place. A capitalised name after "the" was tried, "the Sophia optimizer": over the 1,596 dev
    and fresh questions it caught 3 out-of-scope ones and no answerable one, then on the first unseen set it read "the
    Hugging Face LoRA write-up" as a name no source writes and declined a question the sources answer.)
    """
    if question_language(question) != "zh":
        return []
    found = [m.group(1) for m in _OPENS_ZH.finditer(question)]
    return [w for w in dict.fromkeys(found)
            if w[:1].isupper() and not _ACRONYM.fullmatch(w) and not re.search(r"\d", w) and len(w) >= 3]


# A learner setting the scene: "for my PyCharm project", "我在用 gymnasium 的 FrozenLake 练……": a word right after
# "my", or after "I'm using" in its clause.
_MINE = re.compile(r"\b(?:my|our)\s+(?:own\s+|\w+\s+)?$|我的\s*$|我们的\s*$", re.IGNORECASE)
_USING = re.compile(r"\b(?:I'm|I am|we're|we are)\s+using\b|\bI use\b|\bwe use\b|我在用|我用|我们在用|我们用", re.IGNORECASE)
# ... or anywhere in a clause about the learner: "I'm putting together a study plan and will keep my notes in
# GoodNotes.", "我们在 OpenSearch 里做客服问答检索，……"
_ABOUT_ME = re.compile(rf"\s*(?:(?:and|but|so|now|currently|right now)\s+)?{FIRST_PERSON_EN}\b"
                       rf"|\s*(?:现在|目前|最近)?{FIRST_PERSON_ZH}(?!们)", re.IGNORECASE)
# ... but pointing back at it makes it what is asked about: "I'm using GaLore: how does it save memory?"
_POINTS_BACK = re.compile(r"\b(?:it|it's|this|they)\b|它|这个|这种", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.?!;:,。？！；：，]\s*")


def sets_the_scene(question: str, word: str) -> bool:
    """Whether `word` only tells of the learner's own setup, so that its absence from the sources says nothing.

    "我在用 gymnasium 的 FrozenLake 练表格型强化学习。Q-learning 和 SARSA 的区别在哪？" asks about Q-learning, not
    FrozenLake: the word comes right after "my", after "I'm using", "我在用" ... in its clause, or in a clause that
    is about the learner ("I ...", "我们 ..."), and the rest of the question asks its question without naming it
    again or pointing back at it ("how does it ...?", "它……").
    """
    at = question.lower().find(word.lower())
    if at < 0:
        return False
    start = max((m.end() for m in _CLAUSE_END.finditer(question, 0, at)), default=0)
    setup = (_MINE.search(question, start, at) or next(iter(_USING.finditer(question, start, at)), None)
             or _ABOUT_ME.match(question, start, at))
    if setup is None:
        return False
    end = _CLAUSE_END.search(question, at + len(word))  # (the rest of a clause about the learner is theirs too)
    rest = question[:setup.start()] + " " + question[end.end() if end and setup.re is _ABOUT_ME else at + len(word):]
    asks = len(re.findall(r"[A-Za-z]+", rest)) + len(re.findall(r"[\u4e00-\u9fff]", rest)) / 2
    return (asks >= 3 and not _POINTS_BACK.search(rest)  # ("My friend says GaLore saves memory. How?" asks nothing else)
            and word.lower() not in rest.lower())  # (named again in the ask: it is what is asked about)


def one_edit(word: str) -> set[str]:
    """The spellings one slip away from `word` (a letter dropped, added or changed, two swapped): a typo's neighbours."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b} | {a + c + b[1:] for a, b in splits if b for c in letters}
            | {a + c + b for a, b in splits for c in letters}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}) - {word}


_DECLINED = re.compile(
    r"(sources?|context|passages?)\b[^.]{0,40}\b(do(es)?n[o']t|do(es)? not|never)\b[^.]{0,30}\b(cover|contain|mention|say|include|address)"
    r"|not (covered|mentioned|addressed) (in|by) the (sources?|context|passages?)"
    r"|(资料|来源|材料|文档|上下文)[^。]{0,12}(没有|未|并未|不)(涵盖|涉及|提到|包含|提及|说明)",
    re.IGNORECASE,
)


def declined(text: str, cited: bool) -> bool:
    """Whether a generated answer says the sources don't cover the question (and cites nothing)."""
    return not cited and bool(_DECLINED.search(text))


def refusal_text(question: str, hits: Sequence[Hit], found: bool = False, unheard: Sequence[str] = ()) -> str:
    """Say the sources don't cover the question, and point at the nearest handbook sections.

    Args:
        found: passages on the topic were found, but no sentence of them answers the question.
        unheard: words of the question that no source contains, named in the refusal.
    """
    said = "、".join(f"“{w}”" for w in unheard) if is_chinese(question) else ", ".join(f"“{w}”" for w in unheard)
    places = []
    for hit in hits:
        where = " / ".join(p for p in (hit.chunk.part, hit.chunk.section) if p) or hit.chunk.title
        entry = f"{where} ({hit.chunk.title}: {hit.chunk.doc_url})"
        if entry not in places:
            places.append(entry)
    if found and is_chinese(question):
        head = "我找到的资料谈到了相关主题，但没有一句话回答这个问题，所以我不回答，以免编造。"
        tail = "最可能有答案的手册章节和资料：" if places else ""
    elif found:
        head = ("The passages I found are on this topic, but none of their sentences answers the question, "
                "so I won't guess.")
        tail = "The handbook sections and sources most likely to hold it:" if places else ""
    elif unheard and is_chinese(question):
        head = f"抱歉，我的资料（《生成式 AI 手册》及其链接的学习资源）里没有出现{said}，所以我不回答，以免编造。"
        tail = "最接近的手册章节：" if places else ""
    elif unheard:
        head = (f"None of the sources I teach from (the Generative AI Handbook and its linked resources) mentions {said}, "
                "so I won't guess.")
        tail = "The nearest handbook sections are:" if places else ""
    elif is_chinese(question):
        head = "抱歉，我的资料（《生成式 AI 手册》及其链接的学习资源）没有涵盖这个问题，所以我不回答，以免编造。"
        tail = "最接近的手册章节：" if places else ""
    else:
        head = ("The sources I teach from (the Generative AI Handbook and its linked resources) don't cover this question, "
                "so I won't guess.")
        tail = "The nearest handbook sections are:" if places else ""
    lines = [head] + ([tail] + [f"- {p}" for p in places[:3]] if places else [])
    return "\n".join(lines)


def unanswered_text(question: str, hits: Sequence[Hit]) -> str:
    """`refusal_text` for passages that share the question's topic without answering it."""
    return refusal_text(question, hits, found=True)
