"""llama.cpp's parallel slots against one slot, on this machine: `python -m bench.slots [--slots 1 2 4] [--learners 1 4 10 20]`.

For each slot count, starts the configured local model's server with that many slots (continuous batching)
and lets C learners each ask for one model turn at the same moment, through the tutor's own queue
(tutor/backends/model_queue.py, `slots` at a time) and the real generator: a Chinese rendering of an English
sentence, the model's most common job under the default settings. Reports per C: every learner's time
to the first token (waiting in line included) p50/p95, the time until the last learner is done, and the
total decoding throughput in tokens/s. Prints a markdown block for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import threading
import time
from datetime import date

from bench.run import pct
from core.config import Settings
from core.types import Turn
from tutor.backends.generate import make_generator
from tutor.backends.llama_server import shutdown_servers
from tutor.backends.model_queue import ModelQueue

SENTENCES = (  # quotes of the kind the tutor renders (from the snapshot's sources, about 25-40 words each)
    "LoRA freezes the pretrained model weights and injects trainable rank decomposition matrices into each layer "
    "of the Transformer architecture, greatly reducing the number of trainable parameters for downstream tasks.",
    "The forget gate looks at the previous hidden state and the current input, and outputs a number between 0 and 1 "
    "for each number in the cell state, deciding how much of it to keep.",
    "PagedAttention partitions the KV cache of each sequence into blocks, each block containing the keys and values "
    "for a fixed number of tokens, so the blocks need not be contiguous in memory.",
    "Speculative decoding uses a small draft model to propose several tokens, which the large model then verifies "
    "in a single forward pass, producing exactly the output the large model alone would have produced.",
)


def one_round(generator, queue, learners: int) -> dict:
    first, tokens, barrier = [0.0] * learners, [0] * learners, threading.Barrier(learners)

    def learner(k: int) -> None:
        barrier.wait()
        started = time.perf_counter()
        with queue.ticket() as ticket:
            for _ in ticket.wait(poll=0.5):
                pass
            for delta in generator.stream(Turn(SENTENCES[k % len(SENTENCES)], (), mode="render")):
                first[k] = first[k] or time.perf_counter() - started
                tokens[k] += 1  # (one streamed delta is one token from llama.cpp)

    started = time.perf_counter()
    threads = [threading.Thread(target=learner, args=(k,)) for k in range(learners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"first": first, "wall": wall, "tokens": sum(tokens)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--slots", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--learners", type=int, nargs="+", default=[1, 4, 10, 20])
    args = p.parse_args(argv)

    base = Settings.load()
    load = os.getloadavg()
    rows, throughput = [], {}
    for slots in args.slots:
        settings = base.replace(llm="local", llm_slots=slots)
        generator = make_generator(settings)
        generator.warm_up()
        # Every slot reads the system prompt once before timing (a cold slot reads it on its first turn; a server
        # that has been up a while has every slot warm).
        one_round(generator, ModelQueue(slots, max_waiting=slots), slots)
        for learners in args.learners:
            r = one_round(generator, ModelQueue(slots, max_waiting=learners), learners)
            throughput[(slots, learners)] = r["tokens"] / r["wall"]
            rows.append(f"| {slots} | {learners} | {pct(r['first'], .5):.1f} s | {pct(r['first'], .95):.1f} s | "
                        f"{r['wall']:.1f} s | {r['tokens'] / r['wall']:.1f} |")
        shutdown_servers()  # the next slot count gets a server of its own
    print(f"\n### {date.today()} — {platform.machine()}, {os.cpu_count()} cores, load before {load[0]:.2f} — "
          f"`python -m bench.slots` ({base.llm_model}, {base.llm_threads} threads, one rendering per learner)\n")
    print("| slots | learners at once | first token p50 (wait included) | p95 | all done | tokens/s, all learners |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    for learners in args.learners:
        one = throughput.get((args.slots[0], learners))
        if one:
            ratios = ", ".join(f"{s} slots {throughput[(s, learners)] / one:.2f}x" for s in args.slots[1:]
                               if (s, learners) in throughput)
            print(f"\nThroughput at {learners} learners against {args.slots[0]} slot: {ratios}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
