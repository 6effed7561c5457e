"""EmbeddingGemma's question encoder, torch against int8 ONNX: `python -m bench.question_encoder [--n 40]`.

A question is embedded on every search, so its encoder sets the floor of retrieval latency.
Times one question at a time (the way a search embeds it), each variant in the same run on
the same eval questions: torch bfloat16 on 1 thread (what questions used before) and on 2,
and the int8 ONNX export (index/gemma_query.py) on 1 thread; plus each vector's cosine to
the torch one. With `--busy`, a spinning process holds one core meanwhile, as llama.cpp or
a second user would. Prints a markdown block for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

import numpy as np

from bench.run import pct, questions
from core.config import Settings
from index.embed import GemmaEmbedder
from index.gemma_query import QueryEncoder, ready


def _spin() -> None:
    while True:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.question_encoder")
    parser.add_argument("--n", type=int, default=40, help="questions (half English, half Chinese)")
    parser.add_argument("--busy", action="store_true", help="keep one core busy while timing")
    args = parser.parse_args(argv)
    import torch  # heavy (torch): only when a model runs


    settings = Settings.load()
    embedder = GemmaEmbedder(settings.models_dir)
    found = ready(settings.models_dir / "embeddinggemma-300m")
    if not found:
        print("no int8 question encoder: run `make gemma`")
        return 1
    asked = questions(args.n // 2, lang="en") + questions(args.n // 2, lang="zh")
    onnx = QueryEncoder(found.parent)

    from sentence_transformers import SentenceTransformer  # heavy (torch): only when a model loads

    model = SentenceTransformer(str(found.parent), device="cpu")  # as GemmaEmbedder loads it
    model.max_seq_length = embedder.max_seq_length
    model = model.to(torch.bfloat16)

    def torch_threads(n):
        def encode(texts):
            torch.set_num_threads(n)
            return model.encode([embedder.query_prefix + t for t in texts], normalize_embeddings=True)
        return encode

    variants = {"torch bfloat16, 1 thread": torch_threads(1), "torch bfloat16, 2 threads": torch_threads(2),
                "int8 ONNX, 1 thread": onnx.encode}
    spinner = None
    if args.busy:
        spinner = multiprocessing.Process(target=_spin, daemon=True)
        spinner.start()
    try:
        reference = np.vstack([torch_threads(1)([q]) for q in asked])
        rows = []
        for name, encode in variants.items():
            encode(asked[:1])  # loaded and warm
            times, vectors = [], []
            for q in asked:
                start = time.perf_counter()
                vectors.append(encode([q])[0])
                times.append((time.perf_counter() - start) * 1000)
            cosine = np.sum(np.vstack(vectors) * reference, axis=1)
            rows.append(f"| {name} | {pct(times, 0.5):.1f} | {pct(times, 0.95):.1f} | {cosine.mean():.4f} / {cosine.min():.4f} |")
    finally:
        if spinner:
            spinner.terminate()
    print(f"{len(asked)} questions ({args.n // 2} English, {args.n // 2} Chinese), one at a time"
          + (", one core kept busy" if args.busy else "") + ":\n")
    print("| question encoder | p50 ms | p95 ms | cosine to torch (mean / min) |\n|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
