"""Follow-up questions borrow their subject from the chat; new topics are searched as they are."""

import pytest

from core.config import CHOICES
from core.types import Message
from tutor.retrieval.rewrite import STRATEGIES, is_follow_up, search_query, subject


def chat(*questions):
    out = []
    for q in questions:
        out += [Message("user", q), Message("assistant", "An answer about something else entirely [1].")]
    return out


@pytest.mark.parametrize("question", [
    "How is it trained?", "And what about the cost?", "Why do they need an extra loss?", "Any examples?",
    "Why?", "Tell me more", "它是怎么训练的？", "那它的缺点呢？", "还有别的方法吗？", "怎么训练的？", "有什么优点？",
])
def test_follow_ups_are_recognised(question):
    assert is_follow_up(question)


@pytest.mark.parametrize("question", [
    "What is a beta-VAE?", "Why is greedy decoding short-sighted?", "How does PagedAttention share memory?",
    "什么是注意力机制？", "Transformer 里 self-attention 是怎么算的？", "指令微调的数据一般长什么样？",
])
def test_questions_with_their_own_topic_are_not_follow_ups(question):
    assert not is_follow_up(question)


def test_subject_drops_question_words_in_both_languages():
    assert subject("What is QLoRA?") == "QLoRA"
    assert subject("How does the attention mechanism work?") == "attention mechanism"
    assert subject("什么是投机采样？") == "投机采样"
    assert subject("LSTM 是什么？") == "LSTM"


def test_rules_prefix_the_previous_subject_only_to_follow_ups():
    history = chat("What is QLoRA?")
    assert search_query("How does it fit a 65B model on one GPU?", history) == \
        "QLoRA How does it fit a 65B model on one GPU?"
    assert search_query("What is a typographic attack?", history) == "What is a typographic attack?"
    assert search_query("它是怎么训练的？", chat("什么是 RAG？")) == "RAG 它是怎么训练的？"


def test_rules_carry_the_subject_through_a_chain_of_follow_ups():
    history = chat("What is LoRA?", "How is it trained?")
    assert search_query("And what does it cost?", history).startswith("LoRA ")


def test_only_user_messages_are_read_and_no_history_means_no_change():
    assert search_query("How is it trained?", []) == "How is it trained?"
    history = [Message("assistant", "Welcome! Ask about CLIP."), Message("user", "What is CLIP?")]
    assert search_query("How is it trained?", history) == "CLIP How is it trained?"


def test_concat_and_off_strategies():
    history = chat("What is QLoRA?")
    assert search_query("What is a beta-VAE?", history, "concat") == "What is QLoRA? What is a beta-VAE?"
    long = "Why does the Transformer use layer normalization instead of batch normalization?"
    assert search_query(long, history, "concat") == long
    assert search_query("How is it trained?", history, "off") == "How is it trained?"
    with pytest.raises(ValueError, match="query_rewrite"):
        search_query("x", history, "llm-magic")


def test_settings_choices_match_the_strategies():
    assert CHOICES["query_rewrite"] == STRATEGIES


def test_tutor_retrieves_a_follow_up_with_its_subject(settings, built_index, embedder):
    """Through `Tutor.retrieve`, as the chat does: alone, "parallel" points at the attention passage."""
    from tutor.pipeline import Tutor

    tutor = Tutor(settings, index=built_index, embedders=embedder, judge=embedder)
    question = "Can it run in parallel?"
    assert tutor.retrieve(question).hits[0].chunk.doc_url == "https://example.org/attention"
    assert tutor.retrieve(question, chat("What is LoRA?")).hits[0].chunk.doc_url == "https://example.org/lora"
    off = Tutor(settings.replace(query_rewrite="off"), index=built_index, embedders=embedder, judge=embedder)
    assert off.retrieve(question, chat("What is LoRA?")).hits[0].chunk.doc_url == "https://example.org/attention"
