"""What one ingest run did, source by source: the report printed at the end and kept in `<home>/last_ingest.json`.

Every page gets one status:

    ok         new or changed: extracted and (re)indexed ("new" / "changed")
    unchanged  same document as in the index before the run
    failed     not ingested, with the reason (HTTP error, robots.txt, too short, ...)
    duplicate  same or nearly the same text as another page, which was kept
    removed    was in the index, is in none of the sources any more

and every input (a WARC file, a notes folder, a sitemap, the URL list) an
"ok" or "failed" line of its own. `tutor sources` reads the saved report to
show each source's last status.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

STATUSES = ("ok", "unchanged", "failed", "duplicate", "removed")
REPORT_NAME = "last_ingest.json"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one page or one input in a run (`status` one of STATUSES; an input is "ok" or "failed")."""

    source: str
    status: str
    reason: str = ""
    origin: str = ""  # the input a page came from (a WARC file, a notes folder, "live")


@dataclass
class IngestReport:
    """Filled in by the run through its methods, then written once at the end; each outcome is a frozen record."""

    started: str
    inputs: list[Outcome] = field(default_factory=list)
    items: list[Outcome] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    embedder: str = ""
    build: str = ""
    rebuilt: bool = False
    notes: list[str] = field(default_factory=list)  # run-level messages (embedder changed, WARC saved, ...)

    def add(self, source: str, status: str, reason: str = "", origin: str = "") -> None:
        """Record one page's outcome."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self.items.append(Outcome(source, status, reason, origin))

    def add_input(self, source: str, status: str, reason: str = "") -> None:
        """Record one input's outcome (a WARC file, a notes folder, a sitemap)."""
        self.inputs.append(Outcome(source, status, reason))

    def kept_copies(self, urls: set[str]) -> None:
        """Say of each failed page in `urls` that its copy already in the index was kept."""
        self.items = [replace(i, reason=i.reason + "; the copy already in the index was kept")
                      if i.status == "failed" and i.source in urls else i for i in self.items]

    def sources(self, *statuses: str, inputs: bool = False) -> list[str]:
        """The pages (or inputs) with one of `statuses`, in the order they were recorded."""
        return [i.source for i in (self.inputs if inputs else self.items) if i.status in statuses]

    @property
    def ok(self) -> list[str]:
        """URLs of the pages in the index after the run."""
        return self.sources("ok", "unchanged")

    @property
    def skipped(self) -> list[Outcome]:
        """Inputs that failed, then pages left out (failed or duplicates)."""
        return [i for i in self.inputs if i.status == "failed"] + \
            [i for i in self.items if i.status in ("failed", "duplicate")]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for item in self.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts

    def summary(self) -> str:
        """One line per input and per page, then the totals."""
        width = max(len(s) for s in STATUSES)
        lines = [f"{i.status:<{width}}  {i.source}" + (f": {i.reason}" if i.reason else "") for i in self.inputs]
        for item in self.items:
            reason = item.reason
            if item.status == "ok":
                reason = f" ({reason})" if reason else ""
            elif reason:
                reason = f": {reason}"
            lines.append(f"{item.status:<{width}}  {item.source}{reason}")
        c = self.counts()
        new = sum(1 for i in self.items if i.status == "ok" and i.reason == "new")
        index = (f"index rebuilt ({self.build})" if self.rebuilt else "index unchanged (nothing to rebuild)")
        lines.append(
            f"{self.documents} documents, {self.chunks} chunks ({self.embedded} newly embedded): "
            f"{new} new, {c['ok'] - new} changed, {c['unchanged']} unchanged, {c['failed']} failed, "
            f"{c['duplicate']} duplicates, {c['removed']} removed; {index}; {self.seconds:.1f} s"
            + (f" with {self.embedder}" if self.embedder else ""))
        lines += self.notes
        return "\n".join(lines)

    @classmethod
    def from_json(cls, data: dict) -> IngestReport:
        """A report as saved; one written before per-page statuses had `ok` and `skipped` lists of URLs."""
        def outcomes(rows) -> list[Outcome]:
            return [Outcome(str(r.get("source", "")), str(r.get("status", "")), str(r.get("reason", "")),
                            str(r.get("origin", ""))) for r in rows if isinstance(r, dict)]
        if "items" in data:
            items, inputs = outcomes(data["items"]), outcomes(data.get("inputs", []))
        else:
            items = [Outcome(str(u), "ok") for u in data.get("ok", [])]
            items += [Outcome(str(s.get("url", "")), "failed", str(s.get("reason", ""))) for s in data.get("skipped", [])]
            inputs = [Outcome(str(label), "ok") for label in data.get("sources", [])]
        numbers = {k: data[k] for k in ("documents", "chunks", "embedded", "seconds") if isinstance(data.get(k), (int, float))}
        return cls(started=str(data.get("started", "?")), inputs=inputs, items=items, **numbers,
                   embedder=str(data.get("embedder", "")), build=str(data.get("build", "")),
                   rebuilt=bool(data.get("rebuilt", False)), notes=[str(n) for n in data.get("notes", [])])


def write_report(home: str | Path, report: IngestReport) -> Path:
    """Save the report as `<home>/last_ingest.json` (atomically) and return the path."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / REPORT_NAME
    tmp = home / f".{REPORT_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(asdict(report), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_report(home: str | Path) -> IngestReport | None:
    """The last run's report, or None if there is none or it is unreadable."""
    path = Path(home) / REPORT_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return IngestReport.from_json(data) if isinstance(data, dict) else None
    except (FileNotFoundError, ValueError, TypeError, AttributeError):
        return None
