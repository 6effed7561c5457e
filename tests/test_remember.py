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
