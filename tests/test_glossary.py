"""The Chinese->English glossary that lets the keyword leg match English passages."""

from __future__ import annotations

from index.bm25 import Bm25, tokenize
from index.glossary import chinese_names, expand, glossary
from tutor.answer.checker import term_note


def test_expand_names_the_english_terms_longest_match_first():
    assert expand("低秩适配器为什么能省显存？") == "Low-Rank Adapters (LoRA) GPU memory"  # from the handbook outline
    assert expand("什么是位置编码？") == "positional encoding"
    assert expand("How does attention work?") == ""  # English questions are left alone
    assert expand("红烧肉怎么做？") == ""
    # Classic NLP and network vocabulary of the Chinese notes, named as the English blogs name it.
    assert expand("现在还需要去掉停用词吗？") == "stop words"
    assert expand("LSTM 的遗忘门和输入门有什么区别？") == "forget gate input gate"
    assert expand("稀疏自编码器怎么找到可解释的特征？") == "sparse autoencoder SAE features"
    assert expand("KV 缓存为什么能加速？") == expand("KV缓存为什么能加速？") == "KV cache"  # with or without a space


def test_outline_sections_are_in_the_glossary():
    terms = glossary()
    assert terms["参数量化"] == "Parameter Quantization" and terms["扩散模型"]


def test_expanded_query_reaches_an_english_passage_through_bm25():
    docs = ["Low-rank adapters freeze the weights and save GPU memory.", "Diffusion models denoise images."]
    bm25 = Bm25([tokenize(d) for d in docs])
    question = "低秩适配器为什么能省显存？"
    assert not bm25.search(question, 2) or bm25.search(question, 2)[0][1] == 0
    assert bm25.search(f"{question} {expand(question)}", 2)[0][0] == 0


def test_chinese_names_of_an_english_passage_put_the_learners_terms_first():
    text = ("Self-attention lets each token look at the others during training [1]. "
            "The forget gate decides what a latent space model keeps; the FORGET GATE again [2].")
    pairs = chinese_names(text, "遗忘门和隐空间是什么？")
    # The question's terms under the learner's own words (隐空间, not the glossary's first, 潜在空间), then
    # multi-word names before single words, each once and as the text writes it.
    assert pairs[:3] == [("forget gate", "遗忘门"), ("latent space", "隐空间"), ("Self-attention", "自注意力")]
    assert {en for en, _ in pairs[3:]} == {"token", "training"}
    assert chinese_names(text, limit=2) == [("Self-attention", "自注意力"), ("forget gate", "遗忘门")]
    assert chinese_names("Boil the pasta in salted water.") == []
    assert chinese_names("multi-head attentional") == []  # whole words only: not "attention" inside another word


def test_term_note_only_for_an_english_answer_to_a_chinese_question():
    english = "以下是来源中最相关的原文（英文保留原样）：\nThe forget gate drops old memory [1]."
    # a single common word only when the learner asked about it: its sense is the sentence's, not the glossary's
    assert term_note("LSTM 的遗忘门有什么用？", english) == "英文术语对照：forget gate（遗忘门）"
    assert term_note("LSTM 的遗忘门怎么改动记忆？", english) == "英文术语对照：forget gate（遗忘门）、memory（记忆）"
    recall = "Recall that we need to learn a neural network to compute the reverse process [1]."
    assert term_note("反向过程为什么要训练网络？", recall) == "英文术语对照：neural network（神经网络）"
    assert term_note("What does the forget gate do?", english) == ""
    assert term_note("LSTM 的遗忘门有什么用？", "遗忘门决定丢弃哪些旧记忆（forget gate）[1]。") == ""
    assert term_note("红烧肉怎么做？", "Boil the pasta [1].") == ""
