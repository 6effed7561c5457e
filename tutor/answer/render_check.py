"""Checking a rendering: one quoted sentence said in the learner's language, held 1:1 against it.

A free paraphrase can only be scored for topic; a rendering of ONE sentence can
be held to much more: it must be in the learner's script, carry exactly the
source's numbers at their scale ("350 million" is no 350亿), keep its names
("MoEs" is no 模型) and its terms ("speculative sampling" is no 随机采样), use no Latin-script word the source does not (an invented
`generate_json` fails), keep its inline code as written, keep a length a translation has, and stay close to the
source in the multilingual embedding space. A rendering that fails any of these
is not shown; the quote stands alone.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Sequence

from core.language import ENGLISH_FUNCTION_WORDS, HAN_CHAR, question_language
from core.markers import parse_markers, strip_markers
from index.bm25 import tokenize
from index.glossary import expand, glossary, names_in
from tutor.citations.cite import sentence_spans

MIN_SIMILARITY = 0.6
# Han characters per English word in a faithful translation: ~1.5-2.2 measured on the renderings read;
# far below is a summary, far above is the model adding its own words.
MIN_CHARS_PER_WORD, MAX_CHARS_PER_WORD = 0.7, 3.6

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CODE = re.compile(r"`([^`\n]+)`")
# An item's number ("(2) Short-term memory", "1. a supervised fine-tuning step"), which a rendering may drop or
# write the other way ("1." as "(1)").
_ENUMERATOR = re.compile(r"[(（]\d{1,2}[)）]|(?<![\d.])\d{1,2}[.、](?=\s)")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*[A-Za-z0-9]|[A-Za-z]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*")
# Everyday English words: in a rendering they are words the model did not translate, not terms it kept.
_PLAIN_ENGLISH = ENGLISH_FUNCTION_WORDS | frozenset(
    "after all because before being between each had he most over she such than they two under while".split())


# A number keeps its digits in a rendering only with its scale word said literally: "350 million" is 350百万 or
# "350 million" (3.5亿 would change its digits), so 350亿 is a hundred times too large.
_EN_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "b": 1e9, "trillion": 1e12}
_ZH_SCALE = {"千": 1e3, "万": 1e4, "十万": 1e5, "百万": 1e6, "千万": 1e7, "亿": 1e8, "十亿": 1e9, "百亿": 1e10, "千亿": 1e11,
             "万亿": 1e12, **_EN_SCALE}
_SCALED = re.compile(r"(\d+(?:\.\d+)?)[\s\-]*(万亿|十万|百万|千万|十亿|百亿|千亿|[千万亿]|thousand|million|billion|trillion|[kmb](?![a-z]))?",
                     re.IGNORECASE)


def _scaled(text: str, scales: dict[str, float]) -> list[tuple[str, float]]:
    """Each number of a text with the scale word right after it (1 when none)."""
    return [(m.group(1), scales.get((m.group(2) or "").lower(), 1.0)) for m in _SCALED.finditer(text)]


# A name in a sentence (a CamelCase or mixed-case name: "MoEs", "ImageNet", "ZeRO-Infinity", "vLLM"; an acronym
# the glossary knows: "RLHF") stays in its rendering, as written or as the Chinese term the glossary has for it
# (人工智能 for AI; 机器学习 for ML, by its initials). A rendering without it speaks of something vaguer ("MoEs" as
# 模型) or of something else ("vLLM" as LLM). All-caps words in general are no names ("NEW", "UP/DOWN", "GPU RAM" as
# GPU 内存).
_MIXED_CASE = re.compile(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z]*\b")
_ACRONYM = re.compile(r"\b[A-Z]{2,6}(?=s?\b)")


def _dropped_names(source: str, rendering: str) -> list[str]:
    """The names of `source` that `rendering` says neither as written nor by a Chinese term for them."""
    known = _glossary_acronyms()
    names = [n[:-1] if n.endswith("s") and n[-2].isupper() else n for n in _MIXED_CASE.findall(source)]
    names += [n for n in _ACRONYM.findall(source) if n in known]
    said, english = rendering.lower(), expand(rendering).lower()
    initials = "".join(w[0] for w in re.findall(r"[a-z]+", english))
    return [n for n in dict.fromkeys(names) if not any(n.lower() in x for x in (said, english, initials))]


@functools.cache
def _lost_terms(source: str, rendering: str) -> list[str]:
    """The source's terms of more than one word ("speculative sampling", "hidden state") that the rendering says
    neither in English nor by a Chinese term the glossary has for them: 随机采样 is another method, not 投机采样.
    (One-word terms have everyday renderings too, 令牌 for "token", 准确性 for "accuracy": they are not held.)"""
    lowered = rendering.lower()
    return [name for name, terms in names_in(source) if (" " in name or "-" in name)
            and name.lower() not in lowered and not any(t in rendering for t in terms)]


def _glossary_acronyms() -> frozenset[str]:
    return frozenset(a for english in glossary().values() for a in _ACRONYM.findall(english))


@dataclass(frozen=True)
class Verdict:
    """Whether a rendering may be shown, and if not the first reason it failed."""

    ok: bool
    reason: str = ""
    similarity: float = 0.0


def split_renderings(text: str, count: int) -> dict[int, str]:
    """The model's rendering text cut into one rendering per source number (1-based), markers off."""
    out: dict[int, str] = {}
    for a, b in sentence_spans(text):
        sentence = text[a:b]
        numbers = [n for n in parse_markers(sentence) if 1 <= n <= count]
        if len(numbers) != 1:
            continue  # a sentence that cites two sources is not a 1:1 rendering of either
        body = strip_markers(sentence).strip()
        n = numbers[0]
        out[n] = (out[n] + body) if n in out else body
    return out


