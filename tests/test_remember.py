"""The judge remembers the passages' sentences it embedded (index/remember.py)."""

from __future__ import annotations

import threading

import numpy as np

from index.remember import RememberingEmbedder
from tests.fake_backends import HashEmbedder


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed_documents(self, texts):
        self.seen += list(texts)
        return super().embed_documents(texts)


def test_a_sentence_seen_before_is_not_encoded_again_and_gets_the_same_vector():
    inner = Counting()
    e = RememberingEmbedder(inner)
    first = e.embed_documents(["LoRA trains adapters.", "Attention weighs values."])
    again = e.embed_documents(["Attention weighs values.", "A new sentence.", "LoRA trains adapters."])
    assert inner.seen == ["LoRA trains adapters.", "Attention weighs values.", "A new sentence."]
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[2], first[0])
    assert np.array_equal(again, HashEmbedder().embed_documents(
        ["Attention weighs values.", "A new sentence.", "LoRA trains adapters."]))
    assert (e.hits, e.misses) == (2, 3)


class Prefixing(Counting):
    """Like E5: a question is encoded with a prefix, so its vector is not the same text's as a passage."""

    def embed_queries(self, texts):
        self.seen += [f"query: {t}" for t in texts]
        return HashEmbedder.embed_documents(self, [f"query: {t}" for t in texts])


def test_a_question_is_remembered_apart_from_the_same_text_as_a_passage():
    inner = Prefixing()
    e = RememberingEmbedder(inner)
    q = e.embed_queries(["what is LoRA?"])
    d = e.embed_documents(["what is LoRA?"])
    assert not np.array_equal(q, d)
    assert np.array_equal(e.embed_queries(["what is LoRA?"]), q)
    assert inner.seen == ["query: what is LoRA?", "what is LoRA?"]


def test_the_least_recently_used_go_first_and_questions_do_not_push_out_sentences():
    inner = Counting()
    e = RememberingEmbedder(inner, size=2, questions=1)
    e.embed_queries(["what is LoRA?", "and QLoRA?"])
    e.embed_documents(["a", "b"])
    e.embed_documents(["a"])  # "a" is now the most recently used
    e.embed_documents(["c"])  # ... so "b" goes
    inner.seen.clear()
    e.embed_documents(["a", "b", "c"])
    assert inner.seen == ["b"]


def test_learners_at_once_get_their_own_vectors():
    e, base = RememberingEmbedder(HashEmbedder(), size=50), HashEmbedder()
    texts = [f"sentence {i}" for i in range(80)]
    wrong: list[int] = []

    def learner(k: int) -> None:
        mine = texts[k * 7 % 40:][:30]
        for _ in range(20):
            if not np.array_equal(e.embed_documents(mine), base.embed_documents(mine)):
                wrong.append(k)

    threads = [threading.Thread(target=learner, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


def test_sentences_kept_on_disk_are_found_by_the_next_process_without_encoding(tmp_path):
    """`save` after an ingest, `load` when a tutor starts: the first question's sentences are already embedded."""
    path = tmp_path / "cache" / "sentences.npz"
    texts = ["LoRA trains adapters.", "Attention weighs values.", "注意力给值加权。"]
    writer = RememberingEmbedder(Counting())
    writer.embed_documents(texts[:1])  # known already: not encoded again
    assert writer.save(path, texts + texts[:1]) == 3 and writer.inner.seen == texts
    inner = Counting()
    reader = RememberingEmbedder(inner)
    assert reader.load(path) == 3
    got = reader.embed_documents([texts[2], "A sentence not kept.", texts[0]])
    assert inner.seen == ["A sentence not kept."]
    assert np.array_equal(got, HashEmbedder().embed_documents([texts[2], "A sentence not kept.", texts[0]]))
    # the next save keeps only the texts it is given: a passage gone from the index leaves the file
    assert reader.save(path, texts[1:]) == 2 and inner.seen == ["A sentence not kept."]
    fresh = RememberingEmbedder(Counting())
    fresh.load(path)
    fresh.embed_documents(texts)
    assert fresh.inner.seen == texts[:1]


def test_a_kept_file_of_another_model_or_damaged_is_passed_over(tmp_path):
    path = tmp_path / "sentences.npz"
    RememberingEmbedder(HashEmbedder()).save(path, ["LoRA trains adapters."])
    e = RememberingEmbedder(_named(Counting(), "another-model"))
    assert e.load(path) == 0
    e.embed_documents(["LoRA trains adapters."])
    assert e.inner.seen == ["LoRA trains adapters."]
    for junk in (b"not an npz file" * 10, b""):
        path.write_bytes(junk)
        e = RememberingEmbedder(Counting())
        assert e.load(path) == 0 and e.load(tmp_path / "missing.npz") == 0
        assert np.array_equal(e.embed_documents(["x"]), HashEmbedder().embed_documents(["x"]))


def _named(embedder, model_id: str):
    embedder.model_id = model_id
    return embedder
