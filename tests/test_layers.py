"""Imports point one way: the layer contracts in pyproject.toml (`[tool.importlinter]`) hold for the code,
and they catch a wrong-way import (checked on a tiny stand-in tree, so the rule itself cannot rot)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_code_keeps_its_layer_contracts():
    done = _lint(ROOT, ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def _tree(tmp_path: Path, wrong: str) -> Path:
    tmp_path.mkdir(parents=True)
    for package in ("core", "index", "ingest", "tutor", "ui", "evals"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "tutor" / "cli.py").write_text("import ui.app\nimport evals.cli\nimport evals.cases\n")
    (tmp_path / "ui" / "app.py").write_text("import tutor\n")
    (tmp_path / "evals" / "cli.py").write_text("import tutor\n")
    (tmp_path / "evals" / "cases.py").write_text("")
    (tmp_path / "index" / "store.py").write_text("import core\n")
    for contract in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]:
        for container in contract.get("containers", []):  # every stage a container's layers name exists
            for layer in contract["layers"]:
                for name in layer.split("|"):
                    stage = tmp_path / container.replace(".", "/") / name.strip()
                    if not stage.with_suffix(".py").exists():
                        stage.mkdir(exist_ok=True)
                        (stage / "__init__.py").touch()
    module, imported = wrong.split(" -> ")
    (tmp_path / module.replace(".", "/")).parent.mkdir(exist_ok=True)
    (tmp_path / module.replace(".", "/")).with_suffix(".py").write_text(f"def later():\n    import {imported}\n")
    return tmp_path


def test_a_wrong_way_import_breaks_the_build(tmp_path):
    # (inside a function, as the hidden ones were)
    for wrong in ("core.settings -> tutor", "index.search -> tutor", "ingest.run -> ui", "tutor.teach.quiz -> evals",
                  "tutor.backends.generate -> tutor.answer", "tutor.retrieval.train_reranker -> tutor.pipeline"):
        tree = _tree(tmp_path / wrong.split(" ")[0], wrong)
        done = _lint(tree, tree)
        assert done.returncode != 0 and "BROKEN" in done.stdout, (wrong, done.stdout[-2000:], done.stderr[-1000:])
    clean = _tree(tmp_path / "clean", "index.search -> core")
    assert _lint(clean, clean).returncode == 0
