"""Questions in parts (tutor/parts.py) and the retriever's search for each part."""

from tutor.parts import parts
from tutor.retrieve import Retriever


def test_a_question_in_parts_is_split_where_it_asks_again():
    assert parts("GAN 为什么能学到数据分布？实际中为什么不受欢迎了？") == ["GAN 为什么能学到数据分布？", "实际中为什么不受欢迎了？"]
    assert parts("What is label smoothing and what effect did it have?") == ["What is label smoothing",
                                                                             "what effect did it have?"]
    assert parts("Does it stream, and whether it can skip validation?")[1] == "whether it can skip validation?"
    for one in ("How does LoRA work?", "Compare cats and dogs", "RLHF 和 DPO 的区别是什么？", "What is X? "):
        assert parts(one) == [one]


PYDANTIC = "https://example.org/pydantic"
PASSAGES = [
    (PYDANTIC, "Pydantic raises a ValidationError when validation of the data fails, listing every error found."),
    (PYDANTIC, "The model_construct method creates a model object directly, skipping validation."),
    ("https://example.org/errors", "Pydantic validation errors are common: fix each error in the data and "
                                   "Pydantic validation then passes."),
    ("https://example.org/queue", "Create the object directly and skip the queue: skip validation steps you do not need."),
]


def test_each_further_part_brings_its_passage_from_a_document_already_found(settings, embedder, monkeypatch):
    from index.build import build_index
    from index.search import Index
    from tutor.types import Chunk, Document

    docs = [Document(url, url.rsplit("/", 1)[-1], text) for url, text in dict(PASSAGES).items()]
    chunks = [Chunk(url, url, f"part {i}", text, 0, len(text)) for i, (url, text) in enumerate(PASSAGES)]
    build_index(settings.index_dir, docs, chunks, embedder)
    r = Retriever(Index.load(settings.index_dir, embedder.model_id), embedder, candidates=10)
    question = "How does Pydantic report validation errors? Can I skip validation and create the object directly?"
    got = [h.chunk.text for h in r.retrieve(question, 2).hits]
    assert PASSAGES[0][1] in got and PASSAGES[1][1] in got  # each part's answer, both from the one document
    assert PASSAGES[3][1] not in got  # another document that only shares the second part's words stays out
    monkeypatch.setattr("tutor.retrieve.parts", lambda q: [q])  # searched as one question, one part is missed
    once = [h.chunk.text for h in r.retrieve(question, 2).hits]
    assert not (PASSAGES[0][1] in once and PASSAGES[1][1] in once)
