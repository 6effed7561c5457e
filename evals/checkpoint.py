"""Checkpoints of an eval run, so an answers run of hours survives Ctrl-C, a crash or a reboot."""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import ConfigError


class Checkpoint:
    """Scored records appended to `results.partial.jsonl` as they come, read back on resume.

    A line cut short by a kill is ignored (that case runs again); the file is removed once
    the full report is written, so a finished directory holds no partial state.
    """

    NAME = "results.partial.jsonl"

    def __init__(self, out_dir: Path, resume: bool) -> None:
        self.path = out_dir / self.NAME
        self.previous: dict[tuple[str, str, str], dict] = {}
        self.resumed = 0
        if resume and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                    self.previous[(record["config"], record["suite"], record["id"])] = record
                except (ValueError, KeyError, TypeError):
                    continue
        elif resume:
            raise ConfigError(f"nothing to resume in {out_dir}: no {self.NAME} there "
                            "(pass the report directory of an interrupted run)")
        out_dir.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a" if resume else "w", encoding="utf-8")

    def done(self, config: str, suite: str, case_id: str) -> dict | None:
        record = self.previous.get((config, suite, case_id))
        if record is not None:
            self.resumed += 1
        return record

    def add(self, record: dict) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)
