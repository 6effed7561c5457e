"""Golden eval cases: load JSONL files and check every line before anything runs.

A case file has one JSON object per line with the fields `id`, `question`,
`lang` ("en" | "zh"), `gold_urls` (documents that answer it), `key_facts`
(short English or Chinese statements a good answer contains), `answerable`
and `tags` ("pair:en-en|zh-en|zh-zh" or "oos", "part:<handbook part>",
"topic:<slug>"), and optionally `history`: the learner's earlier questions in
the same chat, oldest first, for follow-ups ("and how is it trained?"). A bad line stops the run with its file and line number,
because a silently skipped case makes every number that follows wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from core.errors import TutorError

CASES_DIR = Path(__file__).resolve().parent / "cases"
PAIRS = ("en-en", "zh-en", "zh-zh", "oos")
LANGS = ("en", "zh")
_FIELDS = {"id": str, "question": str, "lang": str, "gold_urls": list, "key_facts": list,
           "answerable": bool, "tags": list}
_OPTIONAL = {"history": list}


class CaseError(TutorError):
    """A case file is missing or one of its lines is not a valid case."""


@dataclass(frozen=True)
class Case:
    """One golden question. `where` is "file:line", for messages and reports."""

    id: str
    question: str
    lang: str
    gold_urls: tuple[str, ...]
    key_facts: tuple[str, ...]
    answerable: bool
    tags: tuple[str, ...]
    where: str = ""
    history: tuple[str, ...] = ()

    @property
    def pair(self) -> str:
        """Question→source language pair: "en-en", "zh-en", "zh-zh", or "oos" (out of scope)."""
        for tag in self.tags:
            if tag.startswith("pair:"):
                return tag[len("pair:"):]
        return "oos" if "oos" in self.tags or not self.answerable else "unknown"

    @property
    def part(self) -> str:
        """The handbook part the case is about ("none" when it has no place in the handbook)."""
        return next((t[len("part:"):] for t in self.tags if t.startswith("part:")), "none") or "none"

    def to_dict(self) -> dict:
        out = {"id": self.id, "question": self.question, "lang": self.lang, "gold_urls": list(self.gold_urls),
               "key_facts": list(self.key_facts), "answerable": self.answerable, "tags": list(self.tags)}
        if self.history:
            out["history"] = list(self.history)
        return out


def default_case_files() -> list[Path]:
    """Every `*.jsonl` under `evals/cases/`, sorted."""
    return sorted(CASES_DIR.glob("*.jsonl"))


def parse_case(line: str, where: str) -> Case:
    """Parse and check one JSONL line.

    Args:
        line: the raw line.
        where: "file:line", used in the error message.

    Raises:
        CaseError: the line is not JSON, misses a field, or has a wrong type or value.
    """
    try:
        raw = json.loads(line)
    except ValueError as e:
        raise CaseError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    for name, kind in _FIELDS.items():
        if name not in raw:
            raise CaseError(f"{where}: missing field '{name}' (required: {', '.join(_FIELDS)})")
        if not isinstance(raw[name], kind):
            raise CaseError(f"{where}: field '{name}' must be a {kind.__name__}, got {type(raw[name]).__name__}")
    extra = sorted(set(raw) - set(_FIELDS) - set(_OPTIONAL))
    if extra:
        raise CaseError(f"{where}: unknown field(s) {', '.join(extra)}")
    for name, kind in _OPTIONAL.items():
        if name in raw and not isinstance(raw[name], kind):
            raise CaseError(f"{where}: field '{name}' must be a {kind.__name__}, got {type(raw[name]).__name__}")
    for name in ("gold_urls", "key_facts", "tags", *(n for n in _OPTIONAL if n in raw)):
        if not all(isinstance(x, str) and x.strip() for x in raw[name]):
            raise CaseError(f"{where}: every item of '{name}' must be a non-empty string")
    if not raw["id"].strip() or not raw["question"].strip():
        raise CaseError(f"{where}: 'id' and 'question' must not be empty")
    if raw["lang"] not in LANGS:
        raise CaseError(f"{where}: lang {raw['lang']!r} is not one of {', '.join(LANGS)}")
    if raw["answerable"] and not raw["gold_urls"]:
        raise CaseError(f"{where}: an answerable case needs at least one gold_url")
    if not raw["answerable"] and raw["gold_urls"]:
        raise CaseError(f"{where}: an out-of-scope case (answerable=false) must have no gold_urls")
    case = Case(raw["id"].strip(), raw["question"].strip(), raw["lang"], tuple(raw["gold_urls"]),
                tuple(raw["key_facts"]), raw["answerable"], tuple(raw["tags"]), where,
                tuple(h.strip() for h in raw.get("history", ())))
    if case.pair not in PAIRS:
        raise CaseError(f"{where}: tags need 'pair:en-en', 'pair:zh-en', 'pair:zh-zh' or 'oos'")
    if (case.pair == "oos") == case.answerable:
        raise CaseError(f"{where}: pair {case.pair!r} contradicts answerable={case.answerable}")
    if case.pair != "oos" and case.pair.split("-")[0] != case.lang:
        raise CaseError(f"{where}: pair {case.pair!r} does not match lang {case.lang!r}")
    return case


def load_cases(paths: Iterable[str | Path] | None = None) -> list[Case]:
    """Load and validate case files.

    Args:
        paths: JSONL files; defaults to `default_case_files()`.

    Returns:
        The cases in file order.

    Raises:
        CaseError: a file is missing or empty, a line is invalid, or an id repeats.
    """
    files = [Path(p) for p in paths] if paths else default_case_files()
    if not files:
        raise CaseError(f"no case files found in {CASES_DIR}; pass --cases FILE")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in files:
        if not path.is_file():
            raise CaseError(f"case file {path} does not exist")
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                case = parse_case(line, f"{path}:{number}")
                if case.id in seen:
                    raise CaseError(f"{case.where}: duplicate id {case.id!r} (first at {seen[case.id]})")
                seen[case.id] = case.where
                cases.append(case)
    if not cases:
        raise CaseError(f"no cases in {', '.join(map(str, files))}")
    return cases


def spread(cases: Sequence[Case], limit: int | None) -> list[Case]:
    """Take `limit` cases round-robin over language pairs, so a small run still covers every pair.

    Deterministic: within a pair the file order is kept.
    """
    if not limit or limit >= len(cases):
        return list(cases)
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.pair, []).append(case)
    queues = [list(g) for g in groups.values()]
    picked: list[Case] = []
    while len(picked) < limit:
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    order = {c.id: i for i, c in enumerate(cases)}
    return sorted(picked, key=lambda c: order[c.id])
