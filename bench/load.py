"""A class at once: N learners chat with one tutor through its web API for a few minutes (loopback only).

    python -m bench.load --learners 20 --minutes 3 [--backend local|server] [--slots N] [--explain]

Starts the chat server in a process of its own (`ui.app`, the configured index and model) on a free loopback
port, so the learners' clients (threads of this process) do not share its interpreter lock, as browsers would not;
`--backend server` puts the model behind llama.cpp's own OpenAI-compatible HTTP server instead (started here
too, on loopback) and points the tutor at it with `TUTOR_LLM=openai`, the deployment path past one machine.
Each learner is its own gradio client (its own session): it asks a question from the eval cases (English
and Chinese alike), reads the answer as it streams, thinks for a few seconds, and asks the next.

Per turn it records the time to the evidence (the first sentences quoted, or a decline), to the model's
first words when the turn used the model (a Chinese rendering, an explanation), and to the end; errors
(a failed request, a reply starting with "⚠"); turns that waited in line and turns answered without the
model because the line was full. Prints a markdown block for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import resource
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date

from bench.run import pct, questions
from core.config import Settings
from tutor.backends.llama_server import LocalLlamaServer
from tutor.backends.models import resolve_gguf
from tutor.pipeline import Tutor

EVIDENCE = ("**From the sources**", "From the sources", "来源原文")
MODEL = ("机器译文", "What it means", "讲解")


@dataclass
class Turn:
    question: str
    evidence: float = 0.0  # seconds from asking
    model: float = 0.0
    done: float = 0.0
    waited: bool = False
    busy: bool = False
    error: str = ""


@dataclass
class Learner:
    turns: list[Turn] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _text(chat) -> str:
    if not chat:
        return ""
    content = chat[-1].get("content", "")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _ask(client, question: str) -> Turn:
    turn, started = Turn(question), time.perf_counter()
    try:
        job = client.submit(question, [], "explain", "beginner", "All parts", api_name="/ask")
        for output in job:
            now, text = time.perf_counter() - started, _text(output[0])
            waiting = "⏳" in text
            text = "\n".join(line for line in text.split("\n") if "⏳" not in line)  # (the status line says 讲解 too)
            if not turn.evidence and (any(h in text for h in EVIDENCE) or "⚠" in text
                                      or ("Searching" not in text and "passages" not in text and len(text) > 40)):
                turn.evidence = now  # the quotes, or a decline: what needs no model
            if not turn.model and any(m in text for m in MODEL):
                turn.model = now
            turn.waited |= waiting
        final = _text(job.outputs()[-1][0]) if job.outputs() else ""
        turn.done = time.perf_counter() - started
        turn.busy = "waiting for the model" in final or "在等模型讲解" in final
        if final.startswith("⚠") or not final:
            turn.error = final[:120] or "no reply"
    except Exception as e:  # noqa: BLE001 - every failure is counted, none stops the run
        turn.error, turn.done = f"{type(e).__name__}: {e}"[:160], time.perf_counter() - started
    return turn


def _serve(settings: Settings, conn) -> None:
    """The chat server's process: serves until told to stop, then reports its model turns and peak memory."""
    from ui.app import build_app, launch  # Gradio (2.5 s): only the server's process needs it, not the learners'

    tutor = Tutor(settings)
    tutor.warm_up()
    app = build_app(tutor, settings)
    conn.send(launch(app, settings, block=False))
    conn.recv()  # "stop"
    app.close()
    conn.send({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "mean_model_s": tutor.queue.mean_seconds})


