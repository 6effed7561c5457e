"""The per-document cap on the fused ranking (tutor/retrieval/retrieve.py `diversify`)."""

from core.types import Chunk
from tutor.retrieval.retrieve import diversify


def _chunks(*docs: str) -> list[Chunk]:
    return [Chunk(doc_url=f"https://{d}/", title=d, heading="", text=f"{d} passage {i}", start=i * 10, end=i * 10 + 9)
            for i, d in enumerate(docs)]


def _docs(order, chunks):
    return [chunks[p].doc_url.split("/")[2] for p, _ in order]


def test_other_documents_are_capped_behind_the_rest():
    chunks = _chunks("a", "b", "b", "b", "c", "a")
    fused = [(p, 1.0 / (p + 1)) for p in range(len(chunks))]
    out = diversify(fused, chunks, per_document=2)
    # b's third passage moves behind c's, not out
    assert _docs(out, chunks) == ["a", "b", "b", "c", "a", "b"]
    assert sorted(p for p, _ in out) == list(range(len(chunks)))


def test_the_best_hits_document_keeps_its_passages_in_place():
    chunks = _chunks("a", "a", "b", "a", "a", "c")
    fused = [(p, 1.0 / (p + 1)) for p in range(len(chunks))]
    assert [p for p, _ in diversify(fused, chunks, per_document=2)] == [0, 1, 2, 3, 4, 5]


def test_no_cap_and_empty_rankings():
    chunks = _chunks("b", "b", "b")
    fused = [(0, 0.3), (1, 0.2), (2, 0.1)]
    assert diversify(fused, chunks, per_document=0) == fused
    assert diversify([], chunks, per_document=2) == []
