"""The first-token deadline: measured prefill speed, token budgets, and prompts sized to them."""

from __future__ import annotations

import time

import pytest

from core.language import estimate_tokens
from core.types import Turn
from tests.fake_backends import HashEmbedder, ScriptedGenerator
from tests.fakes import make_hit
from tutor.answer.author_turn import MIN_CONTEXT_TOKENS
from tutor.answer.compress import compress
from tutor.backends.latency import FIRST_TOKEN_S, MIN_SAMPLE_TOKENS, PRIOR_TOKENS_PER_S, PrefillMeter, latency_budget
from tutor.pipeline import Tutor
from tutor.backends.prompt import overhead_tokens, render_messages


def test_meter_is_the_median_of_recent_answers_and_ignores_tiny_reads():
    meter = PrefillMeter()
    assert not meter.measured and meter.tokens_per_s == PRIOR_TOKENS_PER_S
    meter.record(MIN_SAMPLE_TOKENS - 1, 0.001)  # a few tokens say more about request overhead than speed
    assert not meter.measured
    for tokens, seconds in ((500, 10.0), (400, 4.0), (300, 10.0)):  # 50, 100, 30 tok/s
        meter.record(tokens, seconds)
    assert meter.measured and meter.tokens_per_s == 50.0
    assert PrefillMeter(fixed=97.0).tokens_per_s == 97.0 and PrefillMeter(fixed=97.0).measured


def test_budget_grows_with_speed_between_floor_and_cap_and_history_gets_the_rest():
    args = dict(overhead_tokens=60, floor_tokens=80, passage_cap=480, history_tokens=600)
    slow = latency_budget(4.0, 0.05, 20.0, **args)
    mid = latency_budget(4.0, 0.05, 50.0, **args)
    fast = latency_budget(4.0, 0.05, 500.0, **args)
    assert (slow.passages, slow.history) == (80, 0)  # the floor: a late answer beats an empty one
    assert mid.passages == int(3.7 * 50) - 60 and mid.history == 0
    assert (fast.passages, fast.history) == (480, 600)
    # Time already spent on retrieval comes off the deadline.
    assert latency_budget(4.0, 1.0, 50.0, **args).passages < mid.passages


SENTENCES = [f"Sentence {i} of passage {{p}} is about topic {i}." for i in range(6)]


def _hits(n: int = 4):
    return tuple(make_hit(p, f"https://example.org/{p}", f"T{p}",
                          " ".join(s.format(p=p) for s in SENTENCES) + f" LoRA freezes weights in passage {p}.")
                 for p in range(1, n + 1))


def test_shared_budget_keeps_rank_order_drops_the_tail_and_stays_verbatim():
    hits = _hits()
    turn = Turn("What does LoRA freeze?", hits)
    one = estimate_tokens("LoRA freezes weights in passage 1.")
    out = compress(turn, HashEmbedder(), max_tokens=120, total_tokens=2 * one + 1)
    assert len(out.hits) == 2  # passages 3 and 4 could not get even their best sentence
    assert [h.chunk.doc_url for h in out.hits] == [h.chunk.doc_url for h in hits[:2]]
    assert out.hits[0].chunk.text == "LoRA freezes weights in passage 1."  # the best sentence of each
    for short, whole in zip(out.hits, hits):
        assert all(line in whole.chunk.text for line in short.chunk.text.split("\n"))
    roomy = compress(turn, HashEmbedder(), max_tokens=30, total_tokens=10_000)
    assert len(roomy.hits) == 4 and all(estimate_tokens(h.chunk.text) <= 30 for h in roomy.hits)  # per-passage cap holds
    # The first passage's best sentence is always sent, even over a tiny budget.
    assert len(compress(turn, HashEmbedder(), max_tokens=120, total_tokens=1).hits) == 1


class Metered(ScriptedGenerator):
    """A scripted model that reads prompts at a fixed, known speed."""

    max_prompt_tokens = 3000

    def __init__(self, script: str, tokens_per_s: float) -> None:
        super().__init__(script)
        self.meter = PrefillMeter(fixed=tokens_per_s)


@pytest.mark.parametrize("speed", [20.0, 60.0, 400.0])
def test_prompt_sent_fits_the_deadline_at_the_measured_speed(settings, built_index, embedder, speed):
    gen = Metered("LoRA freezes the pretrained weights [1].", speed)
    tutor = Tutor(settings.replace(context_k=3, ttft_target=4.0), index=built_index, embedders=embedder,
                  judge=embedder, generator=gen)
    answer = tutor.ask("What does LoRA freeze?")
    sent = gen.turns[-1]
    passages = sum(estimate_tokens(h.chunk.text) for h in sent.hits)
    allowed = max(int((4.0 - FIRST_TOKEN_S) * speed) - overhead_tokens(sent), MIN_CONTEXT_TOKENS)
    first = estimate_tokens(sent.hits[0].chunk.text)
    assert passages <= max(allowed, first)
    assert answer.citations and answer.citations[0].chunk_id == answer.hits[0].chunk.id  # numbering still holds
    if speed == 400.0:
        assert len(sent.hits) == 3  # a fast model gets every passage
    untimed = Metered("LoRA freezes the pretrained weights [1].", speed)
    Tutor(settings.replace(context_k=3, ttft_target=0), index=built_index, embedders=embedder, judge=embedder,
          generator=untimed).ask("What does LoRA freeze?")
    assert len(untimed.turns[-1].hits) == 3  # no deadline: every passage, each cut on its own


