""""What is X?" questions: finding the sentence that says what X is, and moving its passage up."""

import pytest

from core.types import Document
from tests.conftest import make_chunks
from tutor.retrieval.definition import defining, subject
from tutor.retrieval.retrieve import Retriever


@pytest.mark.parametrize("question, term", [
    ("What is quantization?", "quantization"),
    ("What are diffusion models?", "diffusion models"),
    ("What's an LLM agent?", "LLM agent"),
    ("Define perplexity", "perplexity"),
    ("什么是反向传播？", "反向传播"),
    ("RLHF 是什么？", "RLHF"),
    ("LoRA 是什么意思？", "LoRA"),
    ("少样本提示（few-shot prompting）是怎么回事？", "少样本提示"),
    ("思维链到底是什么概念？", "思维链"),
    ("What does perplexity mean?", "perplexity"),
    ("What is meant by an embedding?", "embedding"),
    ("What does it mean to make an RNN 'deep', given that an RNN is already deep in time?", ""),
    ("这个报错是怎么回事，该怎么修？", ""),
    # not one term to define: a comparison, several terms, a question about something else
    ("What is the difference between LoRA and QLoRA?", ""),
    ("What are GGUF, GPTQ and AWQ?", ""),
    ("How does LoRA work?", ""),
    ("What is label smoothing in the Transformer training setup and what effect did it have?", ""),
    ("先验和后验分别是什么意思？", ""),
])
def test_the_term_a_question_asks_to_define(question, term):
    assert subject(question) == term


@pytest.mark.parametrize("term, text, says", [
    ("quantization", "Quantization is the process of converting the weights to a lower precision.", True),
    ("backpropagation", "Intro. **Backpropagation** is the key algorithm that makes training tractable.", True),
    ("quantization", "- Quantization refers to storing numbers with fewer bits.", True),
    ("diffusion models", "Diffusion models are a class of generative models.", True),
    ("diffusion model", "Diffusion models are a class of generative models.", True),  # plural of the asked term
    ("quantization", "RLHF (Reinforcement Learning from Human Feedback) is a common method.", False),  # another term
    ("quantization", "Quantization is also a useful lens on model size.", False),  # says something of it, not what it is
    ("diffusion models", "Diffusion models are inspired by thermodynamics.", False),
    ("quantization", "Post-training quantization is a family of methods.", False),  # a kind of it, not it
    ("attention", "Attention Is All You Need introduced the Transformer.", False),  # a title
])
def test_a_defining_sentence_opens_with_the_term_and_says_what_it_is(term, text, says):
    assert bool(defining(term).search(text)) is says


def test_chinese_definitions():
    assert defining("反向传播").search("反向传播是一种计算梯度的算法。")
    assert not defining("反向传播").search("反向传播很重要。")


def test_a_passage_that_defines_the_term_moves_up_to_the_top_three(settings, embedder):
    from index.build import build_index
    from index.search import Index

    mentions = [Document(f"https://example.org/m{i}", f"Quantization methods {i}",
                         f"Post-training quantization with GPTQ and AWQ, quantization of weights, quantization "
                         f"tricks number {i}, quantization benchmarks, quantization quantization.") for i in range(6)]
    definition = Document("https://example.org/course", "LLM course",
                          "Many topics are covered here. Quantization is the process of converting the parameters "
                          "of a model to a lower precision.")
    docs = mentions + [definition]
    build_index(settings.index_dir, docs, make_chunks(docs), embedder)
    index = Index.load(settings.index_dir, embedder.model_id)
    retriever = Retriever(index, embedder, candidates=10)
    top = [h.chunk.doc_url for h in retriever.search("What is quantization?", 5)]
    assert "https://example.org/course" in top[:3]
    # ... only for a "what is X" question
    other = [h.chunk.doc_url for h in retriever.search("How fast is quantization with GPTQ?", 5)]
    assert "https://example.org/course" not in other[:3]
