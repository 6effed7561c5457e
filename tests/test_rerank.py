"""The rerank stage: a word-overlap fake, its contract with the real CrossEncoder, the retriever wiring,
and the pair miner of `tutor train-reranker`."""

from __future__ import annotations

import pytest

from core.errors import ConfigError, ModelMissing
from core.types import Chunk, Document, Hit
from index.bm25 import tokenize
from index.rerank import CrossEncoderReranker, make_reranker, passage_text, rank_by
from tests.conftest import DOCS, make_chunks
from tutor.retrieval.retrieve import Retriever

slow = pytest.mark.slow
LORA, ATTENTION, DIFFUSION = (d.url for d in DOCS)


class OverlapReranker:
    """Scores a passage by the share of the question's terms it contains (deterministic)."""

    model_id = "fake/word-overlap"

    def __init__(self, multilingual: bool = True) -> None:
        self.multilingual = multilingual
        self.seen: list[list[str]] = []

    def rerank(self, question, hits, k):
        self.seen.append([h.chunk.doc_url for h in hits])
        terms = set(tokenize(question))
        scores = [len(terms & set(tokenize(passage_text(h.chunk)))) / max(1, len(terms)) for h in hits]
        return rank_by(hits, scores, k)


class Prefers(OverlapReranker):
    """Puts one document first whatever the question: proves the order comes from the reranker."""

    def __init__(self, url: str, multilingual: bool = True) -> None:
        super().__init__(multilingual)
        self.url = url

    def rerank(self, question, hits, k):
        self.seen.append([h.chunk.doc_url for h in hits])
        return rank_by(hits, [1.0 if h.chunk.doc_url == self.url else 0.1 for h in hits], k)


def _hits(order=(DIFFUSION, ATTENTION, LORA)) -> list[Hit]:
    by_url = {c.doc_url: c for c in make_chunks()}
    return [Hit(by_url[u], score=1.0 / i, rank=i) for i, u in enumerate(order, start=1)]


# --- the contract: the fake and the real CrossEncoder behave alike -----------------------------------

@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory) -> str:
    """A cross-encoder trained here (offline, ~30 s idle) on the test corpus's sentences: it learns the
    three documents apart, so the contract's relevance check has a real model to run on."""
    import random

    from tutor.retrieval.mine_pairs import Example
    from tutor.retrieval.train_reranker import base_model_path, fit

    chunks = make_chunks()
    examples = []
    for pos, chunk in enumerate(chunks):
        sentences = [s for s in chunk.text.split("\n", 1)[1].split(". ") if s]
        others = tuple(p for p in range(3) if p != pos)
        for s in sentences:
            examples.append(Example(s, "sentence", pos, passage_text(chunk), others,
                                    tuple(passage_text(chunks[p]) for p in others)))
    random.Random(0).shuffle(examples)
    out = tmp_path_factory.mktemp("tiny-reranker")
    fit(examples, base_model_path(), out, max_length=64, batch_size=3, lr=1e-4, head_lr=3e-3, max_steps=30,
        epochs=100, max_seconds=300)
    return str(out)


def _real(path_fixture):
    def factory(request):
        return CrossEncoderReranker(request.getfixturevalue(path_fixture), max_length=128)
    return factory


@pytest.mark.parametrize("factory", [
    lambda request: OverlapReranker(),
    pytest.param(_real("tiny_cross_encoder"), marks=slow, id="cross-encoder"),
])
def test_reranker_contract(factory, request):
    reranker = factory(request)
    hits = _hits()
    got = reranker.rerank("How does LoRA reduce the number of trainable parameters with low-rank matrices?", hits, 2)
    assert isinstance(reranker.model_id, str) and reranker.model_id
    assert [h.rank for h in got] == [1, 2] and all(h.stage == "rerank" for h in got)
    assert got[0].chunk.doc_url == LORA  # higher score = more relevant, best first
    assert got[0].score >= got[1].score and {h.chunk.id for h in got} <= {h.chunk.id for h in hits}
    again = reranker.rerank("How does LoRA reduce the number of trainable parameters with low-rank matrices?", hits, 2)
    assert [(h.chunk.id, round(h.score, 5)) for h in again] == [(h.chunk.id, round(h.score, 5)) for h in got]
    assert len(reranker.rerank("noise sampling", hits, 10)) == 3  # never more than it was given
    assert reranker.rerank("noise sampling", [], 3) == [] and reranker.rerank("noise sampling", hits, 0) == []


def test_rank_by_keeps_incoming_order_on_ties():
    hits = _hits()
    got = rank_by(hits, [0.5, 0.5, 0.9], 3)
    assert [h.chunk.doc_url for h in got] == [LORA, DIFFUSION, ATTENTION] and [h.rank for h in got] == [1, 2, 3]


