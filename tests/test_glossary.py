"""The Chinese->English glossary that lets the keyword leg match English passages."""

from __future__ import annotations

from index.bm25 import Bm25, tokenize
from index.glossary import expand, glossary


def test_expand_names_the_english_terms_longest_match_first():
    assert expand("低秩适配器为什么能省显存？") == "Low-Rank Adapters (LoRA) GPU memory"  # from the handbook outline
    assert expand("什么是位置编码？") == "positional encoding"
    assert expand("How does attention work?") == ""  # English questions are left alone
    assert expand("红烧肉怎么做？") == ""
    # Classic NLP and network vocabulary of the Chinese notes, named as the English blogs name it.
    assert expand("现在还需要去掉停用词吗？") == "stop words"
    assert expand("LSTM 的遗忘门和输入门有什么区别？") == "forget gate input gate"
    assert expand("稀疏自编码器怎么找到可解释的特征？") == "sparse autoencoder SAE features"


def test_outline_sections_are_in_the_glossary():
    terms = glossary()
    assert terms["参数量化"] == "Parameter Quantization" and terms["扩散模型"]


def test_expanded_query_reaches_an_english_passage_through_bm25():
    docs = ["Low-rank adapters freeze the weights and save GPU memory.", "Diffusion models denoise images."]
    bm25 = Bm25([tokenize(d) for d in docs])
    question = "低秩适配器为什么能省显存？"
    assert not bm25.search(question, 2) or bm25.search(question, 2)[0][1] == 0
    assert bm25.search(f"{question} {expand(question)}", 2)[0][0] == 0
