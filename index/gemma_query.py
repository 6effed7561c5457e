"""EmbeddingGemma's question encoder as int8 ONNX: the same vectors in under half the time.

A question is embedded on every search, a passage once. On one core (the chat keeps
the other for the model and the web server; a second torch thread under load made a
question 10x slower) EmbeddingGemma in bfloat16 took 65-70 ms per question, more
than the whole retrieval budget. Exported to ONNX and quantized to int8 per output
channel, with the 24 MLP down projections left in fp32 (quantizing them cost the most
accuracy), it takes ~30 ms. Only questions use it: passages stay bfloat16 (int8
passages lost 4-14% of the top-10), and measured on the tune half and the fresh
cases, int8 questions against bfloat16 passages kept hit@5 and MRR@10 to within
0.001 (bench/RESULTS.md).

`export` writes `<model folder>/query-int8.onnx` once (from `make gemma`), checks its
vectors against the torch model's on fixed probe questions, and stamps the file only
if they agree; `QueryEncoder` is used only when that stamp is there.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

FILE = "query-int8.onnx"
_STAMP = "query-int8.checked"
QUERY_PROMPT = "task: search result | query: "  # the model's own retrieval prompt for questions
MAX_TOKENS = 256
MIN_COSINE = 0.98  # every probe question's int8 vector against the torch model's
# Probe questions: not eval cases, just the kinds of text the encoder will see (English, Chinese, mixed, short).
PROBES = (
    "How does LoRA reduce the memory needed to fine-tune a model?",
    "What is attention in a transformer?",
    "Why do diffusion models add noise step by step?",
    "什么是量化？",
    "大模型推理时 KV cache 有什么用？",
    "RLHF 和 DPO 的区别是什么？",
    "beam search",
    "Which datasets were used to pretrain GPT-3, and how many tokens?",
)


def ready(folder: Path) -> Path | None:
    """The checked int8 question encoder in a prepared model folder, or None."""
    path, stamp = Path(folder) / FILE, Path(folder) / _STAMP
    if path.is_file() and stamp.is_file() and stamp.read_text().split()[:1] == [_size(path)]:
        return path
    return None


def export(folder: Path) -> Path | None:
    """Export, quantize and check the question encoder (a no-op when it is there).

    Returns None, with a warning, when the export tools are missing or the check fails:
    questions are then embedded by torch, slower but the same.
    """
    folder = Path(folder)
    if found := ready(folder):
        return found
    try:
        for tool in ("onnx", "onnxscript", "onnxruntime"):  # the exporter, its translator, the quantizer and runtime
            importlib.import_module(tool)
        import torch  # heavy (torch): only when a model runs
        from onnxruntime.quantization import QuantType, quantize_dynamic  # heavy: only when the ONNX encoder runs
        from sentence_transformers import SentenceTransformer  # heavy (torch): only when a model loads
    except ImportError as e:
        log.warning("EmbeddingGemma questions stay on torch (%s); `make gemma` installs onnx and onnxruntime", e)
        return None
    staging = Path(tempfile.mkdtemp(prefix=".query-onnx.", dir=folder))
    try:
        model = SentenceTransformer(str(folder), device="cpu")
        model.max_seq_length = MAX_TOKENS
        fp32 = staging / "fp32.onnx"
        _export(model, fp32, torch)
        # Down projections (input = the MLP's inner width) stay fp32: quantizing them moved vectors the most.
        inner = model[0].auto_model.config.intermediate_size
        root = logging.getLogger()
        level, _ = root.level, root.setLevel(max(root.level, logging.WARNING))  # the quantizer logs every tensor
        try:
            quantize_dynamic(str(fp32), str(staging / FILE), weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_exclude=_matmuls_reading(fp32, inner))
        finally:
            root.setLevel(level)
        reference = model.encode([QUERY_PROMPT + p for p in PROBES], normalize_embeddings=True)
        got = QueryEncoder(folder, path=staging / FILE).encode(PROBES)
        cosines = np.sum(reference * got, axis=1)
        if cosines.min() < MIN_COSINE:
            log.warning("the int8 question encoder drifted (cosine %.3f < %.2f): questions stay on torch",
                        cosines.min(), MIN_COSINE)
            return None
        os.replace(staging / FILE, folder / FILE)
        (folder / _STAMP).write_text(f"{_size(folder / FILE)} cosine-min {cosines.min():.4f}\n")
        log.info("EmbeddingGemma int8 question encoder ready (probe cosine >= %.4f)", cosines.min())
        return folder / FILE
    except Exception as e:  # an exporter failure costs speed, never the leg
        log.warning("could not export the int8 question encoder (%s: %s): questions stay on torch",
                    type(e).__name__, str(e)[:200])
        return None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class QueryEncoder:
    """Embeds questions with the int8 ONNX model, on one thread; the ONNX session opens on first use."""

    def __init__(self, folder: Path, path: Path | None = None) -> None:
        self.folder, self.path = Path(folder), Path(path or Path(folder) / FILE)
        self._session = self._tokenizer = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._session is None:
            import onnxruntime as ort  # heavy: only when the ONNX encoder runs
            from transformers import AutoTokenizer  # heavy (torch): only when a model loads

            options = ort.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
            self._tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
        out = []
        for text in texts:  # one at a time: no padding, and a search embeds one question anyway
            tokens = self._tokenizer([QUERY_PROMPT + text], return_tensors="np", truncation=True, max_length=MAX_TOKENS)
            out.append(self._session.run(None, {"input_ids": tokens["input_ids"].astype(np.int64),
                                                "attention_mask": tokens["attention_mask"].astype(np.int64)})[0][0])
        vectors = np.asarray(out, dtype=np.float32).reshape(len(out), -1)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _export(model, path: Path, torch) -> None:
    class Pipeline(torch.nn.Module):  # token ids in, the normalised sentence embedding out
        def __init__(self, st):
            super().__init__()
            self.st = st

        def forward(self, input_ids, attention_mask):
            return self.st({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]

    sample = model.tokenizer([QUERY_PROMPT + p for p in PROBES[:2]], padding=True, return_tensors="pt")
    batch, seq = torch.export.Dim("batch", max=64), torch.export.Dim("seq", max=MAX_TOKENS)
    # The TorchScript exporter (dynamo=False) fails on Gemma 3's attention masks; the dynamo one works.
    torch.onnx.export(Pipeline(model).eval(), (sample["input_ids"], sample["attention_mask"]), str(path),
                      input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                      dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
                      dynamo=True, external_data=False)


def _matmuls_reading(path: Path, width: int) -> list[str]:
    """Names of the MatMul nodes whose weight takes `width` inputs (the exporter stores weights transposed)."""
    import onnx  # heavy: only when the ONNX encoder is built

    graph = onnx.load(str(path), load_external_data=False).graph
    shapes = {i.name: tuple(i.dims) for i in graph.initializer}
    return [n.name for n in graph.node
            if n.op_type == "MatMul" and any(len(shapes.get(x, ())) == 2 and shapes[x][0] == width for x in n.input)]


def _size(path: Path) -> str:
    return str(path.stat().st_size)