def run(settings: Settings, learners: int, seconds: float, think: tuple[float, float], seed: int = 7) -> dict:

    from gradio_client import Client  # only for the load benchmark

    settings = settings.replace(host="127.0.0.1", port=_free_port())
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(settings, theirs), daemon=True)
    server.start()
    if not ours.poll(600):
        server.kill()
        raise RuntimeError("the chat server did not start within 10 minutes")
    url = ours.recv()
    pool = questions(40, lang="en") + questions(40, lang="zh")
    rng = random.Random(seed)
    rng.shuffle(pool)
    stop = time.monotonic() + seconds
    crowd = [Learner() for _ in range(learners)]

    def learn(k: int) -> None:
        client = Client(url, verbose=False)
        own = random.Random(seed + k)
        time.sleep(own.uniform(0, think[1]))  # learners arrive over the first moments, not in lockstep
        i = k
        while time.monotonic() < stop:
            crowd[k].turns.append(_ask(client, pool[i % len(pool)]))
            i += learners
            time.sleep(own.uniform(*think))

    started = time.monotonic()
    threads = [threading.Thread(target=learn, args=(k,), daemon=True) for k in range(learners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    ours.send("stop")
    stats = ours.recv()
    server.join(30)
    return {"turns": [t for c in crowd for t in c.turns], "elapsed": elapsed, **stats}


def report(result: dict, label: str) -> list[str]:
    turns = result["turns"]
    ok = [t for t in turns if not t.error]
    ev = [t.evidence for t in ok if t.evidence]
    model = [t.model for t in ok if t.model]
    done = [t.done for t in ok]
    fmt = lambda xs: f"p50 {pct(xs, .5):.2f} s, p95 {pct(xs, .95):.2f} s" if xs else "—"
    errors = sorted({t.error for t in turns if t.error})
    return [
        f"| {label} | {len(turns)} turns in {result['elapsed'] / 60:.1f} min ({len(turns) / result['elapsed'] * 60:.1f}/min), "
        f"**{len(turns) - len(ok)} errors** |",
        f"| {label}: evidence (or decline) on screen | {fmt(ev)} (max {max(ev, default=0):.2f} s) |",
        f"| {label}: the model's first words, {len(model)} turns that used it | {fmt(model)} |",
        f"| {label}: turn complete | {fmt(done)} |",
        f"| {label}: waited in line / answered without the model (line full) | {sum(t.waited for t in ok)} / "
        f"{sum(t.busy for t in ok)} turns (model turn measured at {result['mean_model_s']:.1f} s on average) |",
        f"| {label}: peak memory of the server process | {result['rss_mb']:.0f} MB |",
    ] + [f"| {label}: error | {e} |" for e in errors[:5]]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", type=int, default=20)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--think", type=float, nargs=2, default=(5.0, 15.0), metavar=("MIN", "MAX"),
                   help="seconds a learner reads before the next question")
    p.add_argument("--backend", choices=("local", "server"), default="local")
    p.add_argument("--slots", type=int, default=0, help="parallel slots (default: TUTOR_LLM_SLOTS)")
    p.add_argument("--explain", action="store_true", help="the model explains every answer (TUTOR_EXPLAIN=true)")
    args = p.parse_args(argv)
    settings = Settings.load()
    if args.slots:
        settings = settings.replace(llm_slots=args.slots)
    if args.explain:
        settings = settings.replace(explain=True)
    server = None
    if args.backend == "server":
        server = LocalLlamaServer(resolve_gguf(settings.llm_model, settings.models_dir), settings.llm_ctx,
                                  settings.llm_threads, alias="tutor-model", slots=settings.llm_slots)
        settings = settings.replace(llm="openai", llm_base_url=server.base_url + "/v1", llm_api_key=server.api_key,
                                    llm_model="tutor-model")
    label = (f"{args.learners} learners, {args.backend} ({settings.llm_slots} slot{'s' * (settings.llm_slots > 1)}"
             f"{', explain' if settings.explain else ''})")
    load = os.getloadavg()
    try:
        result = run(settings, args.learners, args.minutes * 60, tuple(args.think))
    finally:
        if server is not None:
            server.close()
    print(f"\n### {date.today()} — {platform.machine()}, {os.cpu_count()} cores, load before {load[0]:.2f} — "
          f"`python -m bench.load --learners {args.learners} --minutes {args.minutes:g} --backend {args.backend}`\n")
    print("| measure | result |\n|---|---|")
    print("\n".join(report(result, label)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
