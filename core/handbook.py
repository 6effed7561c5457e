"""The handbook's part and section names: the Chinese translation's headings with their English originals.

`handbook_en.json` maps each Chinese part heading to {"en": English name, "sections": {Chinese: English}}. The
glossary (index/glossary.py) learns term pairs from it and the roadmap (tutor/teach/outline.py) names its stops
with it; both read it here, so the file has one home.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

NAMES_FILE = Path(__file__).resolve().with_name("handbook_en.json")


@lru_cache(maxsize=1)
def part_names() -> dict[str, dict]:
    """Chinese part heading -> {"en": its English name, "sections": {Chinese section: English section}}."""
    return json.loads(NAMES_FILE.read_text(encoding="utf-8"))
