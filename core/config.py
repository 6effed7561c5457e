"""One frozen `Settings`, read from a TOML file and `TUTOR_*` environment variables.

Precedence, lowest first: defaults, the TOML file, the environment. Nothing
is read or created at import time; call `Settings.load()` at the edge (CLI,
UI, tests) and pass the result down explicitly.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_NAME = "genai-handbook.warc.gz"

# Allowed values for settings that pick a behaviour; backends are checked by
# their registries, which also accept model names and paths.
CHOICES = {
    "llm": ("local", "openai", "extractive"),
    "citation_check": ("embedding", "llm"),
    "unsupported": ("drop", "flag"),
    "query_rewrite": ("rules", "concat", "off"),  # kept in step with tutor.retrieval.rewrite.STRATEGIES (a test checks)
    "rerank_dtype": ("auto", "float32", "bfloat16"),  # kept in step with index.rerank.DTYPES
    "log_level": ("debug", "info", "warning", "error"),
    "answer": ("evidence", "author"),
}

# Numbers outside these bounds are refused at load, with the bound, rather than failing later inside
# llama.cpp or a search (TUTOR_LLM_CTX=-5 used to fail 40 s in, in llama.cpp's own words).
RANGES = {
    "llm_threads": (1, 256), "llm_ctx": (512, 1_048_576), "max_tokens": (1, 32_768), "temperature": (0.0, 2.0),
    "candidates": (1, 1000), "context_k": (1, 50), "per_document": (0, 50), "passage_tokens": (0, 8192),
    "ttft_target": (0.0, 600.0), "prefill_tps": (0.0, 1e6), "chunk_chars": (200, 20_000),
    "rerank_candidates": (1, 200), "rerank_max_length": (16, 8192), "english_weight": (0.0, 10.0),
    "background_weight_en": (0.0, 10.0), "background_weight_zh": (0.0, 10.0), "min_relevance": (0.0, 1.0),
    "min_keyword_coverage": (0.0, 1.0), "keyword_min_relevance": (0.0, 1.0), "unknown_term_relevance": (0.0, 1.0),
    "rare_word_zipf": (0.0, 8.0),
    "support_threshold": (0.0, 1.0), "port": (1, 65_535), "fetch_delay": (0.0, 3600.0),
    "fetch_timeout": (0.1, 3600.0), "fetch_retries": (0, 20), "fetch_workers": (1, 64),
    "fetch_max_bytes": (1, 2_000_000_000), "llm_slots": (1, 64), "max_waiting": (0, 100_000),
    "review_retention": (0.7, 0.99),
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")

# TUTOR_* variables read elsewhere, never stored in Settings (a secret must not
# end up in a dataclass that gets logged or dumped).
_NOT_SETTINGS = ("TUTOR_CONFIG", "TUTOR_AUTH", "TUTOR_SCREENSHOTS")


@dataclass(frozen=True)
class Settings:
    """Every knob of the tutor. Env var for a field is `TUTOR_<FIELD>` upper-cased."""

    home: Path = Path("data")
    snapshot: str = ""  # WARC used as the default corpus; "" = look beside the repo
    # Comma-separated: one dense retrieval leg per embedder, built at ingest. MiniLM (English only) was 145 of the
    # 200 s of a first ingest for +0.007 hit@5, and adds nothing beside EmbeddingGemma (tune half, fusion runs).
    embedder: str = "use-multilingual"
    judge_embedder: str = "use-multilingual"  # scores relevance and citation support, any language
    # Ranks the evidence's sentences against the question (tutor/quotes/similarity.py) once they are embedded
    # with it (`tutor leg`); until then, and for "", the judge does.
    evidence_embedder: str = "embeddinggemma"
    # A leg too slow to build at ingest: built afterwards in the background (index/legs.py) and read once it is
    # there; "" for none. EmbeddingGemma needs `make gemma` (a 1.2 GB model); without it the fast legs serve.
    background_embedder: str = "embeddinggemma"
    # Its fusion weight for English and for Chinese questions (0 = not asked: saves its ~65 ms query on 2 cores).
    # 3 was best on the tune half of the dev cases among 1-5 (hit@5 / MRR@10 en-en 1.000/0.937, zh-en 0.979/0.921,
    # zh-zh 1.000/1.000 against 0.990/0.909, 1.000/0.874, 1.000/0.929 without the leg).
    background_weight_en: float = 3.0
    background_weight_zh: float = 3.0
    reranker: str = "none"  # "none", "trained" (tutor train-reranker), or a CrossEncoder name/path
    # Top fused hits the reranker re-scores, and tokens per question+passage pair: cost grows with both.
    # 10 x 128 in bfloat16 keeps retrieve-with-rerank at p50 160 / p95 230 ms on 2 cores (bench/RESULTS.md).
    rerank_candidates: int = 10
    rerank_max_length: int = 128
    rerank_dtype: str = "auto"  # "auto" (bfloat16 where the CPU has it natively), "float32" or "bfloat16"
    llm: str = "local"
    llm_model: str = "qwen2.5-coder-1.5b"
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_threads: int = 2
    llm_ctx: int = 4096  # per slot
    # Model turns written at once (llama.cpp's parallel slots for the local model; a replica's share of a remote
    # server): more learners wait in tutor/backends/model_queue.py, beyond `max_waiting` they get the evidence alone.
    # 4 on 2 cores: 1.7-1.9x the tokens/s of one slot from 4 learners on, a learner alone as fast (bench/slots.py).
    llm_slots: int = 4
    max_waiting: int = 16
    max_tokens: int = 384
    temperature: float = 0.0
    candidates: int = 30  # hits taken from each retrieval leg before fusion
    context_k: int = 4  # passages given to the model
    # How an answer is built. "evidence" (the default): the sources' own sentences that answer the
    # question, then the model's short explanation of them (tutor/quotes/evidence.py, tutor/answer/explain.py).
    # "author": the model writes the answer from whole passages (checked), for a strong model.
    answer: str = "evidence"
    # With evidence first, have the model add a short explanation of the evidence (checked). Off by default:
    # read by hand on 82 answers, 8 of the 21 explanations the 1.5B model got past the check added a false
    # claim to an answer its quotes had right, and one made an answer better (evals/graded/after-default.jsonl).
    explain: bool = False
    # For a Chinese question on English sources, show the model's Chinese rendering under each English quote
    # (checked 1:1, tutor/answer/render_check.py). Off by default: no offline check can tell a rendering's meaning,
    # and read blind on 19 unseen zh->en answers (session 22), with the renderings 1 answered, 7 partly, 1 did not,
    # 10 were wrong (a false rendering); the same answers without them 0 / 17 / 2 / 0 (evals/graded/README.md).
    render: bool = False
    # Search a Chinese question in English too, translated by the model (tutor/retrieval/translate.py).
    translate: bool = True
    # Weight of the English rendering's legs in the fusion: 1.0 pulled Chinese questions on the Chinese notes to
    # English pages (zh-zh MRR@10 1.00 -> 0.81 on the tune half), 0.6 keeps them (0.86) and zh-en gains (0.81 -> 0.86).
    english_weight: float = 0.6
    per_document: int = 2  # at most this many passages of one document ahead of the others; 0 = no cap
    query_rewrite: str = "rules"  # how a follow-up borrows the previous question's subject (tutor/retrieval/rewrite.py)
    passage_tokens: int = 120  # each passage is cut to its most relevant sentences within this; 0 = whole
    # Time to first token to aim for, in seconds: the passages sent to a local model are sized
    # to what it reads in that time at its measured speed (tutor/backends/latency.py); 0 = no deadline.
    ttft_target: float = 4.0
    prefill_tps: float = 0.0  # the model's prompt-reading speed, tokens/s; 0 = measure it from its answers
    chunk_chars: int = 1000
    # The tutor declines when the best passage's judge similarity is below
    # min_relevance and its keywords cover less than min_keyword_coverage of the
    # question's terms. Calibrated on the eval cases (evals/cases).
    min_relevance: float = 0.32
    min_keyword_coverage: float = 0.6
    # Keyword coverage alone is trusted only above this relevance ("ChatGPT Plus
    # price" shares words with many passages but means none of them).
    keyword_min_relevance: float = 0.22
    # A question term no source contains ("Llama 4 Scout") needs this relevance;
    # a year no source mentions means the question is about later events.
    unknown_term_relevance: float = 0.35
    # A word rarer than this in English at large (wordfreq's Zipf scale: 3 is once per million words)
    # that no source contains is what the question is about, so it is declined ("splatting"); everyday
    # words a small corpus lacks ("teases", Zipf 2.8) are not. 2.5 left 1 of 1,338 answerable dev and
    # earlier fresh questions declined for a word, and caught 3 of fresh v35's 3 out-of-scope ones; 0 = off.
    rare_word_zipf: float = 2.5
    # Sentence-passage support needed to keep a citation. 0.5, not 0.45: the sentences scoring
    # 0.45-0.5 were mostly generic or wrong (a Chinese "definition" that only shares the topic),
    # and dropping them took judged citation precision from 0.943 to 1.000 on 100 cases.
    support_threshold: float = 0.5
    citation_check: str = "embedding"  # "llm": also ask the chat model about borderline citations
    unsupported: str = "drop"  # a sentence no passage supports is taken out ("drop") or kept, flagged ("flag")
    # When a non-English answer falls back to the sources' English sentences, ask the model once more
    # to say those sentences in the question's language, checked like any answer (tutor/answer/restate.py).
    restate: bool = False
    # Reviews (tutor/learn/): the recall FSRS schedules each card for. Higher means more reviews; 0.9 is FSRS's
    # and Anki's default, a good balance of work and memory.
    review_retention: float = 0.9
    learner: str = "local"  # the terminal's learner (the chat's is its login, or "local" without one)
    host: str = "127.0.0.1"
    port: int = 7860
    log_level: str = "warning"
    # Live fetching (ingest/crawl.py). Hosts that resolve to loopback, private,
    # link-local, multicast or reserved addresses are refused unless listed in
    # allow_hosts (comma-separated names, IPs or CIDR networks).
    allow_hosts: str = ""
    fetch_delay: float = 1.0  # seconds between two requests to the same host
    fetch_timeout: float = 20.0  # seconds to connect, and between two reads
    fetch_retries: int = 3  # retries on connect errors, 429 and 5xx (exponential backoff)
    fetch_workers: int = 4  # hosts fetched at the same time
    fetch_max_bytes: int = 10_000_000  # a bigger body is refused

    @classmethod
    def load(
        cls,
        toml_path: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> "Settings":
        """Build settings from defaults, a TOML file, the environment and overrides.

        Args:
            toml_path: a TOML file; defaults to `$TUTOR_CONFIG`, else `tutor.toml`
                in the working directory if present.
            env: the environment to read (defaults to `os.environ`).
            **overrides: explicit values (e.g. from CLI flags), highest precedence.

        Raises:
            ConfigError: an unknown key or a value of the wrong type or choice.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        path = toml_path or env.get("TUTOR_CONFIG") or ("tutor.toml" if Path("tutor.toml").exists() else None)
        if path:
            values.update(_read_toml(Path(path)))
        known = {f.name for f in fields(cls)}
        for key, raw in env.items():
            if key.startswith("TUTOR_") and key not in _NOT_SETTINGS:
                name = key[len("TUTOR_"):].lower()
                if name not in known:
                    raise ConfigError(f"unknown setting {key}; valid: " + ", ".join(f"TUTOR_{k.upper()}" for k in sorted(known)))
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Settings":
        """Coerce and check a mapping of setting names to values."""
        by_name = {f.name: f for f in fields(cls)}
        coerced: dict[str, Any] = {}
        for name, raw in values.items():
            if name not in by_name:
                raise ConfigError(f"unknown setting '{name}'; valid: {', '.join(sorted(by_name))}")
            coerced[name] = _coerce(name, by_name[name].default, raw)
        settings = cls(**coerced)
        for name, allowed in CHOICES.items():
            if getattr(settings, name) not in allowed:
                raise ConfigError(f"setting {name}={getattr(settings, name)!r} is not one of: {', '.join(allowed)}")
        for name, (low, high) in RANGES.items():
            if not low <= getattr(settings, name) <= high:
                raise ConfigError(f"setting {name}={getattr(settings, name)!r} is out of range: use a value from "
                                  f"{low} to {high} (TUTOR_{name.upper()})")
        return settings

    def replace(self, **changes: Any) -> "Settings":
        return self.from_mapping({**dataclasses.asdict(self), **changes})

    @property
    def index_dir(self) -> Path:
        return Path(self.home) / "index"

    @property
    def models_dir(self) -> Path:
        return Path(self.home) / "models"

    def snapshot_path(self) -> Path | None:
        """The default WARC snapshot, if there is one beside the checkout."""
        if self.snapshot:
            return Path(self.snapshot)
        for base in (Path.cwd(), REPO_ROOT):
            candidate = base.parent / "shared" / "corpus" / SNAPSHOT_NAME
            if candidate.exists():
                return candidate
        return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; create it or unset TUTOR_CONFIG") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    # Allow an optional [tutor] table so the file can share space with others.
    return dict(data.get("tutor", data))


def _coerce(name: str, default: Any, raw: Any) -> Any:
    kind = type(default)
    try:
        if isinstance(default, Path):
            return Path(raw)
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            if str(raw).strip().lower() not in _TRUE + _FALSE:  # a typo must not silently switch a feature off
                raise ValueError(raw)
            return str(raw).strip().lower() in _TRUE
        if kind in (int, float):
            return kind(raw)
        return str(raw)
    except (TypeError, ValueError):
        what = "true or false (1/0, yes/no, on/off)" if kind is bool else f"a {kind.__name__}"
        raise ConfigError(f"setting {name}={raw!r} must be {what}") from None
