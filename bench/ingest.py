"""Ingest benchmarks, run by hand: extraction throughput and refresh times.

    python -m bench.ingest [--index data/index] [--work /tmp/bench-home] [--repeat 3] [--skip-changed]

Measures, on the default snapshot (`TUTOR_SNAPSHOT` or ../shared/corpus):
- extraction + chunking alone (WARC read, extract, chunk; no cache, no
  embedding): documents/s and chunks/s, median of `--repeat` passes;
- `tutor ingest` as a user runs it (a subprocess, so interpreter start and
  imports count) on a COPY of an existing index (`--index`, copied to
  `--work`): a no-op refresh with the extraction cache cold, then warm, and a
  refresh after one document of the snapshot changed (a modified copy of the
  WARC, one paragraph appended to one page; alternating versions, so every
  run sees exactly one changed document).

The source index is never written. Prints a markdown block for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from core.config import REPO_ROOT, Settings
from core.errors import SourceError
from ingest.chunk import chunk
from ingest.extract import extract
from ingest.warc import read_warc

CHANGED_URL = "https://huggingface.co/blog/lora"  # a markdown page of the snapshot


def bench_extract(snapshot: Path, repeat: int) -> list[str]:
    times, docs, chunks = [], 0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        docs = chunks = 0
        for page in read_warc(snapshot):
            try:
                doc = extract(page)
            except SourceError:
                continue
            docs += 1
            chunks += len(chunk(doc))
        times.append(time.perf_counter() - started)
    t = statistics.median(times)
    return [f"| extraction + chunking alone ({docs} docs, {chunks} chunks; median of {repeat}) | {t:.2f} s "
            f"({docs / t:.0f} docs/s, {chunks / t:.0f} chunks/s) |"]


def ingest_once(home: Path, snapshot: Path) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_")}
    env.update(TUTOR_HOME=str(home), TUTOR_SNAPSHOT=str(snapshot))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tutor", "ingest", "--quiet"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tutor ingest failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout.strip().splitlines()[-1]


def changed_snapshot(snapshot: Path, target: Path, edit: int) -> Path:
    """Copy the snapshot with one paragraph appended to CHANGED_URL's record."""
    from warcio.archiveiterator import ArchiveIterator  # only when a WARC archive is read or written
    from warcio.warcwriter import WARCWriter  # only when a WARC archive is read or written

    with open(snapshot, "rb") as src, open(target, "wb") as dst:
        writer = WARCWriter(dst, gzip=True)
        for record in ArchiveIterator(src):
            if record.rec_headers.get_header("WARC-Target-URI") == CHANGED_URL and record.rec_type == "resource":
                body = record.content_stream().read() + f"\n\nBenchmark edit {edit}: one changed paragraph.\n".encode()
                record = writer.create_warc_record(
                    CHANGED_URL, "resource", payload=io.BytesIO(body), length=len(body),
                    warc_content_type=record.rec_headers.get_header("Content-Type"),
                    warc_headers_dict={"WARC-Date": record.rec_headers.get_header("WARC-Date")})
            writer.write_record(record)
    return target


def bench_refresh(index: Path, work: Path, snapshot: Path, repeat: int, changed: bool) -> list[str]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(index, work / "index")
    rows = []
    # First bring the copy up to date with the current code (an extractor
    # change since the index was built shows up here, not in the no-op).
    synced, summary = ingest_once(work, snapshot)
    rows.append(f"| `tutor ingest` on the copy, first run (brings it up to date) | {synced:.1f} s — {summary} |")
    (work / "cache" / "extract.sqlite").unlink(missing_ok=True)
    cold, summary = ingest_once(work, snapshot)
    rows.append(f"| `tutor ingest`, nothing changed, extraction cache cold (1 run) | {cold:.1f} s — {summary} |")
    noop = [ingest_once(work, snapshot) for _ in range(repeat)]
    rows.append(f"| `tutor ingest`, nothing changed (no-op refresh; median of {repeat}) | "
                f"**{statistics.median(t for t, _ in noop):.1f} s** — {noop[-1][1]} |")
    if changed:
        runs = []
        for edit in range(1, repeat + 1):  # alternate versions: each run sees one changed document
            version = changed_snapshot(snapshot, work / f"changed-{edit % 2}.warc.gz", edit)
            runs.append(ingest_once(work, version))
        rows.append(f"| `tutor ingest`, one document changed ({CHANGED_URL}; median of {repeat}) | "
                    f"{statistics.median(t for t, _ in runs):.1f} s — {runs[-1][1]} |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", default=str(REPO_ROOT / "data" / "index"), help="existing index to copy (never written)")
    p.add_argument("--work", default="/tmp/bench-home", help="scratch TUTOR_HOME (deleted and re-created)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-changed", action="store_true", help="skip the one-changed-document refresh (loads the models)")
    args = p.parse_args()
    work, index = Path(args.work).resolve(), Path(args.index).resolve()
    if index.parent == work or work in index.parents:
        raise SystemExit("--work must not contain --index: the benchmark deletes and rewrites --work")
    snapshot = Settings.load(env={}).snapshot_path()
    if snapshot is None or not snapshot.exists():
        raise SystemExit("no snapshot WARC: set TUTOR_SNAPSHOT")
    rows = bench_extract(snapshot, args.repeat) + bench_refresh(index, work, snapshot, args.repeat, not args.skip_changed)
    load = os.getloadavg()
    print(f"### {date.today()} — {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load[0]:.1f} at the end\n\n| what | result |\n|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
