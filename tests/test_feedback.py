"""The feedback store (SQLite), its JSONL export and `tutor feedback export`."""

from __future__ import annotations

import io
import json
import sqlite3
import threading

import pytest

from core.config import Settings
from core.errors import ConfigError
from core.types import Answer
from tests.fakes import lora_script
from tutor.cli import main
from tutor.feedback import FeedbackStore, public_config


def lora_answer() -> Answer:
    hits, _, text, citations = lora_script()
    return Answer("How does LoRA work?", text, citations, hits, mode="socratic", model="local:qwen2.5-coder-1.5b")


@pytest.fixture
def store(settings) -> FeedbackStore:
    return FeedbackStore.for_settings(settings)


def test_store_lives_in_the_data_directory_and_is_created_on_first_write(settings, store):
    assert store.path == settings.home / "feedback.sqlite"
    assert not store.path.exists() and store.records() == []  # reading creates nothing
    store.add("up", lora_answer(), level="beginner")
    assert store.path.is_file()


def test_add_keeps_everything_needed_to_study_the_rating(settings, store):
    config = public_config(settings)
    row = store.add("down", lora_answer(), level="practitioner", comment="  [2] does not say that ", part="Part III",
                    config=config)
    (record,) = store.records()
    assert record["id"] == row
    assert record["rating"] == "down" and record["comment"] == "[2] does not say that"
    assert record["question"] == "How does LoRA work?"
    assert record["answer"].startswith("LoRA freezes the model's weights [1]")
    assert [c["n"] for c in record["citations"]] == [1, 2]
    assert record["citations"][0]["url"] == "https://arxiv.org/abs/2106.09685"
    assert record["citations"][1]["supported"] is False
    assert (record["mode"], record["level"], record["part"]) == ("socratic", "practitioner", "Part III")
    assert record["model"] == "local:qwen2.5-coder-1.5b"
    assert record["config"]["context_k"] == settings.context_k and record["config"]["home"] == str(settings.home)
    assert record["time"].endswith("+00:00")


def test_public_config_drops_secrets():
    settings = Settings(llm="openai", llm_api_key="sk-secret", llm_base_url="https://bob:hunter2@llm.example.org:8443/v1")
    config = public_config(settings)
    assert "llm_api_key" not in config
    assert config["llm_base_url"] == "https://llm.example.org:8443/v1"
    assert "sk-secret" not in json.dumps(config) and "hunter2" not in json.dumps(config)
    assert public_config(Settings(llm_base_url="http://localhost:11434/v1"))["llm_base_url"] == "http://localhost:11434/v1"


def test_rate_comment_and_remove_change_one_row(store):
    first = store.add("up", lora_answer(), level="beginner")
    second = store.add("up", lora_answer(), level="beginner")
    store.rate(first, "down")
    store.comment(first, "too vague")
    store.remove(second)
    assert [(r["id"], r["rating"], r["comment"]) for r in store.records()] == [(first, "down", "too vague")]


def test_unknown_rating_is_refused(store):
    with pytest.raises(ConfigError, match="rating 'meh' is not one of: up, down"):
        store.add("meh", lora_answer(), level="beginner")
    first = store.add("up", lora_answer(), level="beginner")
    with pytest.raises(ConfigError):
        store.rate(first, "sideways")
    assert store.records()[0]["rating"] == "up"


def test_concurrent_adds_from_threads_all_land(store):
    threads = [threading.Thread(target=store.add, args=("up", lora_answer()), kwargs={"level": "beginner"}) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["id"] for r in store.records()) == list(range(1, 9))


def test_export_writes_one_json_object_per_line(store):
    store.add("up", lora_answer(), level="beginner")
    store.add("down", Answer("什么是注意力机制？", "注意力机制让模型关注相关的词。", mode="explain", model="scripted"), level="beginner")
    out = io.StringIO()
    assert store.export(out) == 2
    lines = out.getvalue().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["rating"] for r in rows] == ["up", "down"]
    assert "什么是注意力机制" in lines[1]  # not \u-escaped
    assert set(rows[0]) == {"id", "time", "rating", "comment", "question", "answer", "citations", "mode", "level",
                            "part", "model", "config"}


def test_the_table_is_plain_sqlite(store):
    store.add("up", lora_answer(), level="beginner")
    with sqlite3.connect(store.path) as con:
        citations, rating = con.execute("SELECT citations, rating FROM feedback").fetchone()
    assert rating == "up" and json.loads(citations)[0]["quote"].startswith("We propose Low-Rank Adaptation")


def test_cli_export_to_stdout_and_to_a_file(settings, store, tmp_path, capsys):
    store.add("up", lora_answer(), level="beginner", comment="clear")
    stdout = io.StringIO()
    assert main(["feedback", "export"], stdout=stdout) == 0  # the `settings` fixture made ./data the home
    assert json.loads(stdout.getvalue())["comment"] == "clear"
    assert "exported 1 ratings" in capsys.readouterr().err

    out = tmp_path / "ratings.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 0
    assert [json.loads(line)["rating"] for line in out.read_text(encoding="utf-8").splitlines()] == ["up"]


def test_cli_export_with_no_ratings_writes_nothing(settings, capsys):
    stdout = io.StringIO()
    assert main(["feedback", "export"], stdout=stdout) == 0
    assert stdout.getvalue() == "" and "exported 0 ratings" in capsys.readouterr().err
    assert not (settings.home / "feedback.sqlite").exists()


def test_cli_export_to_an_unwritable_file_is_one_line_of_error(settings, tmp_path, capsys):
    assert main(["feedback", "export", "--out", str(tmp_path / "missing" / "x.jsonl")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and "Traceback" not in err
