"""The background retrieval leg, started beside the chat (the shell's side of index/legs.py)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from core.config import Settings
from core.errors import TutorError
from index.embed import make_embedder, make_embedders
from index.legs import has_leg
from index.remember import sentences_file
from index.store import current_build

log = logging.getLogger(__name__)


def build_background_leg(settings: Settings) -> subprocess.Popen | None:
    """Start `tutor leg` beside the chat, at low priority, when the index lacks the background leg or the
    passages' sentences are not yet kept with the evidence embedder (tutor/quotes/similarity.py).

    The chat answers from the fast legs meanwhile and reads the new build when it is published
    (`Tutor.follow_index`); the status panel shows the progress, or why the leg could not be built.
    """
    spec = settings.background_embedder.strip()
    try:
        if all(has_leg(settings.index_dir, e.model_id) for e in make_embedders(spec, settings.models_dir)
               if spec) and _evidence_kept(settings):
            return None
    except TutorError:
        return None  # no index yet, or a bad name: the chat and its status panel say so
    env = {**os.environ, "TUTOR_HOME": str(settings.home), "TUTOR_EMBEDDER": settings.embedder,
           "TUTOR_BACKGROUND_EMBEDDER": spec, "TUTOR_JUDGE_EMBEDDER": settings.judge_embedder,
           "TUTOR_EVIDENCE_EMBEDDER": settings.evidence_embedder}
    log_path = Path(settings.home) / "logs" / "leg.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "tutor", "leg", "--quiet"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=lambda: os.nice(10))  # the chat's own work comes first
    log.info("building the %s retrieval leg in the background (pid %d, log %s)", spec, process.pid, log_path)
    return process


def _evidence_kept(settings: Settings) -> bool:
    name = settings.evidence_embedder.strip()
    if not name or name == settings.judge_embedder:
        return True
    current_build(settings.index_dir)  # (no index yet: IndexMissing, nothing to keep)
    return sentences_file(settings.home, make_embedder(name, settings.models_dir).model_id).exists()
