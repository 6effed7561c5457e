"""The rerank stage: a cross-encoder re-scores the top fused candidates against the question.

A cross-encoder reads the question and a passage together, so it can weigh
which passage actually answers it, where the retrieval legs only compare
separately made vectors or counted terms. It is slow (every pair is a full
transformer pass), so it only sees the top `rerank_candidates` fused hits.

Backends are chosen by name from `RERANKERS`: "trained" is the project's own
model, fine-tuned on the corpus by `tutor train-reranker` and saved beside the
index (`<home>/reranker`); any other name is handed to sentence-transformers'
`CrossEncoder` as a hub id or a local folder. Models load lazily, once.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.errors import ConfigError, ModelMissing
from core.types import Hit
from index.embed import _shared
from index.store import pointer_path

log = logging.getLogger(__name__)

PROVENANCE = "provenance.json"  # written by tutor.retrieval.train_reranker beside the weights
TRAINED_DIR = "reranker"  # under settings.home


DTYPES = ("auto", "float32", "bfloat16")
# CPU flags (Linux /proc/cpuinfo) of units that multiply bfloat16 natively; elsewhere bf16 is emulated and slower.
_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


@functools.cache
def native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when the CPU multiplies bfloat16 in hardware (read from `cpuinfo`; False where it is unreadable)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return bool(_BF16_FLAGS & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return False


def body(chunk) -> str:
    """A chunk's text without its markdown heading lines (the heading path says the same), spaces collapsed."""
    lines = (line for line in chunk.text.splitlines() if not line.lstrip().startswith("#"))
    return " ".join(" ".join(lines).split())


def passage_text(chunk, text: str | None = None) -> str:
    """What a cross-encoder reads for a chunk: "title > heading path", then the text (`body` by default).

    Training (tutor.retrieval.train_reranker) renders its passages with this same function.
    """
    head = " > ".join(p for p in (chunk.title, chunk.heading) if p)
    text = body(chunk) if text is None else text
    return f"{head}\n{text}" if head else text


class CrossEncoderReranker:
    """A sentence-transformers `CrossEncoder`, by hub name or local folder.

    Args:
        model: a hub id ("cross-encoder/ms-marco-MiniLM-L6-v2") or a folder path.
        model_id: the id shown in reports (defaults to `model`).
        max_length: tokens per (question, passage) pair; longer passages are truncated.
            Cost grows linearly with it: 256 keeps most of a 1,000-character chunk.
        batch_size: pairs per forward pass.
        multilingual: False for a model that reads only English: the retriever then
            keeps the fused order for Chinese questions.
        threads: torch threads while scoring. One by default: on a shared 2-core
            machine a second thread fights the other processes (see bench/RESULTS.md).
        dtype: "float32", "bfloat16", or "auto": bfloat16 where the CPU computes it natively
            (AVX512-BF16 or AMX), where it scores about 2x faster with the same ranking.
    """

    def __init__(self, model: str, model_id: str | None = None, max_length: int = 256, batch_size: int = 32,
                 multilingual: bool = True, threads: int = 1, dtype: str = "auto") -> None:
        if max_length < 16:
            raise ConfigError(f"rerank max_length must be at least 16 tokens, got {max_length}")
        if dtype not in DTYPES:
            raise ConfigError(f"rerank dtype {dtype!r} is not one of: {', '.join(DTYPES)}")
        self.dtype = ("bfloat16" if native_bf16() else "float32") if dtype == "auto" else dtype
        self.model = str(model)
        self.model_id = model_id or self.model
        self.max_length = max_length
        self.batch_size = batch_size
        self.multilingual = multilingual
        self.threads = threads

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # an uncached hub name fails fast instead of hanging
        from sentence_transformers import CrossEncoder  # heavy (torch): only when a model loads

        try:
            import torch  # heavy (torch): only when a model runs

            return CrossEncoder(self.model, device="cpu", max_length=self.max_length,
                                model_kwargs={"torch_dtype": getattr(torch, self.dtype)})
        except Exception as e:  # the library raises several unrelated types for a missing model
            raise ModelMissing(
                f"cannot load reranker '{self.model}' ({type(e).__name__}); use a local folder, "
                "TUTOR_RERANKER=trained after `tutor train-reranker`, or unset HF_HUB_OFFLINE to download it"
            ) from e

    def load(self):
        """Load the model now (it is otherwise loaded on the first `rerank`)."""
        return _shared(f"ce:{self.model}:{self.max_length}:{self.dtype}", self._load)

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """Relevance of each passage to the question, higher is better (0..1)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        import torch  # heavy (torch): only when a model runs

        model = self.load()
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            out = model.predict([(question, p) for p in passages], batch_size=self.batch_size,
                                show_progress_bar=False, convert_to_numpy=True)
        finally:
            torch.set_num_threads(before)
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def rerank(self, question: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """The best `k` of `hits` by cross-encoder score, re-ranked 1..k, stage "rerank"."""
        return rank_by(hits, self.scores(question, [passage_text(h.chunk) for h in hits]), k)


def rank_by(hits: Sequence[Hit], scores: Sequence[float], k: int) -> list[Hit]:
    """Order hits by score (ties keep the incoming order) and renumber the best k as reranked hits."""
    order = sorted(range(len(hits)), key=lambda i: (-float(scores[i]), i))[: max(k, 0)]
    return [Hit(hits[i].chunk, score=float(scores[i]), rank=r, stage="rerank") for r, i in enumerate(order, start=1)]


def read_provenance(folder: Path) -> dict:
    """The provenance record of a trained reranker folder.

    Raises:
        ModelMissing: there is no trained model there, or its record is unreadable.
    """
    path = Path(folder) / PROVENANCE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelMissing(f"no trained reranker in {folder}: run `tutor train-reranker` "
                           "(or set TUTOR_RERANKER=none)") from None
    except ValueError as e:
        raise ModelMissing(f"the reranker record {path} is unreadable ({e}): run `tutor train-reranker` again") from None


def _trained(settings) -> CrossEncoderReranker:
    folder = Path(settings.home) / TRAINED_DIR
    info = read_provenance(folder)
    current = pointer_path(Path(settings.index_dir))
    if current.exists() and info.get("index_build") not in (None, current.read_text(encoding="utf-8").strip()):
        log.warning("the reranker in %s was trained on index build %s, the index is now %s: "
                    "run `tutor train-reranker` to refresh it", folder, info.get("index_build"),
                    current.read_text(encoding="utf-8").strip())
    return CrossEncoderReranker(str(folder), model_id=f"trained:{info.get('base_model', '?')}",
                                max_length=settings.rerank_max_length, multilingual=bool(info.get("multilingual")),
                                dtype=settings.rerank_dtype)


RERANKERS: dict[str, Callable[..., CrossEncoderReranker]] = {"trained": _trained}


def make_reranker(settings):
    """The reranker named by `settings.reranker`, or None for "none".

    Cheap: nothing is loaded until the first `rerank`.

    Raises:
        ModelMissing: "trained" before `tutor train-reranker` has been run.
    """
    name = (settings.reranker or "none").strip()
    if name == "none":
        return None
    factory = RERANKERS.get(name)
    if factory:
        return factory(settings)
    return CrossEncoderReranker(name, max_length=settings.rerank_max_length, dtype=settings.rerank_dtype)