def check_rendering(source: str, rendering: str, similarity: float, language: str = "zh") -> Verdict:
    """Hold a rendering to its source sentence (see the module docstring).

    Args:
        source: the quoted sentence, verbatim.
        rendering: the model's rendering of it, markers removed.
        similarity: their cosine under the multilingual judge.
        language: the script the rendering must be in.
    """
    rendering = rendering.strip()
    if not rendering or question_language(rendering) != language:
        return Verdict(False, "not in the learner's language", similarity)
    counted, said = _ENUMERATOR.sub(" ", source), _ENUMERATOR.sub(" ", rendering)
    if sorted(_NUMBER.findall(counted)) != sorted(_NUMBER.findall(said)):
        return Verdict(False, "numbers differ", similarity)
    if sorted(_scaled(counted, _EN_SCALE)) != sorted(_scaled(said, _ZH_SCALE)):
        return Verdict(False, "a number's scale differs", similarity)  # "350 million" as 350亿 (35 billion)

    written = _LATIN_WORD.findall(source)
    # a hyphenated word's parts are the source's words too: "Q" of "Q-learning" (Q学习), "Transformer" of "transformer-based"
    known = set(tokenize(" ".join(written + [w.replace("-", " ") for w in written if "-" in w])))
    known |= {t[:-1] for t in known if t.endswith("s")}  # "RNN" for the source's "RNNs" (no stem strips that "s")
    latin = _LATIN_WORD.findall(rendering)
    invented = [w for w in latin if not set(tokenize(w)) <= known]  # "RNN" for the source's "RNNs" is fine
    if invented:
        return Verdict(False, f"words the source does not use: {', '.join(invented[:3])}", similarity)
    dropped = _dropped_names(source, rendering)
    if dropped:
        return Verdict(False, f"names the rendering drops: {', '.join(dropped[:3])}", similarity)
    changed = [code for code in _CODE.findall(source) if code not in rendering]
    if changed:  # code is never translated: `model_dump()` as 模型导出() names a method that does not exist
        return Verdict(False, f"code the rendering changes: {', '.join(changed[:3])}", similarity)
    lost = _lost_terms(source, rendering)
    if lost:
        return Verdict(False, f"terms the rendering says otherwise: {', '.join(lost[:3])}", similarity)
    untranslated = [w for w in latin if w.lower() in _PLAIN_ENGLISH and (len(w) > 1 or w == "a")]  # "A": a name  # "One流行的LSTM变种": left half in English
    if untranslated:
        return Verdict(False, f"left untranslated: {', '.join(untranslated[:3])}", similarity)
    words = max(len(_WORD.findall(source)), 1)
    ratio = len(HAN_CHAR.findall(rendering)) / words
    if not MIN_CHARS_PER_WORD <= ratio <= MAX_CHARS_PER_WORD:
        return Verdict(False, f"length unlike a translation ({ratio:.1f} characters a word)", similarity)
    if similarity < MIN_SIMILARITY:
        return Verdict(False, f"too far from the source ({similarity:.2f})", similarity)
    return Verdict(True, "", similarity)


def similarities(judge, sources: Sequence[str], renderings: Sequence[str]) -> list[float]:
    """Cosine of each rendering with its source under the multilingual judge."""
    if not sources:
        return []
    a = judge.embed_documents(list(sources))
    b = judge.embed_documents(list(renderings))
    return [float(x) for x in (a * b).sum(axis=1)]
