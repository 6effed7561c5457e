"""CLI: `tutor retrieve` / `tutor ask` with --part and --source, and `tutor train-reranker`'s flags."""

from __future__ import annotations

import inspect
import io
import json

import pytest

from tests.conftest import DOCS
from tests.fake_backends import HashEmbedder
from tutor import cli

LORA, ATTENTION, DIFFUSION = (d.url for d in DOCS)


@pytest.fixture
def run(settings, built_index, monkeypatch):
    """`tutor ...` in-process over the fake index; returns (exit code, stdout, stderr)."""
    from index import embed

    monkeypatch.setitem(embed.EMBEDDERS, "hash", HashEmbedder)
    for key, value in {"TUTOR_HOME": str(settings.home), "TUTOR_EMBEDDER": "hash", "TUTOR_JUDGE_EMBEDDER": "hash",
                       "TUTOR_MIN_RELEVANCE": "0.05"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("tutor.pipeline.Tutor.parts", lambda self: sorted({c.part for c in self.index.chunks}))

    def call(*argv, stdin=""):
        out = io.StringIO()
        code = cli.main(list(argv), stdin=io.StringIO(stdin), stdout=out)
        return code, out.getvalue()
    return call


def _urls(stdout: str) -> set[str]:
    return {hit["url"] for line in stdout.splitlines() for hit in json.loads(line)["hits"]}


QUESTIONS = '{"id": 1, "question": "attention noise LoRA weights"}\n'


def test_retrieve_without_filters_sees_every_source(run):
    code, out = run("retrieve", "--jsonl", "--k", "3", stdin=QUESTIONS)
    assert code == 0 and _urls(out) == {LORA, ATTENTION, DIFFUSION}


def test_retrieve_part_takes_a_piece_of_a_part_name(run):
    code, out = run("retrieve", "--jsonl", "--k", "3", "--part", "fine-tuning", stdin=QUESTIONS)
    assert code == 0 and _urls(out) == {LORA}  # "Part IV: Fine-tuning", matched case-insensitively
    code, out = run("retrieve", "--jsonl", "--k", "3", "--part", "Part II: Neural sequence prediction", stdin=QUESTIONS)
    assert code == 0 and _urls(out) == {ATTENTION}


def test_retrieve_source_is_a_url_prefix(run):
    code, out = run("retrieve", "--jsonl", "--k", "3", "--source", "https://example.org/diff", stdin=QUESTIONS)
    assert code == 0 and _urls(out) == {DIFFUSION}
    code, out = run("retrieve", "--jsonl", "--k", "3", "--source", "https://example.org/", "--part", "Part IV",
                    stdin=QUESTIONS)
    assert code == 0 and _urls(out) == {LORA}


def test_unknown_or_ambiguous_filters_say_what_exists(run, capsys):
    code, _ = run("retrieve", "--jsonl", "--part", "cooking", stdin=QUESTIONS)
    err = capsys.readouterr().err
    assert code == 1 and "matches no handbook parts" in err and "Part IV: Fine-tuning" in err
    code, _ = run("retrieve", "--jsonl", "--part", "Part", stdin=QUESTIONS)
    assert code == 1 and "matches 3 handbook parts" in capsys.readouterr().err
    code, _ = run("retrieve", "--jsonl", "--source", "https://nowhere.example/", stdin=QUESTIONS)
    assert code == 1 and "no indexed source starts with" in capsys.readouterr().err


def test_ask_cites_only_the_chosen_part_or_source(run):
    question = '{"id": 1, "question": "What does the model learn and what does it freeze?"}\n'
    code, out = run("ask", "--jsonl", "--llm", "extractive", "--part", "Generative modeling", stdin=question)
    row = json.loads(out)
    assert code == 0 and row["citations"] and {c["url"] for c in row["citations"]} == {DIFFUSION}
    code, out = run("ask", "--jsonl", "--llm", "extractive", "--source", LORA, stdin=question)
    row = json.loads(out)
    assert code == 0 and row["citations"] and {c["url"] for c in row["citations"]} == {LORA}
    # each evidence quote says which of its sentences were picked ("" when the quote is just those)
    assert row["evidence"] and all(set(e) == {"n", "url", "title", "section", "sentence", "key", "rendering", "block"}
                               for e in row["evidence"])
    assert all(e["key"] in e["sentence"] for e in row["evidence"])


def test_train_reranker_flags_reach_the_trainer(run, monkeypatch):
    seen = {}

    from tutor.retrieval.train_reranker import train_reranker

    def fake_train(settings, **kwargs):
        inspect.signature(train_reranker).bind(settings, **kwargs)  # what the CLI passes, the trainer takes
        seen.update(kwargs)
        return {"queries": 10, "pairs": 40, "steps": 5, "training_seconds": 1.0}

    monkeypatch.setattr("tutor.cli.train_reranker", fake_train)
    code, out = run("train-reranker", "--queries", "10", "--steps", "5", "--minutes", "0.5", "--layers", "2",
                    "--threads", "1", "--quiet")
    assert code == 0 and "TUTOR_RERANKER=trained" in out and "10 queries, 40 pairs, 5 steps" in out
    assert seen["queries"] == 10 and seen["max_steps"] == 5 and seen["max_seconds"] == 30 and seen["layers"] == 2


def test_reranker_setting_missing_model_is_a_one_line_error(run, monkeypatch, capsys):
    monkeypatch.setenv("TUTOR_RERANKER", "trained")
    code, _ = run("retrieve", "What is LoRA?")
    err = capsys.readouterr().err
    assert code == 1 and "tutor train-reranker" in err and err.count("\n") == 1
