"""Cross the language once, on purpose: a Chinese question is searched in English too.

The multilingual leg pulls a Chinese question toward Chinese text (the handbook's
Chinese roadmap, which only names a topic), and the glossary reaches only terms it
lists, not paraphrases ("把两个微调过的模型合成一个"). The local model translates
the question into English in about a second: one short task after the cached
system prompt, greedy, stopped at the first line break. Translations are cached
in memory and, given a `store`, on disk (`<home>/cache/translations.sqlite`), so a
repeated question (a Socratic ladder, a quiz topic, a class asking the same
thing, an eval rerun) pays once, across restarts too.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from contextlib import closing, nullcontext
from functools import lru_cache
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

from core.language import question_language
from core.types import Turn
from tutor.backends import prompt

if TYPE_CHECKING:
    from tutor.backends.model_queue import ModelQueue

log = logging.getLogger(__name__)

MAX_CHARS = 300  # an English question longer than this is the model rambling, not translating
# The sources wait for the translation: past this the question is searched without it (a question alone takes
# ~1 s to translate on 2 idle cores; slower means the cores are busy with something else).
MAX_SECONDS = 3.0
MIN_CUT_WORDS = 4  # a cut translation shorter than this says too little to search with
_CACHE_SIZE = 512
_LATIN = re.compile(r"[A-Za-z]")


class QuestionTranslator:
    """English renderings of Chinese questions, by a generator that `can_translate`.

    Args:
        generator: a `core.protocols.Generator`; one that cannot translate makes this a no-op.
        store: an SQLite file that keeps translations across runs (None: memory only). Entries are
            keyed by the model id and the prompt code, so another model or prompt translates afresh.
    """

    def __init__(self, generator, store: Path | None = None) -> None:
        self.generator = generator
        self.store = Path(store) if store else None
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def english(self, question: str, queue: "ModelQueue | None" = None) -> str:
        """The question in English, or "" when it is not Chinese, no model can translate, or the output is unusable.

        With a `queue`, the model translates only if it is free at once: a question waiting behind other
        learners' explanations would keep its sources waiting too, so under load it is searched without
        its translation (the glossary and the multilingual legs still cross languages), and not remembered
        that way.
        """
        question = question.strip()
        if question_language(question) != "zh" or not self.generator.can_translate:
            return ""
        with self._lock:
            if question in self._cache:
                self._cache.move_to_end(question)
                return self._cache[question]
            stored = self._stored(question)
        if stored is not None:
            self._remember(question, stored)
            return stored
        ticket = queue.now() if queue is not None else None
        if queue is not None and ticket is None:
            log.info("the model is busy: %r is searched without its translation", question)
            return ""
        # The deadline is for translating, not for loading the model: a first question (a one-shot
        # `tutor ask`, a chat asked before its warm-up ended) was otherwise always cut while the model
        # loaded, and searched without its English. Once loaded, this returns at once.
        self.generator.warm_up()
        text, cut = self._read(question, ticket)
        if cut:
            # A long question in parts ("…是怎么讲的？另外，…？") takes the 1.5B model longer than the sources
            # may wait: the questions it finished are searched in English, the rest in Chinese.
            english = usable(text, question, finished=False)
            log.info("translating %r took over %g s: searched with %r", question, MAX_SECONDS, english)
            return english  # (not remembered: next time the model may finish)
        english = usable(text[:MAX_CHARS], question, finished=len(text) <= MAX_CHARS)
        self._remember(question, english)
        with self._lock:
            self._keep(question, english)
        log.debug("translated %r -> %r", question, english)
        return english

    def _read(self, question: str, ticket) -> tuple[str, bool]:
        """The model's translation so far, and whether MAX_SECONDS cut it.

        The model streams on a thread of its own, so the deadline holds even while no token comes (the model
        still reading a long question, or finishing the last turn's tail): checked only as tokens arrived, it
        overshot by up to 0.8 s. A cut stream is closed at its next token, which stops the model; the ticket is
        held until then, so the next turn waits for a free model, not for a busy one.
        """
        deltas: SimpleQueue = SimpleQueue()
        stop = threading.Event()

        def run() -> None:
            try:
                with ticket or nullcontext():
                    for delta in self.generator.stream(Turn(question, (), mode="translate")):
                        deltas.put(delta)
                        if stop.is_set():
                            break  # closing the stream stops the model
            except Exception as e:  # noqa: BLE001 - handed to the caller's thread, which raises it
                deltas.put(e)
            finally:
                deltas.put(None)

        threading.Thread(target=run, name="translate", daemon=True).start()
        text, deadline = "", time.monotonic() + MAX_SECONDS
        while True:
            try:
                delta = deltas.get(timeout=max(0.0, deadline - time.monotonic()))
            except Empty:
                stop.set()
                return text, True
            if delta is None:
                return text, False
            if isinstance(delta, Exception):
                raise delta
            text += delta
            if "\n" in text.strip() or len(text) > MAX_CHARS:
                stop.set()  # the rest would be commentary
                return text, False

    def _remember(self, question: str, english: str) -> None:
        with self._lock:
            self._cache[question] = english
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)

    def _key(self, question: str) -> str:
        return hashlib.sha256("\x1f".join((self.generator.model_id, _prompt_version(), question)).encode()).hexdigest()

    def _stored(self, question: str) -> str | None:
        if self.store is None:
            return None
        try:
            with closing(_connect(self.store)) as con:
                row = con.execute("SELECT english FROM translations WHERE key = ?", (self._key(question),)).fetchone()
            return row[0] if row else None
        except sqlite3.DatabaseError as e:  # a cache is disposable: a damaged one is started afresh
            log.warning("translation cache %s is unreadable (%s); starting a new one", self.store, e)
            self.store.unlink(missing_ok=True)
            return None

    def _keep(self, question: str, english: str) -> None:
        if self.store is None:
            return
        try:
            with closing(_connect(self.store)) as con, con:
                con.execute("INSERT OR REPLACE INTO translations (key, question, english) VALUES (?, ?, ?)",
                            (self._key(question), question, english))
        except (sqlite3.DatabaseError, OSError) as e:
            log.warning("could not keep a translation in %s: %s", self.store, e)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=5)
    con.execute("CREATE TABLE IF NOT EXISTS translations (key TEXT PRIMARY KEY, question TEXT, english TEXT)")
    return con


@lru_cache(maxsize=1)
def _prompt_version() -> str:
    """A hash of the translation prompt as the model reads it: a changed prompt translates afresh, an edit elsewhere
    in the prompt code keeps the translations."""
    rendered = prompt.render_messages(Turn("\x00", (), mode="translate"))
    return hashlib.sha256(repr([(m.role, m.content) for m in rendered]).encode()).hexdigest()[:16]


def usable(text: str, question: str = "", finished: bool = True) -> str:
    """The first line of a translation, if it reads as English and as a translation of `question`.

    A small model may answer instead of translating ("LoRA 是什么？" -> "LoRA is a technique that ..."),
    or echo the Chinese: a question must stay a question, and not grow far longer than the original.
    A translation cut short (`finished` False) is used up to the last question it finished, or, cut inside
    its first question, as far as its last whole word.
    """
    line = text.strip().split("\n", 1)[0].strip().strip('"“”')
    line = re.sub(r"^(?:English(?: question)?|Translation|Question)\s*[:：]\s*", "", line, flags=re.IGNORECASE)
    if not line or len(line) > MAX_CHARS or question_language(line) is not None or not _LATIN.search(line):
        return ""
    if not finished and "?" not in line:
        # Cut before its first question mark: the long question's opening, in English, is still its words
        # ("What problems do models trained from scratch for one task"). On 2 cores the model writes ~12
        # tokens/s, so 3 s reach no question mark in 81 of 186 Chinese questions on English sources (462 fresh
        # cases); without these words their English legs had nothing to search.
        words = line.split()[:-1]  # the last word may be cut
        return " ".join(words) if len(words) >= MIN_CUT_WORDS else ""
    if question.rstrip().endswith(("?", "？")) or not finished:
        if "?" not in line:
            return ""  # a statement: the model answered, or lost what was asked
        line = line[: line.rindex("?") + 1]  # what follows the last question mark is the model answering it
    if question and len(line) > 8 * len(question) + 40:
        return ""
    return line
