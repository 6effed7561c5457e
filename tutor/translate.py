"""Cross the language once, on purpose: a Chinese question is searched in English too.

The multilingual leg pulls a Chinese question toward Chinese text (the handbook's
Chinese roadmap, which only names a topic), and the glossary reaches only terms it
lists, not paraphrases ("把两个微调过的模型合成一个"). The local model translates
the question into English in about a second: one short task after the cached
system prompt, greedy, stopped at the first line break. Translations are cached,
so a repeated question (a Socratic ladder, a quiz topic) pays once.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

from tutor.language import question_language
from tutor.types import Turn

log = logging.getLogger(__name__)

MAX_CHARS = 300  # an English question longer than this is the model rambling, not translating
_CACHE_SIZE = 512
_LATIN = re.compile(r"[A-Za-z]")


class QuestionTranslator:
    """English renderings of Chinese questions, by a generator that `can_translate`.

    Args:
        generator: a `tutor.protocols.Generator`; one that cannot translate makes this a no-op.
    """

    def __init__(self, generator) -> None:
        self.generator = generator
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def english(self, question: str) -> str:
        """The question in English, or "" when it is not Chinese, no model can translate, or the output is unusable."""
        question = question.strip()
        if question_language(question) != "zh" or not self.generator.can_translate:
            return ""
        with self._lock:
            if question in self._cache:
                self._cache.move_to_end(question)
                return self._cache[question]
        text = ""
        for delta in self.generator.stream(Turn(question, (), mode="translate")):
            text += delta
            if "\n" in text.strip() or len(text) > MAX_CHARS:
                break  # closing the stream stops the model: the rest would be commentary
        english = usable(text, question)
        with self._lock:
            self._cache[question] = english
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        log.debug("translated %r -> %r", question, english)
        return english


def usable(text: str, question: str = "") -> str:
    """The first line of a translation, if it reads as English and as a translation of `question`.

    A small model may answer instead of translating ("LoRA 是什么？" -> "LoRA is a technique that ..."),
    or echo the Chinese: a question must stay a question, and not grow far longer than the original.
    """
    line = text.strip().split("\n", 1)[0].strip().strip('"“”')
    line = re.sub(r"^(?:English(?: question)?|Translation|Question)\s*[:：]\s*", "", line, flags=re.IGNORECASE)
    if not line or len(line) > MAX_CHARS or question_language(line) is not None or not _LATIN.search(line):
        return ""
    if question.rstrip().endswith(("?", "？")):
        if "?" not in line:
            return ""  # a statement: the model answered, or lost what was asked
        line = line[: line.rindex("?") + 1]  # what follows the last question mark is the model answering it
    if question and len(line) > 8 * len(question) + 40:
        return ""
    return line
