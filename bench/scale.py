"""Scale benchmark, run by hand: `python -m bench.scale [--factors 10 100] [--leg 0] [--queries 200]`.

Does FAISS flat search still fit the latency budget when the corpus grows 10x or
100x, and do HNSW or IVF pay for themselves? The real index's vectors of one
dense leg (read only) are copied 10x / 100x with small random perturbations
(each copy re-normalised), so the synthetic corpus keeps the real one's
clustering. Queries are the eval questions embedded with that leg's model.

For each size and index type it measures: build time, one-query-at-a-time
search latency (p50/p95, k=30 as the retriever asks, one thread), memory
(serialised index size), and recall@10 against the exact (flat) top 10.
Prints a markdown block for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date

import numpy as np

from bench.run import pct, questions
from core.config import Settings
from index.embed import make_embedders
from index.search import Index

K = 30  # what the retriever asks each leg for (Settings.candidates)


def synthetic(base: np.ndarray, factor: int, noise: float, seed: int = 0) -> np.ndarray:
    """`factor` perturbed copies of the unit vectors in `base` (the first copy is the original)."""
    rng = np.random.default_rng(seed)
    copies = [base]
    scale = noise / np.sqrt(base.shape[1])  # per-dimension sigma: the perturbation's norm is ~noise
    for _ in range(factor - 1):
        v = base + rng.normal(0.0, scale, size=base.shape).astype(np.float32)
        copies.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    return np.ascontiguousarray(np.vstack(copies), dtype=np.float32)


def build(kind: str, vectors: np.ndarray):
    """A FAISS inner-product index of the given kind over the vectors, and its build seconds."""
    import faiss  # heavy: only when vectors are read or written

    n, dim = vectors.shape
    started = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind.startswith("hnsw"):
        index = faiss.IndexHNSWFlat(dim, int(kind.split("-")[1]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    elif kind == "ivf":
        nlist = int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)]
        index.train(sample)
    else:
        raise ValueError(kind)
    index.add(vectors)
    return index, time.perf_counter() - started


def search_params(kind: str) -> list[tuple[str, int]]:
    if kind.startswith("hnsw"):
        return [("efSearch", v) for v in (32, 64, 128)]
    if kind == "ivf":
        return [("nprobe", v) for v in (8, 16, 32)]
    return [("", 0)]


def measure(index, kind: str, param: tuple[str, int], queries: np.ndarray, exact: np.ndarray) -> dict:
    if param[0] == "efSearch":
        index.hnsw.efSearch = param[1]
    elif param[0] == "nprobe":
        index.nprobe = param[1]
    times, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), K)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(ids[0][:10])
    recall = float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)]))
    return {"p50": pct(times, 0.5), "p95": pct(times, 0.95), "recall": recall}


def memory_mb(index) -> float:
    import faiss  # heavy: only when vectors are read or written

    return faiss.serialize_index(index).nbytes / 1e6


def main() -> None:
    import faiss  # heavy: only when vectors are read or written

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100], help="corpus size multipliers")
    p.add_argument("--leg", type=int, default=0, help="dense leg of the live index (0 = MiniLM, 1 = USE)")
    p.add_argument("--queries", type=int, default=200, help="eval questions used as queries")
    p.add_argument("--noise", type=float, default=0.35, help="norm of each copy's perturbation (unit vectors)")
    p.add_argument("--kinds", nargs="+", default=["flat", "hnsw-32", "ivf"])
    args = p.parse_args()
    faiss.omp_set_num_threads(1)  # one query at a time on a shared 2-core machine, as the retriever runs


    settings = Settings.load()
    embedders = make_embedders(settings.embedder, settings.models_dir)
    live = Index.load(settings.index_dir, [e.model_id for e in embedders])
    base = live.vectors[args.leg].reconstruct_n(0, live.vectors[args.leg].ntotal)
    english_only = not getattr(embedders[args.leg], "multilingual", True)  # its leg is skipped for Chinese questions
    qs = [q for q in questions(args.queries * 2) if not english_only or not any("\u3400" <= ch <= "\u9fff" for ch in q)]
    queries = np.asarray(embedders[args.leg].embed_queries(qs[: args.queries]), dtype=np.float32)
    print(f"### {date.today()} — scale benchmark, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, faiss {faiss.__version__}\n")
    print(f"Leg {args.leg} ({live.manifest.embedders[args.leg]}, {base.shape[1]}-d), {len(queries)} eval questions as "
          f"queries, k={K}, one thread; copies perturbed with noise {args.noise}. Load average at start: "
          f"{os.getloadavg()[0]:.1f}.\n")
    print("| vectors | index | build | search p50 / p95 | memory | recall@10 vs exact |\n|---|---|---|---|---|---|")
    for factor in args.factors:
        vectors = synthetic(base, factor, args.noise)
        truth = faiss.IndexFlatIP(vectors.shape[1])
        truth.add(vectors)
        exact = truth.search(queries, 10)[1]
        del truth
        for kind in args.kinds:
            index, seconds = build(kind, vectors)
            for param in search_params(kind):
                m = measure(index, kind, param, queries, exact)
                label = kind + (f" ({param[0]}={param[1]})" if param[0] else "")
                print(f"| {len(vectors):,} | {label} | {seconds:.2f} s | {m['p50']:.2f} / {m['p95']:.2f} ms | "
                      f"{memory_mb(index):.0f} MB | {m['recall']:.3f} |", flush=True)
            del index


if __name__ == "__main__":
    main()
