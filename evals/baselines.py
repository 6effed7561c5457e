"""Eval configurations: parse config names, and the stock LangChain RAG baseline.

A config name is a base name plus optional `+key=value` settings overrides:
"default", "bm25-only", "dense-only", "langchain-naive",
"default+llm=extractive", "default+reranker=trained",
"dense-only+embedder=use-multilingual+home=/data/use".
Overrides go through `Settings.replace`, so every setting (including `home`,
where another embedder's index lives) can be compared without code changes.

"langchain-naive" is the LangChain RAG tutorial pipeline, as a yardstick:
RecursiveCharacterTextSplitter(1000, 200) over the same extracted documents,
all-MiniLM-L6-v2 embeddings, an in-memory FAISS vector store, top-k
similarity search, and the tutorial's plain prompt with no citation checking.
The store is rebuilt per run and never saved: `FAISS.save_local` pickles its
docstore, and this project loads no pickles.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from tqdm import tqdm

from core.config import Settings
from core.errors import ConfigError
from core.types import Answer, Chunk, Document, Hit, Turn
from tutor.backends.generate import make_generator

log = logging.getLogger(__name__)

# Base name -> retriever mode for the tutor's own pipeline (None: the LangChain baseline).
BASES: dict[str, str | None] = {"default": "hybrid", "bm25-only": "bm25", "dense-only": "dense", "langchain-naive": None}
# The single-leg baselines measure a leg alone: no reranker unless the config name asks for one
# ("bm25-only+reranker=trained"), whatever the default pipeline uses.
BASE_SETTINGS: dict[str, dict[str, str]] = {"bm25-only": {"reranker": "none"}, "dense-only": {"reranker": "none"}}
_OVERRIDE = re.compile(r"\+(?=[a-z_]+=)")

# The prompt of LangChain's RAG tutorial (hub "rlm/rag-prompt"), verbatim.
NAIVE_PROMPT = ("You are an assistant for question-answering tasks. Use the following pieces of retrieved context "
                "to answer the question. If you don't know the answer, just say that you don't know. Use three "
                "sentences maximum and keep the answer concise.\nQuestion: {question} \nContext: {context} \nAnswer:")
_DONT_KNOW = re.compile(r"\b(?:don'?t|do not|cannot|can't) (?:know|answer)|not (?:mentioned|covered)|不知道|无法回答|没有(?:提到|涉及)", re.I)


@dataclass(frozen=True)
class EvalConfig:
    """One column of the report: a base pipeline and the settings it runs with."""

    name: str
    base: str
    settings: Settings
    overrides: dict = field(default_factory=dict)

    @property
    def mode(self) -> str | None:
        """The retriever mode ("hybrid", "dense", "bm25"), or None for the LangChain baseline."""
        return BASES[self.base]


def parse_config(name: str, settings: Settings) -> EvalConfig:
    """Parse "base[+key=value...]" into an EvalConfig.

    Raises:
        ConfigError: an unknown base, a malformed override, or a setting that is unknown or invalid.
    """
    base, *rest = _OVERRIDE.split(name.strip())
    if base not in BASES:
        raise ConfigError(f"unknown eval config {base!r} in {name!r}; use one of {', '.join(BASES)}, "
                          "optionally followed by +setting=value (e.g. default+llm=extractive)")
    overrides = {}
    for item in rest:
        key, _, value = item.partition("=")
        if not value:
            raise ConfigError(f"override {item!r} in config {name!r} needs a value: +{key}=VALUE")
        overrides[key] = value
    changes = {**BASE_SETTINGS.get(base, {}), **overrides}
    return EvalConfig(name.strip(), base, settings.replace(**changes) if changes else settings, overrides)


def looks_like_refusal(text: str) -> bool:
    """Whether a plain-prompt answer declines ("I don't know"); the naive baseline has no refusal step."""
    return bool(_DONT_KNOW.search(text[:300]))


def _embeddings_adapter(embedder, progress: bool):
    """A `langchain_core.embeddings.Embeddings` over one of our embedders (built here: lazy import)."""
    from langchain_core.embeddings import Embeddings  # heavy (LangChain): only with a model backend

    class TutorEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:

            out: list[list[float]] = []
            steps = range(0, len(texts), 256)
            for i in tqdm(steps, desc="langchain-naive: embedding", unit="x256", disable=not progress or len(steps) < 2):
                out += embedder.embed_documents(texts[i:i + 256]).tolist()
            return out

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_queries([text])[0].tolist()

    return TutorEmbeddings()


class NaivePipeline:
    """The LangChain tutorial RAG pipeline over the same documents, built in memory on first use.

    Args:
        settings: `context_k` (passages given to the model) and `llm` (which generator).
        documents: the extracted documents (`Index.documents()`).
        embedder: an Embedder (all-MiniLM-L6-v2 for the real baseline).
        generator: a Generator; a `ChatGenerator` is used through its chat model with
            the plain prompt, anything else (extractive, fakes) gets a `Turn`.
        progress: show a progress bar while embedding.
    """

    def __init__(self, settings: Settings, documents: Sequence[Document], embedder, generator=None,
                 progress: bool = False) -> None:
        self.settings = settings
        self.documents = list(documents)
        self.embedder = embedder
        self._generator = generator
        self.progress = progress
        self._store = None
        self.build_seconds = 0.0

    @property
    def store(self):
        if self._store is None:
            with warnings.catch_warnings():  # the package is being sunset; its FAISS store is the baseline's
                warnings.simplefilter("ignore", DeprecationWarning)
                from langchain_community.vectorstores import FAISS  # heavy (LangChain): only for this baseline
            from langchain_core.documents import Document as LCDocument  # heavy (LangChain): only with a model backend
            from langchain_text_splitters import (
                RecursiveCharacterTextSplitter,  # heavy (LangChain): only for this baseline
            )

            started = time.perf_counter()
            splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
            docs = splitter.split_documents([
                LCDocument(page_content=d.text, metadata={"source": d.url, "title": d.title, "part": d.part,
                                                          "section": d.section, "lang": d.lang})
                for d in self.documents])
            self._store = FAISS.from_documents(docs, _embeddings_adapter(self.embedder, self.progress))
            self.build_seconds = time.perf_counter() - started
            log.info("langchain-naive: %d chunks embedded in %.0f s", len(docs), self.build_seconds)
        return self._store

    @property
    def generator(self):
        if self._generator is None:
            self._generator = make_generator(self.settings)
        return self._generator

    def search(self, question: str, k: int) -> list[Hit]:
        """Top-k similarity search, as our Hits (score = cosine, from FAISS's squared L2 on unit vectors)."""
        hits = []
        for rank, (doc, distance) in enumerate(self.store.similarity_search_with_score(question, k=k), start=1):
            meta = doc.metadata
            start = int(meta.get("start_index", 0))
            chunk = Chunk(meta["source"], meta.get("title", ""), "", doc.page_content, start,
                          start + len(doc.page_content), meta.get("part", ""), meta.get("section", ""),
                          meta.get("lang", "en"))
            hits.append(Hit(chunk, score=1.0 - float(distance) / 2.0, rank=rank, stage="langchain-faiss"))
        return hits

    def _stream(self, question: str, hits: tuple[Hit, ...]) -> Iterator[str]:
        generator = self.generator
        chat_model = generator.chat_model
        if chat_model is None:
            yield from generator.stream(Turn(question, hits))
            return
        context = "\n\n".join(h.chunk.text for h in hits)
        for piece in chat_model.stream([("user", NAIVE_PROMPT.format(question=question, context=context))]):
            text = piece.content if isinstance(piece.content, str) else ""
            if text:
                yield text

    def ask(self, question: str) -> Answer:
        """Retrieve, stuff the passages into the plain prompt, and return the unverified answer."""
        started = time.perf_counter()
        hits = tuple(self.search(question, self.settings.context_k))
        parts: list[str] = []
        ttft = 0.0
        for delta in self._stream(question, hits):
            if not parts:
                ttft = (time.perf_counter() - started) * 1000
            parts.append(delta)
        total = (time.perf_counter() - started) * 1000
        text = "".join(parts).strip()
        return Answer(question, text, (), hits, refused=looks_like_refusal(text), ttft_ms=ttft or total,
                      total_ms=total, model=f"langchain-naive:{getattr(self.generator, 'model_id', '?')}")
