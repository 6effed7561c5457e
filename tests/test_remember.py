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


def test_questions_are_not_remembered_and_the_oldest_sentences_go_first():
    inner = Counting()
    e = RememberingEmbedder(inner, size=2)
    e.embed_queries(["what is LoRA?"])
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
