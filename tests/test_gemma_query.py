"""The int8 ONNX question encoder (index/gemma_query.py): used only when checked, and the same rankings."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import REPO_ROOT
from index import gemma_query


def test_an_encoder_is_used_only_with_a_stamp_for_that_very_file(tmp_path):
    path = tmp_path / gemma_query.FILE
    assert gemma_query.ready(tmp_path) is None
    path.write_bytes(b"x" * 10)
    assert gemma_query.ready(tmp_path) is None  # written but never checked (a crash before the stamp)
    (tmp_path / gemma_query._STAMP).write_text("10 cosine-min 0.9970\n")
    assert gemma_query.ready(tmp_path) == path
    path.write_bytes(b"x" * 11)  # replaced by something else: not the file that was checked
    assert gemma_query.ready(tmp_path) is None


def test_without_the_export_tools_questions_stay_on_torch(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name.startswith("onnx"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    assert gemma_query.export(tmp_path) is None
    assert list(tmp_path.iterdir()) == []  # nothing half-made left behind


@pytest.mark.slow
def test_the_int8_encoder_agrees_with_the_torch_model_on_questions_it_was_not_checked_on():
    """Needs `make gemma`, which exports the encoder (the Makefile's `test` target runs it)."""
    from index.embed import GemmaEmbedder, SentenceTransformerEmbedder

    models = REPO_ROOT / "data" / "models"
    embedder = GemmaEmbedder(models)
    assert gemma_query.ready(models / "embeddinggemma-300m"), "make gemma should have exported the question encoder"
    questions = ["Why does the KV cache grow with the length of the context?", "ViT 是怎么把图片切成 token 的？",
                 "what problem does layer normalization solve"]
    fast = embedder.embed_queries(questions)
    slow = SentenceTransformerEmbedder.embed_queries(embedder, questions)  # the torch path the encoder replaces
    assert fast.shape == slow.shape and np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    assert float(np.min(np.sum(fast * slow, axis=1))) >= 0.98
    passages = embedder.embed_documents([
        "The KV cache stores the keys and values of every earlier token, so it grows linearly with the sequence.",
        "ViT splits an image into fixed-size patches and embeds each patch as a token.",
        "Layer normalization rescales each token's activations to zero mean and unit variance, stabilising training.",
    ])
    assert list((fast @ passages.T).argmax(axis=1)) == [0, 1, 2]
