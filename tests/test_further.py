"""The best document read further: its passages the per-document cap held back come after the top hits
(tutor/retrieval/retrieve.py `further`), and the evidence may quote them (tutor/quotes/evidence.py `read`)."""

from core.types import Chunk, Document, Hit
from tests.fake_backends import HashEmbedder
from tutor.quotes.candidates import FURTHER, PASSAGES, read
from tutor.quotes.evidence import EvidenceSelector
from tutor.retrieval.retrieve import Retriever

GUIDE, OTHER, THIRD = "https://example.org/guide", "https://example.org/other", "https://example.org/third"
PASSAGES_TEXT = [
    (GUIDE, "Fine-tuning a large model on many GPUs needs sharding of the optimizer states."),
    (GUIDE, "Sharding the optimizer states across GPUs is what ZeRO stage one does for fine-tuning."),
    (GUIDE, "ZeRO stage three also shards the parameters across GPUs when fine-tuning a large model."),
    (GUIDE, "Offloading the optimizer states to the CPU lets one GPU fine-tune a larger model."),
    (OTHER, "Fine-tuning a large model with adapters trains few parameters on one GPU."),
    (OTHER, "Adapters for fine-tuning keep the large model frozen on the GPU."),
    (OTHER, "Fine-tuning adapters on GPUs needs little memory for optimizer states."),
    (THIRD, "Sharding a database across machines spreads its load."),
]


def _retriever(settings, embedder) -> Retriever:
    from index.build import build_index
    from index.search import Index

    docs = [Document(url, url.rsplit("/", 1)[-1], url) for url in dict(PASSAGES_TEXT)]
    chunks = [Chunk(url, url, f"part {i}", text, 0, len(text)) for i, (url, text) in enumerate(PASSAGES_TEXT)]
    build_index(settings.index_dir, docs, chunks, embedder)
    r = Retriever(Index.load(settings.index_dir, embedder.model_id), embedder, candidates=10)
    r.per_document = 2
    return r


def test_the_best_documents_held_back_passages_come_after_the_top_hits(settings, embedder):
    r = _retriever(settings, embedder)
    question = "How do ZeRO stages shard optimizer states and parameters when fine-tuning a large model on GPUs?"
    top = r.retrieve(question, 3).hits
    assert len(top) == 3 and sum(h.chunk.doc_url == GUIDE for h in top) == 2  # the cap holds
    got = r.retrieve(question, 3, further=2).hits
    assert [h.chunk.id for h in got[:3]] == [h.chunk.id for h in top]  # the top hits are untouched
    more = got[3:]
    assert top[0].chunk.doc_url == GUIDE and len(more) == 2
    assert all(h.chunk.doc_url == GUIDE for h in more)  # only the best hit's document, none shown twice
    assert len({h.chunk.id for h in got}) == len(got)
    assert [h.rank for h in got] == [1, 2, 3, 4, 5]
    # the relevance gate judges the same hits either way
    assert r.retrieve(question, 3, further=2).relevance == r.retrieve(question, 3).relevance


def _hit(url: str, text: str, rank: int) -> Hit:
    return Hit(Chunk(url, url.rsplit("/", 1)[-1], f"h{rank}", text, 0, len(text)), 1.0 / rank, rank)


FILLER = "Gradient checkpointing trades compute for memory during training of deep networks."


def _hits(seventh_url: str) -> list[Hit]:
    hits = [_hit(GUIDE, "The guide covers training on many GPUs with several libraries.", 1)]
    hits += [_hit(f"https://example.org/d{i}", FILLER.replace("deep", f"deep{i}"), i) for i in range(2, PASSAGES + 1)]
    hits.append(_hit(seventh_url, "ZeRO stage three shards the parameters, gradients and optimizer states across GPUs.",
                     PASSAGES + 1))
    return hits


def test_the_evidence_reads_the_best_documents_further_passages_and_no_other():
    question = "What does ZeRO stage three shard across GPUs?"
    selector = EvidenceSelector(HashEmbedder(), lambda term: 1.0)
    got = selector.select(question, _hits(GUIDE))
    assert got.sentences[0].n == PASSAGES + 1 and "shards the parameters" in got.sentences[0].sentence
    other = selector.select(question, _hits(OTHER))  # another document's passage after the top: not read
    assert all(e.n <= PASSAGES for e in other.sentences)
    assert not any("shards the parameters" in e.sentence for e in other.sentences)


def test_read_keeps_each_passages_number():
    hits = _hits(OTHER) + [_hit(GUIDE, f"More of the guide, part {i}.", PASSAGES + 1 + i) for i in range(1, FURTHER + 2)]
    passages = read(hits)
    assert len(passages) == len(hits) and passages[:PASSAGES] == hits[:PASSAGES]
    assert passages[PASSAGES] is None  # another document's
    assert [p.chunk.doc_url for p in passages[PASSAGES + 1:] if p] == [GUIDE] * FURTHER  # at most FURTHER
    assert passages[-1] is None
    assert read([]) == []


def test_a_further_passage_leads_only_when_clearly_better(monkeypatch):
    question = "What does ZeRO stage three shard across GPUs?"
    hits = _hits(GUIDE)
    hits[1] = _hit("https://example.org/d2", "Stage three shards parameters across GPUs.", 2)  # a little less said
    select = lambda: EvidenceSelector(HashEmbedder(), lambda term: 1.0).select(question, hits).sentences[0].n
    assert select() == 2
    monkeypatch.setattr("tutor.quotes.evidence.FURTHER_HANDICAP", 0.0)
    assert select() == PASSAGES + 1  # without the handicap, the further passage's fuller sentence would lead


def test_a_named_source_in_the_top_hits_is_the_one_read_further(settings, embedder):
    r = _retriever(settings, embedder)
    question = "How do ZeRO stages shard optimizer states and parameters when fine-tuning a large model on GPUs?"
    top = r.retrieve(question, 3).hits
    assert top[0].chunk.doc_url == GUIDE and OTHER in {h.chunk.doc_url for h in top}
    got = r.retrieve(question, 3, further=2, named=frozenset({OTHER})).hits
    assert got[3:] and all(h.chunk.doc_url == OTHER for h in got[3:])
    # a named source none of whose passages is in the top: the best hit's document is read further
    got = r.retrieve(question, 3, further=2, named=frozenset({"https://example.org/unseen"})).hits
    assert got[3:] and all(h.chunk.doc_url == GUIDE for h in got[3:])
    # the evidence reads the same document further: the named one when it is in the top passages
    hits = _hits(OTHER) + [_hit(GUIDE, "More of the guide.", PASSAGES + 2)]
    assert [p.chunk.doc_url for p in read(hits, frozenset({OTHER})) if p][PASSAGES:] == [GUIDE]
    hits[2] = _hit(OTHER, "The other document, in the top passages.", 3)
    assert [p.chunk.doc_url for p in read(hits, frozenset({OTHER})) if p][PASSAGES:] == [OTHER]
