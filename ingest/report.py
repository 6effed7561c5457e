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
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("ok", "unchanged", "failed", "duplicate", "removed")
REPORT_NAME = "last_ingest.json"


@dataclass
class IngestReport:
    """Mutable while the run fills it in; written once at the end."""

    started: str
    inputs: list[dict] = field(default_factory=list)  # {"source", "status", "reason"}
    items: list[dict] = field(default_factory=list)  # {"source", "status", "reason", "origin"}
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
        self.items.append({"source": source, "status": status, "reason": reason, "origin": origin})

    def add_input(self, source: str, status: str, reason: str = "") -> None:
        """Record one input's outcome (a WARC file, a notes folder, a sitemap)."""
        self.inputs.append({"source": source, "status": status, "reason": reason})

    @property
    def ok(self) -> list[str]:
        """URLs of the pages in the index after the run."""
        return [i["source"] for i in self.items if i["status"] in ("ok", "unchanged")]

    @property
    def skipped(self) -> list[dict]:
        """Pages (and inputs) left out, each {"url", "reason"}."""
        out = [{"url": i["source"], "reason": i["reason"]} for i in self.inputs if i["status"] == "failed"]
        return out + [{"url": i["source"], "reason": i["reason"]} for i in self.items if i["status"] in ("failed", "duplicate")]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for item in self.items:
            counts[item["status"]] += 1
        return counts

    def summary(self) -> str:
        """One line per input and per page, then the totals."""
        width = max(len(s) for s in STATUSES)
        lines = [f"{i['status']:<{width}}  {i['source']}" + (f": {i['reason']}" if i["reason"] else "") for i in self.inputs]
        for item in self.items:
            reason = item["reason"]
            if item["status"] == "ok":
                reason = f" ({reason})" if reason else ""
            elif reason:
                reason = f": {reason}"
            lines.append(f"{item['status']:<{width}}  {item['source']}{reason}")
        c = self.counts()
        new = sum(1 for i in self.items if i["status"] == "ok" and i["reason"] == "new")
        index = (f"index rebuilt ({self.build})" if self.rebuilt else "index unchanged (nothing to rebuild)")
        lines.append(
            f"{self.documents} documents, {self.chunks} chunks ({self.embedded} newly embedded): "
            f"{new} new, {c['ok'] - new} changed, {c['unchanged']} unchanged, {c['failed']} failed, "
            f"{c['duplicate']} duplicates, {c['removed']} removed; {index}; {self.seconds:.1f} s"
            + (f" with {self.embedder}" if self.embedder else ""))
        lines += self.notes
        return "\n".join(lines)


def write_report(home: str | Path, report: IngestReport) -> Path:
    """Save the report as `<home>/last_ingest.json` (atomically) and return the path."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / REPORT_NAME
    tmp = home / f".{REPORT_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(asdict(report), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_report(home: str | Path) -> dict | None:
    """The last run's report as a dict, or None if there is none or it is unreadable."""
    path = Path(home) / REPORT_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None
