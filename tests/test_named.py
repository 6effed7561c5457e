"""A question that names its source is answered from it (tutor/retrieval/named.py)."""

from __future__ import annotations

from core.types import Chunk, Hit
from tests.fake_backends import HashEmbedder
from tutor.quotes.evidence import EvidenceSelector
from tutor.retrieval.named import named_sources, source_names


def chunk(url: str, text: str) -> Chunk:
    return Chunk(url, "t", "h", text, 0, len(text))


D2L = "https://d2l.ai/chapter_attention-mechanisms-and-transformers/transformer.html"
ALAMMAR = "https://jalammar.github.io/illustrated-transformer/"
KARPATHY = "https://karpathy.github.io/2016/05/31/rl/"
LABONNE = "https://huggingface.co/blog/mlabonne/merge-models"
TORCH = "https://pytorch.org/blog/hitchhikers-guide-speculative-decoding/"


def corpus(mentions_pytorch: int = 12) -> list[Chunk]:
    others = [chunk(f"https://example{k}.org/post", f"We train it in PyTorch, as Karpathy shows. {k}")
              for k in range(mentions_pytorch)]
    return [chunk(D2L, "We train the Transformer with 2 layers and 4 heads."),
            chunk(ALAMMAR, "The Transformer uses eight attention heads."),
            chunk(KARPATHY, "The policy network has 200 hidden units."),
            chunk(LABONNE, "SLERP interpolates two models."),
            chunk(TORCH, "Speculators predict several tokens.")] + others


def test_a_source_is_named_by_its_site_or_its_account_on_a_shared_host():
    names = source_names(corpus(mentions_pytorch=2))
    assert named_sources("d2l 讲 Transformer 的那一节用了几个头？", names) == {D2L}
    assert named_sources("In Jalammar's post, how many heads?", names) == {ALAMMAR}
    assert named_sources("Karpathy 那篇打 Pong 的文章里策略网络有多大？", names) == {KARPATHY}
    assert named_sources("How does mlabonne merge models?", names) == {LABONNE}
    assert named_sources("How many heads does the Transformer use?", names) == frozenset()
    # a post straight under a shared host's blog names no account: "moe" is a topic
    assert source_names([chunk("https://huggingface.co/blog/moe", "MoE layers.")]).handles == {}


SUMANTH = "https://sumanthrh.com/post/distributed-and-efficient-finetuning/"
GUIDE = "https://www.promptingguide.ai/techniques/cot"


def test_a_source_is_named_by_the_authors_name_its_handle_is_made_of():
    pages = [chunk(GUIDE.replace("cot", f"t{k}"), "Chain-of-thought prompting adds reasoning steps.") for k in range(12)]
    names = source_names(corpus(mentions_pytorch=2) + pages + [chunk(SUMANTH, "ZeRO shards optimizer states.")])
    assert named_sources("Sumanth 那篇多卡微调指南举了什么例子？", names) == {SUMANTH}
    assert named_sources("Where does Jay Alammar suggest going next?", names) == {ALAMMAR}
    assert named_sources("How does Maxime Labonne merge models?", names) == {LABONNE}
    # a whole word only, and not one the source's own pages use as a word
    assert named_sources("Is alammarian prose a thing?", names) == frozenset()
    assert named_sources("How does chain-of-thought prompting work?", names) == frozenset()
    assert named_sources("What does the promptingguide say about chain-of-thought?", names) == {
        GUIDE.replace("cot", f"t{k}") for k in range(12)}


BOOK = "https://github.com/rasbt/machine-learning-book/tree/main"


