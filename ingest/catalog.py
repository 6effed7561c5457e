"""The learner's own sources, saved between runs, and the last status of every source (`tutor sources`).

`tutor ingest --url U --sitemap S --notes D --warc F` adds those sources to
`<home>/user_sources.json`, and every later `tutor ingest` refreshes them
along with the default corpus, until `tutor ingest --remove U` drops one
(its pages then leave the index in that same run). A refresh that forgot
the learner's sources would silently delete them from the index.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from core.config import Settings
from core.errors import SourceError
from ingest.report import read_report
from ingest.sources import load_sources

USER_SOURCES = "user_sources.json"
KINDS = ("url", "sitemap", "notes", "warc")


@dataclass(frozen=True)
class UserSource:
    """One source the learner added: a page URL, a sitemap URL, a notes folder or a WARC file."""

    kind: str
    value: str
    added: str = ""

    @property
    def label(self) -> str:
        """How the ingest report names this source."""
        return self.value if self.kind == "url" else f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class SourceStatus:
    """One line of `tutor sources`."""

    source: str
    kind: str
    title: str
    owner: str  # "curated" | "yours"
    status: str
    reason: str = ""


def user_source(kind: str, value: str) -> UserSource:
    """A UserSource with its value normalised (paths made absolute, so the saved list works from any folder)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    value = value.strip()
    if kind in ("notes", "warc"):
        value = str(Path(value).expanduser().resolve())
    return UserSource(kind, value, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


def load_user_sources(home: str | Path) -> list[UserSource]:
    """The saved user sources ([] if none were added yet).

    Raises:
        SourceError: the file exists but cannot be read.
    """
    path = Path(home) / USER_SOURCES
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [UserSource(**row) for row in data["sources"]]
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError) as e:
        raise SourceError(f"{path} is damaged ({e}); fix or delete it (then add your sources again)") from None


def update_user_sources(home: str | Path, add: list[UserSource], remove: list[str]) -> tuple[list[UserSource], list[str]]:
    """Add and remove saved sources; returns the new list and the removals that matched nothing."""
    sources = load_user_sources(home)
    known = {(s.kind, s.value) for s in sources}
    for source in add:
        if (source.kind, source.value) not in known:
            sources.append(source)
            known.add((source.kind, source.value))
    unmatched = []
    for item in remove:
        keep = [s for s in sources if not _matches(s, item)]
        if len(keep) == len(sources):
            unmatched.append(item)
        sources = keep
    path = Path(home) / USER_SOURCES
    if not add and not remove:
        return sources, unmatched
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{USER_SOURCES}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sources": [asdict(s) for s in sources]}, ensure_ascii=False, indent=1) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
    return sources, unmatched


def source_statuses(settings: Settings) -> list[SourceStatus]:
    """Every curated and user source with its status in the last ingest report."""
    report = read_report(settings.home)
    by_page = {_key(i.source): i for i in report.items} if report else {}
    by_input = {i.source: i for i in report.inputs} if report else {}
    snapshot = settings.snapshot_path()
    used_snapshot = snapshot is not None and f"warc:{snapshot.resolve()}" in by_input
    rows = []
    for s in load_sources():
        item = by_page.get(_key(s.url)) or (by_page.get(_key(s.warc_uri)) if s.warc_uri else None)
        if item:
            status, reason = item.status, item.reason
        elif not report:
            status, reason = "not ingested", "no ingest has run yet"
        elif used_snapshot and not s.warc_uri:
            status, reason = "not captured", "not in the offline snapshot"
        elif not used_snapshot and s.kind in ("video", "paper"):
            status, reason = "not fetched", f"{s.kind}s are not fetched"
        else:
            status, reason = "not in last run", ""
        rows.append(SourceStatus(s.url, s.kind, s.title, "curated", status, reason))
    for u in load_user_sources(settings.home):
        item = by_page.get(_key(u.value)) if u.kind == "url" else by_input.get(u.label)
        status, reason = (item.status, item.reason) if item else ("not ingested", "added after the last run")
        rows.append(SourceStatus(u.value, u.kind, "", "yours", status, reason))
    return rows


def format_statuses(rows: list[SourceStatus]) -> str:
    """The `tutor sources` listing: one line per source, grouped curated/yours, then totals."""
    lines = []
    for owner, heading in (("curated", "curated sources (ingest/sources.jsonl)"), ("yours", "your sources")):
        group = [r for r in rows if r.owner == owner]
        lines.append(f"{heading}: {len(group)}")
        for r in group:
            title = f"  {r.title[:60]}" if r.title and r.title != r.source else ""
            reason = f"  ({r.reason})" if r.reason else ""
            lines.append(f"  {r.status:<15} {r.kind:<12} {r.source}{title}{reason}")
    totals: dict[str, int] = {}
    for r in rows:
        totals[r.status] = totals.get(r.status, 0) + 1
    lines.append("totals: " + ", ".join(f"{n} {status}" for status, n in sorted(totals.items(), key=lambda kv: -kv[1])))
    return "\n".join(lines)


def _matches(source: UserSource, item: str) -> bool:
    item = item.strip()
    if source.value == item or source.label == item:
        return True
    return source.kind in ("notes", "warc") and source.value == str(Path(item).expanduser().resolve())


def _key(url: str) -> str:
    return url.strip().rstrip("/")