# --- wiring into the retriever ------------------------------------------------------------------------

def test_retriever_reranks_the_fused_candidates(built_index, embedder):
    reranker = Prefers(DIFFUSION)
    r = Retriever(built_index, embedder, candidates=5, reranker=reranker, rerank_candidates=3)
    got = r.retrieve("What does LoRA freeze when fine-tuning?", 1)
    assert [h.chunk.doc_url for h in got.hits] == [DIFFUSION] and got.hits[0].stage == "rerank"
    assert len(reranker.seen[-1]) == 3 and reranker.seen[-1][0] == LORA  # it saw the fused top 3, LoRA first
    plain = Retriever(built_index, embedder, candidates=5).retrieve("What does LoRA freeze when fine-tuning?", 1)
    assert plain.hits[0].chunk.doc_url == LORA and plain.hits[0].stage == "hybrid"
    # keyword coverage is measured on the hits returned, i.e. after reranking; relevance (whether the sources
    # cover the question at all) on the top fused candidates, which reranking does not change
    assert got.keyword_coverage < plain.keyword_coverage and got.relevance == plain.relevance


def test_english_only_reranker_is_skipped_for_chinese_questions(built_index, embedder):
    english = Prefers(DIFFUSION, multilingual=False)
    r = Retriever(built_index, embedder, candidates=5, reranker=english)
    assert r.retrieve("LoRA 冻结了哪些权重？", 2).hits[0].stage == "hybrid" and english.seen == []
    assert r.retrieve("What does LoRA freeze?", 2).hits[0].stage == "rerank" and len(english.seen) == 1
    both = Prefers(DIFFUSION, multilingual=True)
    assert Retriever(built_index, embedder, reranker=both).retrieve("LoRA 冻结了哪些权重？", 2).hits[0].stage == "rerank"


def test_filters_apply_before_reranking(built_index, embedder):
    reranker = OverlapReranker()
    r = Retriever(built_index, embedder, candidates=5, reranker=reranker)
    got = r.retrieve("attention tokens noise", 3, where=lambda c: c.doc_url != DIFFUSION)
    assert DIFFUSION not in {h.chunk.doc_url for h in got.hits} and DIFFUSION not in reranker.seen[-1]
    r.scope = lambda c: c.doc_url.startswith("https://example.org/att")
    assert {h.chunk.doc_url for h in r.retrieve("attention tokens noise", 3).hits} == {ATTENTION}


def test_make_reranker_names(settings, monkeypatch):
    from index import rerank

    assert make_reranker(settings) is None  # the default: "none"
    with pytest.raises(ModelMissing, match="tutor train-reranker"):
        make_reranker(settings.replace(reranker="trained"))
    monkeypatch.setitem(rerank.RERANKERS, "overlap", lambda s: OverlapReranker())
    assert isinstance(make_reranker(settings.replace(reranker="overlap")), OverlapReranker)
    hub = make_reranker(settings.replace(reranker="cross-encoder/not-a-cached-model", rerank_max_length=128))
    assert isinstance(hub, CrossEncoderReranker) and hub.max_length == 128  # cheap: nothing loaded yet