def test_an_unmeasured_model_is_warmed_up_first(settings, built_index, embedder):
    class Cold(Metered):
        def __init__(self) -> None:
            super().__init__("LoRA freezes the pretrained weights [1].", 0.0)
            self.warmed = 0

        def warm_up(self) -> None:
            self.warmed += 1
            self.meter.record(300, 3.0)

    gen = Cold()
    tutor = Tutor(settings, index=built_index, embedders=embedder, judge=embedder, generator=gen)
    tutor.ask("What does LoRA freeze?")
    tutor.ask("What does LoRA train?")
    assert gen.warmed == 1 and gen.meter.tokens_per_s == 100.0


def test_chat_generator_measures_prompt_reading_from_usage():
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    from tutor.backends.generate import ChatGenerator

    class Slow(BaseChatModel):
        """Reads 200 new prompt tokens (the rest cached) in 0.2 s, like a llama.cpp stream with usage."""

        @property
        def _llm_type(self) -> str:
            return "slow"

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            time.sleep(0.2)
            usage = {"input_tokens": 200, "output_tokens": 1, "total_tokens": 201}
            return ChatResult(generations=[ChatGeneration(message=AIMessage("Hi", usage_metadata=usage))])

        def _stream(self, messages, stop=None, run_manager=None, **kwargs):
            time.sleep(0.2)
            usage = {"input_tokens": 500, "output_tokens": 3, "total_tokens": 503,
                     "input_token_details": {"cache_read": 300}}
            yield ChatGenerationChunk(message=AIMessageChunk(content="LoRA [1].", usage_metadata=usage))

    gen = ChatGenerator(Slow, "fake:slow", prime_cache=True, meter=PrefillMeter())
    gen.warm_up()
    gen.warm_up()  # once is enough
    assert 400 <= gen.meter.tokens_per_s <= 1000  # 200 tokens in ~0.2 s
    hits = _hits(1)
    assert "".join(gen.stream(Turn("What does LoRA freeze?", hits))) == "LoRA [1]."
    assert 400 <= gen.meter.tokens_per_s <= 1000  # 200 new tokens in ~0.2 s, the 300 cached ones not counted
    assert len(gen.meter._samples) == 2


def test_labels_name_the_innermost_heading_and_overhead_counts_them():
    hit = make_hit(1, "https://example.org/1", "A very long title " * 8, "Text.")
    import dataclasses

    hit = dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, heading="Top > Middle > Method"))
    user = render_messages(Turn("What is it?", (hit,)))[-1].content
    label = user.split("\n")[1]
    assert label.endswith("— Method") and "Middle" not in label and len(label) < 140
    assert overhead_tokens(Turn("What is it?", (hit,))) >= estimate_tokens(label)


def test_history_left_out_for_the_deadline_is_said_so(settings, built_index, embedder):
    from core.types import Message

    history = (Message("user", "What does LoRA freeze?"), Message("assistant", "LoRA freezes the weights. " * 20))
    slow = Metered("LoRA trains small matrices [1].", 20.0)
    answer = Tutor(settings, index=built_index, embedders=embedder, judge=embedder, generator=slow).ask(
        "And what does it train?", history)
    assert slow.turns[-1].history == ()
    assert any("TUTOR_TTFT_TARGET" in note and "Left out the 2" in note for note in answer.notes)
    fast = Metered("LoRA trains small matrices [1].", 1000.0)
    answer = Tutor(settings, index=built_index, embedders=embedder, judge=embedder, generator=fast).ask(
        "And what does it train?", history)
    assert len(fast.turns[-1].history) == 2 and not answer.notes



@pytest.mark.parametrize("slots, pinned", [(1, [None]), (3, [0, 1, 2])])
def test_warm_up_primes_every_slot_of_a_local_server(slots, pinned):
    """llama.cpp caches the system prompt per slot; a cold slot makes a question read it all again."""
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    from tutor.backends.generate import ChatGenerator
    from tutor.backends.prompt import SYSTEM_PROMPT

    calls = []

    def record(messages, **kwargs):
        calls.append((messages[0].content, (kwargs.get("extra_body") or {}).get("id_slot")))
        return ChatResult(generations=[ChatGeneration(message=AIMessage("Hi"))])

    gen = ChatGenerator(chat_model_class("recording", record), "fake:recording", prime_cache=True, slots=slots)
    gen.warm_up()
    gen.warm_up()  # once is enough
    assert sorted(calls, key=lambda c: -1 if c[1] is None else c[1]) == [(SYSTEM_PROMPT, p) for p in pinned]


def test_a_warm_up_asked_for_while_another_primes_waits_for_it():
    """A first Chinese question's translation asks for the warm-up the chat started: it waits for the primed
    cache instead of landing on a slot still reading the system prompt."""
    import threading

    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    from tutor.backends.generate import ChatGenerator

    primed = threading.Event()

    def prime(messages, **kwargs):
        time.sleep(0.3)
        primed.set()
        return ChatResult(generations=[ChatGeneration(message=AIMessage("Hi"))])

    gen = ChatGenerator(chat_model_class("priming", prime), "fake:priming", prime_cache=True)
    first = threading.Thread(target=gen.warm_up)
    first.start()
    time.sleep(0.05)
    gen.warm_up()
    assert primed.is_set()
    first.join()


def chat_model_class(name: str, generate):
    """A LangChain chat model class whose `_generate(messages, **kwargs)` is `generate`."""
    from langchain_core.language_models import BaseChatModel

    class Fake(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return name

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            return generate(messages, **kwargs)

    return Fake