def test_a_source_is_named_by_its_title_of_three_words_or_more():
    book = Chunk(BOOK, "Machine Learning with PyTorch and Scikit-Learn Book", "Contents", "17. GANs", 0, 8)
    chaining = Chunk(GUIDE.replace("cot", "chaining"), "Prompt Chaining", "h", "Chain prompts.", 0, 14)
    names = source_names(corpus(mentions_pytorch=12) + [book, chaining])
    assert named_sources("Raschka 那本《Machine Learning with PyTorch and Scikit-Learn》里 GAN 在第几章？", names) == {BOOK}
    assert named_sources("What is prompt chaining?", names) == frozenset()  # a topic, not a title
    # a title is named as written: in lower case it is the topic the page is about
    assert named_sources("What does machine learning with pytorch and scikit-learn need?", names) == frozenset()


def test_a_name_many_other_documents_use_is_a_topic_not_a_source():
    names = source_names(corpus(mentions_pytorch=12))
    assert named_sources("How do I write this in PyTorch?", names) == frozenset()  # 12 others say PyTorch
    assert named_sources("Karpathy's policy network?", names) == frozenset()  # ... and Karpathy
    few = source_names(corpus(mentions_pytorch=2))
    assert named_sources("the PyTorch blog on speculators", few) == {TORCH}


def test_evidence_for_a_question_naming_its_source_comes_from_that_source():
    hits = [Hit(c, 1.0 - k / 10, k + 1) for k, c in enumerate(corpus()[:2][::-1])]  # Alammar first, then d2l
    selector = EvidenceSelector(HashEmbedder(), lambda term: 1.0)
    question = "How many attention heads does the Transformer in d2l use?"
    anyone = selector.select(question, hits)
    named = selector.select(question, hits, sources=frozenset({D2L}))
    assert any("eight" in e.sentence for e in anyone.sentences)
    assert named.sentences and all(e.url == D2L for e in named.sentences)
    assert [e.n for e in named.sentences] == [2]  # numbered as the passages are shown
    # a named source none of whose passages was found leaves the evidence as it was
    assert selector.select(question, hits, sources=frozenset({KARPATHY})) == anyone


def test_a_chinese_source_is_named_by_a_long_part_of_its_title_or_a_quoted_part():
    guide = Chunk("seed:002", "【必收藏】大模型全方位指南:从入门到精通,程序员必备知识手册", "h", "第一阶段：初阶应用。", 0, 9)
    notes = Chunk("seed:003", "14天速成LLM高手!大佬开源学习笔记,GitHub狂揽700星", "h", "旋转位置编码。", 0, 7)
    series = Chunk("seed:004", "带你自学大语言模型系列 —— 前言", "h", "走进大语言模型。", 0, 8)
    chaining = Chunk("https://www.promptingguide.ai/techniques/prompt_chaining", "Prompt Chaining", "h", "Chain.", 0, 6)
    names = source_names(corpus(mentions_pytorch=2) + [guide, notes, series, chaining])
    assert named_sources("那篇大模型全方位指南的第三阶段讲什么？", names) == {"seed:002"}
    assert named_sources("那篇“14天速成LLM”的笔记推荐了哪些项目？", names) == {"seed:003"}
    assert named_sources("“带你自学大语言模型”系列分几部分？", names) == {"seed:004"}
    # a short part is a phrase anyone writes, and an unquoted short part is no name
    assert named_sources("怎么从入门到精通大模型？", names) == frozenset()
    assert named_sources("那个自学大语言模型的系列分几部分？", names) == frozenset()
    # a quoted term of two words is a topic, even when a page's title holds it
    assert named_sources('What is "prompt chaining"?', names) == frozenset()


def test_a_title_is_named_without_its_article_and_narrows_its_authors_documents_to_it():
    post = Chunk("https://jalammar.github.io/illustrated-word2vec/", "The Illustrated Word2vec", "h", "Word2vec.", 0, 9)
    names = source_names(corpus(mentions_pytorch=2) + [post])
    assert named_sources("In Jay Alammar's Illustrated Word2vec, what is SGNS?", names) == {post.doc_url}
    assert named_sources("What does Jay Alammar say about heads?", names) == {ALAMMAR, post.doc_url}  # his posts
    assert named_sources("How is the illustrated word2vec example trained?", names) == frozenset()  # the topic