def test_hub_name_offline_is_a_clear_model_missing(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reranker = CrossEncoderReranker("cross-encoder/surely-not-cached-here-xyz")
    with pytest.raises(ModelMissing, match="cannot load reranker .*local folder"):
        reranker.rerank("What is LoRA?", _hits(), 2)


def test_tutor_builds_its_retriever_with_the_configured_reranker(settings, built_index, embedder, monkeypatch):
    from index import rerank
    from tutor.pipeline import Tutor

    monkeypatch.setitem(rerank.RERANKERS, "overlap", lambda s: OverlapReranker())
    tutor = Tutor(settings.replace(reranker="overlap", rerank_candidates=7), index=built_index, embedders=embedder,
                  judge=embedder)
    assert isinstance(tutor.retriever.reranker, OverlapReranker) and tutor.retriever.rerank_candidates == 7
    assert tutor.retrieve("What does LoRA freeze?").hits[0].stage == "rerank"
    assert Tutor(settings, index=built_index, embedders=embedder, judge=embedder).retriever.reranker is None


def test_trained_reranker_reads_its_provenance(settings, caplog):
    import json

    folder = settings.home / "reranker"
    folder.mkdir(parents=True)
    (folder / "provenance.json").write_text(json.dumps({"base_model": "m", "index_build": "old", "multilingual": False}))
    settings.index_dir.mkdir(parents=True)
    (settings.index_dir / "CURRENT").write_text("new\n")
    reranker = make_reranker(settings.replace(reranker="trained"))
    assert reranker.model == str(folder) and reranker.multilingual is False and reranker.model_id == "trained:m"
    assert "train-reranker" in caplog.text  # trained on another index build: say how to refresh it


# --- eval configs ----------------------------------------------------------------------------------------

def test_eval_configs_compare_rerank_and_bare_legs(settings):
    from evals.baselines import parse_config

    trained = settings.replace(reranker="trained")
    assert parse_config("default+reranker=trained", settings).settings.reranker == "trained"
    assert parse_config("bm25-only", trained).settings.reranker == "none"  # a leg alone, even if the default reranks
    assert parse_config("dense-only+reranker=trained", settings).settings.reranker == "trained"
    assert parse_config("default", trained).settings.reranker == "trained"


def test_eval_runs_reranked_and_plain_side_by_side(settings, built_index, tmp_path, monkeypatch):
    import json

    from evals.cases import load_cases
    from evals.pipelines import Builder
    from evals.run import run_eval
    from index import rerank
    from tests.fake_backends import HashEmbedder
    from tests.test_evals import write_cases

    calls = []

    class Counting(Prefers):
        def rerank(self, question, hits, k):
            calls.append(question)
            return super().rerank(question, hits, k)

    monkeypatch.setitem(rerank.RERANKERS, "prefers-diffusion", lambda s: Counting(DIFFUSION))
    cases = load_cases([write_cases(tmp_path / "cases.jsonl")])
    out = run_eval(settings, cases, ["default", "default+reranker=prefers-diffusion"], out_dir=tmp_path / "r",
                   builder=Builder(embedder=HashEmbedder(), progress=False))
    configs = json.loads((out / "summary.json").read_text(encoding="utf-8"))["configs"]
    assert calls and configs["default"]["overall"]["hit@1"] > configs["default+reranker=prefers-diffusion"]["overall"]["hit@1"]


# --- the pair miner ----------------------------------------------------------------------------------------

MINER_DOCS = [
    Document("https://example.org/lora", "LoRA explained",
             "# Low-rank adaptation\nLoRA freezes the pretrained weights of the model during fine-tuning. "
             "It trains two small low-rank matrices A and B instead of the full weight matrix. "
             "This cuts the number of trainable parameters by a very large factor. "
             "The learned update can be merged into the frozen weights after training. "
             "Inference therefore has no extra latency compared with the original model."),
    Document("https://example.org/attention", "Attention",
             "# Scaled dot-product attention\nSelf-attention lets every token look at every other token in the sequence. "
             "The scores are a softmax over scaled dot products of the queries and the keys. "
             "Multi-head attention runs several attention functions in parallel on projected inputs. "
             "The outputs of the heads are concatenated and projected once more. "
             "Masking hides future tokens when the model generates text one token at a time."),
    Document("https://example.org/diffusion", "Diffusion models",
             "# Denoising diffusion\nA diffusion model learns to reverse a gradual noising process over many steps. "
             "Sampling starts from pure Gaussian noise and removes a little noise at each step. "
             "The network is trained to predict the noise that was added to a clean image. "
             "Classifier-free guidance mixes conditional and unconditional predictions of the noise. "
             "Latent diffusion runs the whole process in the compressed space of an autoencoder."),
    Document("https://example.org/code", "Some code",
             "# Listing\n```python\ndef f(x):\n    return {k: v for k, v in x.items() if v}\n```\n"
             "x = f({'a': 1, 'b': 0}) # prints {'a': 1}\n" * 4),
]


@pytest.fixture
def miner_index(settings, embedder):
    from index.build import build_index
    from index.search import Index

    chunks = [Chunk(d.url, d.title, "", d.text, 0, len(d.text)) for d in MINER_DOCS]
    build_index(settings.index_dir, MINER_DOCS, chunks, embedder)
    return Index.load(settings.index_dir, embedder.model_id)


def test_pair_miner_takes_the_query_out_and_negatives_from_other_documents(miner_index, embedder):
    from tutor.retrieval.mine_pairs import mine_examples

    examples = mine_examples(miner_index, [embedder], max_queries=100, negatives=2, seed=1)
    chunks = miner_index.chunks
    assert {e.kind for e in examples} >= {"sentence", "title"}
    for e in examples:
        positive = chunks[e.positive]
        assert e.negatives and all(chunks[n].doc_url != positive.doc_url for n in e.negatives)
        assert positive.doc_url != "https://example.org/code"  # code listings make no queries
        assert len(e.negative_texts) == len(e.negatives) and "#" not in e.positive_text
        texts = [(positive, e.positive_text)] + [(chunks[n], t) for n, t in zip(e.negatives, e.negative_texts)]
        if e.kind == "sentence":
            assert e.query not in e.positive_text  # the query sentence was taken out of its passage
            assert all(t.startswith(c.title) for c, t in texts)  # negatives rendered like the positive
        elif e.kind == "title":
            assert not any(t.startswith(c.title) for c, t in texts)  # no title in any header: nothing gives it away
    sentences = [e for e in examples if e.kind == "sentence"]
    assert sentences and all(e.query in chunks[e.positive].text for e in sentences)


def test_pair_miner_never_uses_an_excluded_question(miner_index, embedder):
    from tutor.retrieval.mine_pairs import mine_examples

    everything = mine_examples(miner_index, [embedder], max_queries=100, negatives=1, seed=1)
    banned = everything[0].query
    again = mine_examples(miner_index, [embedder], max_queries=100, negatives=1, seed=1,
                          exclude=[banned.upper() + " "])  # matched ignoring case, spaces and punctuation
    assert banned not in {e.query for e in again} and len(again) == len(everything) - 1


def test_the_cli_never_trains_on_the_eval_cases(settings, monkeypatch):
    from evals.cases import load_cases
    from tutor import cli

    seen, index, embedders = {}, object(), [object()]
    monkeypatch.setattr("tutor.pipeline.Tutor.index", property(lambda self: index))
    monkeypatch.setattr("tutor.pipeline.Tutor.embedders", property(lambda self: embedders))
    monkeypatch.setattr(cli, "train_reranker", lambda s, **kw: seen.update(kw) or {
        "queries": 1, "pairs": 3, "steps": 1, "training_seconds": 1.0})
    assert cli.main(["train-reranker", "--steps", "1", "--quiet"]) == 0
    assert sorted(seen["excluded"]) == sorted(c.question for c in load_cases()) and len(seen["excluded"]) > 200
    assert seen["index"] is index and seen["embedders"] is embedders  # mined from the tutor's own index


@slow
def test_train_reranker_end_to_end_writes_model_and_provenance(settings, miner_index, embedder):
    import json

    from evals.cases import load_cases
    from tutor.retrieval.train_reranker import train_reranker

    record = train_reranker(settings, excluded=[c.question for c in load_cases()], queries=40, negatives=2, max_steps=3, layers=1, max_length=64, batch_size=2,
                            index=miner_index, embedders=[embedder])
    folder = settings.home / "reranker"
    saved = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    assert saved == record and record["steps"] == 3 and record["layers"] == 1
    assert record["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and record["index_build"] == miner_index.manifest.build
    assert record["eval_questions_excluded"] > 200 and record["pairs"] == record["queries"] * 3
    for key in ("date", "training_seconds", "queries_by_kind", "mining_seconds"):
        assert key in record
    reranker = make_reranker(settings.replace(reranker="trained", rerank_max_length=64))
    got = reranker.rerank("What does LoRA freeze?", _hits(), 3)
    assert [h.rank for h in got] == [1, 2, 3] and not (folder.parent / "reranker.partial").exists()


def test_bfloat16_is_chosen_only_where_the_cpu_has_it(tmp_path):
    from index.rerank import native_bf16

    sapphire, older = tmp_path / "sapphire", tmp_path / "older"
    sapphire.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_tile amx_bf16\n")
    older.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")
    assert native_bf16(str(sapphire)) and not native_bf16(str(older))
    assert not native_bf16(str(tmp_path / "missing"))  # no /proc (macOS, Windows): stay in float32
    assert CrossEncoderReranker("m", dtype="float32").dtype == "float32"
    assert CrossEncoderReranker("m").dtype in ("float32", "bfloat16")
    with pytest.raises(ConfigError, match="float32"):
        CrossEncoderReranker("m", dtype="fp8")


@slow
def test_bfloat16_scores_rank_like_float32(tiny_cross_encoder):
    hits = _hits()
    question = "How does LoRA reduce the number of trainable parameters with low-rank matrices?"
    full = CrossEncoderReranker(tiny_cross_encoder, max_length=128, dtype="float32").rerank(question, hits, 3)
    half = CrossEncoderReranker(tiny_cross_encoder, max_length=128, dtype="bfloat16").rerank(question, hits, 3)
    assert half[0].chunk.doc_url == full[0].chunk.doc_url == LORA  # the tiny model's runners-up are near-ties
    scores = {h.chunk.id: h.score for h in full}
    assert all(abs(h.score - scores[h.chunk.id]) < 0.02 for h in half), ([h.score for h in full], [h.score for h in half])
