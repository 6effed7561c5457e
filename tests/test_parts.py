"""Questions in parts (tutor/retrieval/parts.py) and the retriever's search for each part."""

from tutor.retrieval.parts import parts, rendered_parts
from tutor.retrieval.retrieve import Retriever


def test_a_question_in_parts_is_split_where_it_asks_again():
    assert parts("GAN 为什么能学到数据分布？实际中为什么不受欢迎了？") == ["GAN 为什么能学到数据分布？", "实际中为什么不受欢迎了？"]
    assert parts("What is label smoothing and what effect did it have?") == ["What is label smoothing",
                                                                             "what effect did it have?"]
    assert parts("Does it stream, and whether it can skip validation?")[1] == "whether it can skip validation?"
    for one in ("How does LoRA work?", "How do rewards and penalties shape a policy?", "What is X? ",
                "能不能调用计算器、搜索引擎这类外部工具？", "第一、二天学了什么？"):
        assert parts(one) == [one]


def test_a_question_about_each_of_several_names_asks_one_thing_per_name():
    assert parts("学习幻觉时的位置偏差和曝光偏差分别是什么？") == ["学习幻觉时的位置偏差分别是什么？", "学习幻觉时的曝光偏差分别是什么？"]
    assert parts("LSTM 里的输入门、遗忘门、输出门控制什么？") == [
        "LSTM 里的输入门控制什么？", "LSTM 里的遗忘门控制什么？", "LSTM 里的输出门控制什么？"]
    assert parts("RLHF 和 DPO 的区别是什么？") == ["RLHF 的区别是什么？", "DPO 的区别是什么？"]
    assert parts("How do GANs, VAEs and flow-based models differ?") == [
        "How do GANs differ?", "How do VAEs differ?", "How do flow-based models differ?"]
    assert parts("What is the difference between top-k sampling and nucleus sampling?") == [
        "What is the difference between top-k sampling?", "What is the difference between nucleus sampling?"]
    assert parts("推测性解码和 FlashAttention 都能让推理变快，它们的提速原理有什么根本区别？") == [
        "推测性解码 都能让推理变快，它们的提速原理有什么根本区别？", "FlashAttention 都能让推理变快，它们的提速原理有什么根本区别？"]
    for one in ("预训练和微调都很重要，为什么？", "LoRA 和 QLoRA 都是微调方法吗？"):  # what they share, no difference asked
        assert parts(one) == [one]
    # names in one part of a question in parts: the other parts stay as they are
    assert parts("RAG 是谁提出的？参数化记忆和非参数化记忆分别指什么？") == [
        "RAG 是谁提出的？", "参数化记忆分别指什么？", "非参数化记忆分别指什么？"]


PYDANTIC = "https://example.org/pydantic"
PASSAGES = [
    (PYDANTIC, "Pydantic raises a ValidationError when validation of the data fails, listing every error found."),
    (PYDANTIC, "The model_construct method creates a model object directly, skipping validation."),
    ("https://example.org/errors", "Pydantic validation errors are common: fix each error in the data and "
                                   "Pydantic validation then passes."),
    ("https://example.org/queue", "Create the object directly and skip the queue: skip validation steps you do not need."),
]


def test_each_further_part_brings_its_passage_from_a_document_already_found(settings, embedder, monkeypatch):
    from core.types import Chunk, Document
    from index.build import build_index
    from index.search import Index

    docs = [Document(url, url.rsplit("/", 1)[-1], text) for url, text in dict(PASSAGES).items()]
    chunks = [Chunk(url, url, f"part {i}", text, 0, len(text)) for i, (url, text) in enumerate(PASSAGES)]
    build_index(settings.index_dir, docs, chunks, embedder)
    r = Retriever(Index.load(settings.index_dir, embedder.model_id), embedder, candidates=10)
    question = "How does Pydantic report validation errors? Can I skip validation and create the object directly?"
    got = [h.chunk.text for h in r.retrieve(question, 2).hits]
    assert PASSAGES[0][1] in got and PASSAGES[1][1] in got  # each part's answer, both from the one document
    assert PASSAGES[3][1] not in got  # another document that only shares the second part's words stays out
    monkeypatch.setattr("tutor.retrieval.retrieve.parts", lambda q: [q])  # searched as one question, one part is missed
    once = [h.chunk.text for h in r.retrieve(question, 2).hits]
    assert not (PASSAGES[0][1] in once and PASSAGES[1][1] in once)


def test_a_series_of_questions_asks_one_thing_per_clause():
    assert parts("What was the data mixed from (I saw CCNet mentioned), how does the model call a tool at inference "
                 "time, and what can't it do yet?") == [
        "What was the data mixed from (I saw CCNet mentioned)", "how does the model call a tool at inference time",
        "what can't it do yet?"]
    # a scene before the first question word stays with it
    assert parts("Before I try his algorithm, what baseline does he run first, which variant does he favour, and why?") \
        == ["Before I try his algorithm, what baseline does he run first", "which variant does he favour", "why?"]
    assert parts("这个函数该怎么用，输入要准备成什么形状？") == ["这个函数该怎么用", "输入要准备成什么形状？"]
    for one in ("In Lilian Weng's post, what form does the trick take?",  # a clause that does not ask, then one
                "When the model overfits, what should I do?",  # "when" sets a condition
                "我在用 gymnasium 练，Q-learning 更新公式是什么？",
                "别人分享了一个只有几 MB 的 LoRA 权重，我该怎么加载它？"):
        assert parts(one) == [one]


def test_a_part_is_what_it_asks_not_the_scene_set_before_it():
    assert parts("I'm reimplementing the Transformer in Equinox, and it barely trains. Which optimizer settings "
                 "does The Annotated Transformer use, and what does its label smoothing do?") == [
        "Which optimizer settings does The Annotated Transformer use", "what does its label smoothing do?"]
    # the learner's scene, names and all, is not part of what is asked
    assert parts("我在用 PyTorch 和 JAX 做实验。人学打 Pong 的方式和策略梯度差在哪里？Karpathy 怎么看？") == [
        "人学打 Pong 的方式和策略梯度差在哪里？", "Karpathy 怎么看？"]
    # a statement about the topic is what is asked about: it stays
    assert parts("VQ-VAE picks its latent with an argmin, which has no gradient. How does it still learn, and what "
                 "does VQ-VAE-2 add?")[0] == "VQ-VAE picks its latent with an argmin, which has no gradient. How does it still learn"
    # a question in one part keeps its scene: the whole question is what is asked
    scene = "I'm using FrozenLake in my course. How do Q-learning updates work?"
    assert parts(scene) == [scene]


def test_a_rendering_pairs_part_for_part_or_not_at_all():
    question = "马尔可夫链是什么？GRU 用了哪几个门？"
    # the glossary's names after the translation ask nothing: no part
    assert rendered_parts(question, "What is a Markov chain? Which gates does a GRU use? Markov chain GRU gate") == [
        ("What is a Markov chain?", ""), ("Which gates does a GRU use?", "")]
    # split more finely than the question, no English part is paired with a Chinese one it does not render
    assert rendered_parts("马尔可夫链是什么，是谁命名的？GRU 用了哪几个门？",
                          "What is a Markov chain, and who named it? Which gates does a GRU use?") == [("", "")] * 2
    assert rendered_parts(question, "") == [("", "")] * 2
