"""Generators: write a turn's answer as streamed text deltas.

`ChatGenerator` adapts any LangChain chat model (local llama.cpp, an
OpenAI-compatible API, or a fake in tests) to the `core.protocols.Generator`
protocol. `make_generator` picks the backend named by `settings.llm`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from core.config import Settings
from core.errors import ConfigError
from core.language import question_language
from core.protocols import Generator
from core.types import Turn
from tutor.backends.extractive import ExtractiveGenerator
from tutor.backends.grammar import citation_grammar
from tutor.backends.latency import PrefillMeter
from tutor.backends.llm import llama_cpp_options, make_chat_model
from tutor.backends.prompt import SYSTEM_PROMPT, build_messages, fit_budget, prompt_budget
from tutor.citations.cite import whole_sentences

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)


class ChatGenerator:
    """A `Generator` over a LangChain chat model, built on first use.

    Example:
        >>> from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
        >>> gen = ChatGenerator(lambda: GenericFakeChatModel(messages=iter(["LoRA adds adapters [1]."])), "fake")
        >>> "".join(gen.stream(turn))  # doctest: +SKIP
        'LoRA adds adapters [1].'
    """

    def __init__(
        self,
        chat_model_factory: Callable[[], "BaseChatModel"],
        model_id: str,
        max_prompt_tokens: int | None = None,
        prime_cache: bool = False,
        slots: int = 1,
        request_options: Callable[[Turn], dict[str, Any]] | None = None,
        meter: PrefillMeter | None = None,
    ) -> None:
        """Store the factory; nothing is loaded here.

        Args:
            chat_model_factory: builds the chat model; called once, on first use.
            model_id: names the model in answers and logs.
            max_prompt_tokens: if set, turns are fitted to this budget before
                prompting (the caller should already have done it; a trim here
                is logged as a warning).
            prime_cache: let `warm_up` send the system prompt once so a local
                server has it cached before the first question.
            slots: the local server's parallel slots; each keeps its own prompt cache, so each is primed.
            request_options: extra keyword arguments for `chat_model.stream`,
                per turn (the local backend sends a citation grammar this way).
            meter: learns the model's prompt-reading speed from each answer, so the
                pipeline can size prompts to a first-token deadline; None = no deadline.
        """
        self.model_id = model_id
        self.can_translate = True
        self.max_prompt_tokens = max_prompt_tokens
        self.prime_cache = prime_cache
        self.slots = max(1, slots)
        self.request_options = request_options
        self.meter = meter
        self.last_usage: dict[str, Any] | None = None  # token counts of the latest answer, for logs and benchmarks
        self._factory = chat_model_factory
        self._model: BaseChatModel | None = None
        self._primed = False
        self._lock = threading.Lock()
        self._warming = threading.Lock()

    def tidy(self, turn: Turn, text: str) -> str:
        """The streamed answer with its artefacts repaired: a repetition loop the stream stopped is cut back
        to the last whole sentence before it, and the grammar's length cap (see `close_cut_sentences`)."""
        period = _loop_period(text)
        if period:  # (the stream stopped here: "... [3]! The adapters are merged as in [1")
            text = whole_sentences(text[:-period])
        if self.request_options is not _cite_by_grammar or turn.mode not in CITED_MODES:
            return text  # no length cap was imposed, so a long sentence is the model's own
        return close_cut_sentences(text, sentence_cap(turn.question))

    @property
    def chat_model(self) -> "BaseChatModel":
        """The chat model, built by the factory the first time (thread-safe)."""
        with self._lock:
            if self._model is None:
                self._model = self._factory()  # not cached on failure: a later call retries
            return self._model

    def warm_up(self) -> None:
        """Build the chat model now (e.g. when the UI starts) instead of on the first question.

        With `prime_cache`, also runs the fixed system prompt once in each of the server's
        `slots` (one output token), so the first real question only pays for its own message;
        timing the first slot's read gives the meter its first measurement. Runs once; a call made while
        another primes waits for it (a first question's translation needs the primed cache), later calls return.
        """
        model = self.chat_model
        with self._warming:
            with self._lock:
                if not self.prime_cache or self._primed:
                    return
                self._primed = True
            self._prime(model)

    def _prime(self, model) -> None:
        started = time.perf_counter()
        prime = [("system", SYSTEM_PROMPT), ("user", "Hello")]
        if self.slots == 1:
            reply = model.invoke(prime, max_tokens=1)
        else:
            # llama.cpp caches a prompt per slot, and a turn goes to any idle slot: a translation cut at its
            # deadline keeps its slot busy for a moment, the next turn lands on a cold one and reads the whole
            # system prompt again (332 tokens, 6 s on 2 cores, measured; the Chinese question that paid it was
            # searched without its English). Every slot is primed, the first alone so its time is a clean
            # measurement, the others together (about 8 s for 3 on 2 cores).
            reply = model.invoke(prime, max_tokens=1, extra_body={"id_slot": 0})
        self._measure(getattr(reply, "usage_metadata", None), time.perf_counter() - started)
        if self.slots > 1:
            with ThreadPoolExecutor(self.slots - 1, thread_name_prefix="prime-slot") as pool:
                for done in [pool.submit(model.invoke, prime, max_tokens=1, extra_body={"id_slot": i})
                             for i in range(1, self.slots)]:
                    done.result()  # a failure says what the first slot's priming would have said

    def stream(self, turn: Turn) -> Iterator[str]:
        """Yield the answer's text deltas as the model produces them.

        Raises:
            ConfigError: the turn's mode or level is unknown, or it cannot fit.
            BackendUnavailable: the model server could not be reached.
            ModelMissing: the local model is not installed.
        """
        if self.max_prompt_tokens:
            turn, trimmed = fit_budget(turn, self.max_prompt_tokens)
            if trimmed:
                log.warning("prompt trimmed to fit %d tokens: %s", self.max_prompt_tokens, " ".join(trimmed.notes()))
        messages = build_messages(turn)
        options = self.request_options(turn) if self.request_options else {}
        usage, answer, first = None, "", 0.0
        started = time.perf_counter()
        for chunk in self.chat_model.stream(messages, **options):
            usage = chunk.usage_metadata or usage
            text = _text(chunk.content)
            if text:
                first = first or time.perf_counter() - started
                yield text
                answer += text
                if _looping(answer):
                    # Closing the stream drops the connection, and llama.cpp stops generating.
                    log.warning("%s started repeating itself; answer cut after %d chars", self.model_id, len(answer))
                    break
        if usage:
            # input_token_details.cache_read > 0 means llama.cpp reused a cached prefix (the system prompt at least).
            self.last_usage = dict(usage)
            log.debug("%s usage: %s", self.model_id, usage)
            self._measure(usage, first)

    def _measure(self, usage: Any, seconds: float) -> None:
        """Feed the meter: prompt tokens the model read (not from its cache) and how long it took."""
        if self.meter is None or not usage or not seconds:
            return
        cached = (usage.get("input_token_details") or {}).get("cache_read", 0) or 0
        self.meter.record(int(usage.get("input_tokens", 0)) - int(cached), seconds)


