"""One home for language (core/language.py): which script a text is in, read the same way everywhere."""

from __future__ import annotations

from core.language import HAN_CHAR, is_chinese, question_language, zh_or_en


def test_a_question_and_a_text_are_read_by_their_own_rules():
    assert question_language("什么是 RAG？") == "zh" and question_language("What does 注意力 mean?") is None
    assert is_chinese("LoRA 冻结预训练的权重，只训练两个小矩阵。") and not is_chinese("LoRA [1] 冻")
    assert zh_or_en("LoRA 是什么？") == "zh" and zh_or_en("What is LoRA?") == "en"


def test_every_stage_counts_the_same_characters_as_chinese():
    from index.bm25 import tokenize
    from tutor.answer.refusal import is_chinese as refusal_reads

    compatibility = "\uf900\uf901"  # CJK compatibility ideographs: Chinese characters too
    assert HAN_CHAR.search(compatibility) and is_chinese(compatibility)
    assert refusal_reads is is_chinese  # the refusal's check is the one definition, not a copy
    assert tokenize("注意力机制") and all(HAN_CHAR.search(t) for t in tokenize("注意力机制"))
    assert not HAN_CHAR.search("，。？") and not HAN_CHAR.search("カタカナ")  # punctuation and kana are no Han