def _looping(text: str, shortest: int = 30, longest: int = 1000) -> bool:
    """Whether the text ends with the same block (30-1000 chars) twice in a row.

    Small models under a grammar or at temperature 0 can fall into a loop that
    only max_tokens would end, at a cost of minutes on a CPU; prose almost
    never repeats 30+ characters back to back. Whole paragraphs repeat too
    (a Chinese answer looped over 4 paragraphs, ~600 chars), hence 1000.
    """
    return bool(_loop_period(text, shortest, longest))


def _loop_period(text: str, shortest: int = 30, longest: int = 1000) -> int:
    """The length of the block the text ends with twice in a row (see `_looping`), or 0."""
    tail = text[-2 * longest:]
    for period in range(shortest, len(tail) // 2 + 1):
        if tail[-period:] == tail[-2 * period:-period]:
            return period
    return 0


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    # Some providers stream a list of content blocks; keep only their text.
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content or ())


def make_generator(settings: Settings) -> Generator:
    """Build the generator named by `settings.llm`, cheaply (models load on first use).

    Args:
        settings: `llm` picks the backend: "local", "openai" or "extractive".

    Returns:
        An object satisfying `core.protocols.Generator`.

    Raises:
        ConfigError: `settings.llm` is not a known backend.
    """
    try:
        factory = _GENERATORS[settings.llm]
    except KeyError:
        raise ConfigError(f"unknown generator TUTOR_LLM={settings.llm!r}; valid: {', '.join(_GENERATORS)}") from None
    return factory(settings)


def _chat_generator(settings: Settings) -> Generator:
    local = settings.llm == "local"
    name = Path(settings.llm_model).name if settings.llm_model.endswith(".gguf") else settings.llm_model
    return ChatGenerator(
        lambda: make_chat_model(settings),
        model_id=f"{settings.llm}:{name}",
        max_prompt_tokens=prompt_budget(settings),
        prime_cache=local,  # a remote API would bill the priming call
        slots=settings.llm_slots if local else 1,
        # Only llama.cpp takes GBNF grammars; small local models need one to cite at all.
        request_options=_cite_by_grammar if local else None,
        # A remote server's speed is not ours to measure (and its usage may not stream):
        # it gets a deadline only when told its speed.
        meter=PrefillMeter(settings.prefill_tps) if local or settings.prefill_tps else None,
    )


def sentence_cap(question: str) -> int:
    """The grammar's longest sentence body for answers to `question`, in characters.

    A Chinese sentence packs ~3x the content per character: capped at 250, the
    model ran on with "，以及……".
    """
    return 100 if question_language(question) == "zh" else 250



def close_cut_sentences(text: str, cap: int) -> str:
    """End each sentence the grammar's length cap cut mid-phrase at its last clause break.

    A sentence whose body reached `cap` characters was forced to its marker
    ("……从而提高[1]。"); the words after its last comma or semicolon are an
    unfinished clause, so they go, and the marker and full stop stay.
    """
    def close(match: re.Match[str]) -> str:
        body, tail = match.group(1), match.group(2)
        if len(body.lstrip("-0123456789. ")) < cap - 2:
            return match.group(0)
        at = max(body.rfind(c) for c in "，；,;、")
        if at < len(body) * 0.4:
            return match.group(0)
        return body[:at].rstrip() + tail
    return _CUT.sub(close, text)


CITED_MODES = ("explain", "restate", "evidence")  # the prompt modes whose every sentence ends with a marker

# A sentence as the citation grammar produces it: a body, then "[n]" markers and an end mark.
_CUT = re.compile(r"([^.。!?！？\[\]\n]+?)( ?(?:\[\d{1,2}\])+[.。!?！？])")


def _cite_by_grammar(turn: Turn) -> dict[str, Any]:
    # A quiz question cites nothing, so only answers (and restated quotes) are constrained.
    if turn.mode not in CITED_MODES:
        return llama_cpp_options("")
    return llama_cpp_options(citation_grammar(len(turn.hits), max_sentence_chars=sentence_cap(turn.question)))


def _extractive_generator(settings: Settings) -> Generator:
    return ExtractiveGenerator()


_GENERATORS: dict[str, Callable[[Settings], Generator]] = {
    "local": _chat_generator,
    "openai": _chat_generator,
    "extractive": _extractive_generator,
}
