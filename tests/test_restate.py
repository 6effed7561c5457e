"""Restating a fallback's quoted sentences in the learner's language (tutor/answer/restate.py, tutor/answer/checker.py)."""

from core.types import Chunk, Hit, Turn
from tests.conftest import make_chunks
from tests.fake_backends import ScriptedGenerator, TranslatingEmbedder
from tests.test_contracts import TRANSLATION
from tutor.backends.generate import _cite_by_grammar
from tutor.pipeline import Tutor
from tutor.backends.prompt import render_messages
from tutor.answer.restate import renumber, restate_turn, wanted

BAD = "LoRA was invented on the Moon by penguins in 1850 [1]. It bakes sourdough bread every morning [2]."
RESTATED = TRANSLATION[0].rstrip("。") + "[1]。"  # the judge below knows it for its English sentence


def _hit(n: int, text: str) -> Hit:
    return Hit(Chunk(f"https://example.org/{n}", f"T{n}", f"T{n}", text, 0, len(text)), 1.0 / n, n)


def test_restate_turn_makes_one_passage_per_quoted_sentence_and_maps_numbers_back():
    turn = Turn("LoRA 是什么？", (_hit(1, "a"), _hit(2, "b"), _hit(3, "c")), level="practitioner")
    quoted = ("以下是来源中最相关的原文（英文保留原样）：\nLoRA freezes the weights. [1] "
              "Attention looks at every token. [3] Scores are a softmax. [3] Out of range. [7]")
    ask, numbers = restate_turn(turn, quoted)
    assert [h.chunk.text for h in ask.hits] == ["LoRA freezes the weights.", "Attention looks at every token.",
                                                "Scores are a softmax."]  # the lead-in and [7] cite nothing shown
    assert numbers == [1, 3, 3] and [h.rank for h in ask.hits] == [1, 2, 3]
    assert (ask.mode, ask.level, ask.question, ask.history) == ("restate", "practitioner", "LoRA 是什么？", ())
    assert renumber("甲[1]。乙[2]。丙[3][2]。丁[9]。", numbers) == "甲[1]。乙[3]。丙[3]。丁。"


def test_only_questions_in_the_scripts_the_fallback_detects_are_restated():
    assert wanted("LoRA 冻结了什么？") and wanted("LoRAは何を凍結しますか？")
    assert not wanted("What does LoRA freeze?") and not wanted("What does 注意力 mean?")


def test_restate_prompt_asks_for_one_cited_sentence_per_source_under_the_citation_grammar():
    ask = Turn("LoRA 冻结了什么？", (_hit(1, "LoRA freezes the weights."), _hit(2, "It trains A and B.")),
               mode="restate")
    user = render_messages(ask)[-1].content
    assert "one sentence per source" in user and "[1] to [2]" in user and "用中文回答" in user
    assert "每句话不超过40个字" not in user  # a translation is as long as its sentence
    assert "num ::= [1-2]" in _cite_by_grammar(ask)["extra_body"]["grammar"]


def _tutor(settings, built_index, embedder, *scripts, restate=True):
    generator = ScriptedGenerator(*scripts)
    judge = TranslatingEmbedder(dict([TRANSLATION]))
    tutor = Tutor(settings.replace(restate=restate), index=built_index, embedders=embedder, judge=judge,
                  generator=generator)
    return tutor, generator


def test_a_chinese_fallback_is_restated_in_chinese_and_checked(settings, built_index, embedder):
    tutor, generator = _tutor(settings, built_index, embedder, BAD, RESTATED)
    answer = tutor.ask("LoRA 冻结了什么？")
    assert [t.mode for t in generator.turns] == ["explain", "restate"]
    stored = [c.text for c in make_chunks()]
    assert all(any(h.chunk.text in text for text in stored) for h in generator.turns[1].hits)  # quoted sentences
    assert answer.text.startswith("以下是来源中最相关内容的中文转述（英文原文见出处）：\n"
                                  "LoRA 冻结预训练的权重，只训练两个小的低秩矩阵 A 和 B [1]。")
    assert "英文保留原样" not in answer.text
    lora = next(c for c in answer.citations if c.url.endswith("lora"))
    assert lora.supported and lora.quote in built_index.chunk(lora.chunk_id).text  # the English words, verbatim
    assert answer.notes == ("删去了 2 句来源不支持的内容，改为用中文转述来源原文（引文见出处）。",)
    assert answer.checked == "restated"


def test_a_restatement_that_fails_the_check_leaves_the_sources_english_words(settings, built_index, embedder):
    tutor, generator = _tutor(settings, built_index, embedder, BAD, "企鹅在月球上烤面包，味道很好[1]。")
    answer = tutor.ask("LoRA 冻结了什么？")
    assert len(generator.turns) == 2 and "企鹅" not in answer.text
    assert "英文保留原样" in answer.text and "LoRA freezes the pretrained weights" in answer.text
    assert answer.notes[0] == "删去了 2 句来源不支持的内容，改为直接引用来源原文。" and answer.checked == "quoted"
    # The English sentences come with the Chinese names of their terms (single common words only when asked about:
    # "weights" is not, here)
    assert answer.notes[1] == "英文术语对照：low-rank（低秩）" and len(answer.notes) == 2


def test_no_restating_when_it_is_off_or_the_question_is_english(settings, built_index, embedder):
    for restate, question in ((False, "LoRA 冻结了什么？"), (True, "What does LoRA freeze?")):
        tutor, generator = _tutor(settings, built_index, embedder, BAD, RESTATED, restate=restate)
        answer = tutor.ask(question)
        assert len(generator.turns) == 1 and "LoRA freezes the pretrained weights" in answer.text
        assert any(n.startswith("英文术语对照") for n in answer.notes) == (question != "What does LoRA freeze?")


def test_the_fallback_picks_sentences_for_a_chinese_question_by_the_english_names_of_its_terms():
    from tutor.backends.extractive import ExtractiveGenerator

    chunks = make_chunks()
    formula = _hit(3, r"The loss is \frac{1}{N} \sum_i (x_i - \hat{x}_i)^2 over the whole diffusion model batch.")
    turn = Turn("扩散模型是怎么采样的？", (Hit(chunks[0], 1.0, 1), Hit(chunks[2], 0.5, 2), formula))
    text = "".join(ExtractiveGenerator(max_sentences=2).stream(turn))
    assert "reverse a gradual noising process. [2]" in text and "Gaussian noise" in text  # not LoRA's, ranked first
    assert "frac" not in text and "LoRA" not in text


def test_an_answer_the_check_passes_is_kept_as_written(settings, built_index, embedder):
    stored = next(c.text for c in make_chunks() if "LoRA freezes" in c.text)
    sentence = stored[stored.index("LoRA freezes"):].split(".")[0]
    tutor, generator = _tutor(settings, built_index, embedder, sentence + " [1].")
    answer = tutor.ask("What does LoRA freeze?")
    assert answer.checked == "kept" and answer.text.startswith(sentence) and len(generator.turns) == 1


def test_the_fallback_quotes_whole_prose_sentences_not_fragments_code_or_captions():
    from tutor.backends.extractive import ExtractiveGenerator

    text = ("the best Q values, but which action leads to this maximal Q does not matter in Q-learning. "
            "l = super(Seq2Seq, self).loss(Y_hat, Y, averaged=False) computes the Q-learning loss. "
            "Q-learning is off-policy: it updates towards the best action, not the one it took. "
            "SARSA is on-policy and learns the value of the actions its own policy takes. "
            "(Image source: Replotted based on Figure 6.5 in Sutton & Barto, Q-learning and SARSA.)")
    turn = Turn("Why is Q-learning off-policy and SARSA on-policy?", (_hit(1, text),))
    quoted = "".join(ExtractiveGenerator().stream(turn))
    assert quoted == ("Q-learning is off-policy: it updates towards the best action, not the one it took. [1] "
                      "SARSA is on-policy and learns the value of the actions its own policy takes. [1]")
    # A figure's caption, a paragraph of its own before its credit, and a hard-wrapped sentence's second line.
    caption = ("SARSA is on-policy and learns the value of the actions its own policy takes.\n\n"
               "The backup diagrams for Q-learning and SARSA on the cliff-walking task. (Image source: Sutton.)\n\n"
               "Q-learning is off-policy and updates towards\nthe best action, not the one it took.")
    quoted = "".join(ExtractiveGenerator().stream(Turn("How do Q-learning and SARSA differ?", (_hit(1, caption),))))
    assert "backup diagrams" not in quoted
    assert "Q-learning is off-policy and updates towards the best action, not the one it took. [1]" in quoted
    # A lower-case start that is a name, not a cut, is kept.
    named = _hit(1, "tf-idf stands for term frequency-inverse document frequency in retrieval.")
    assert "tf-idf stands for" in "".join(ExtractiveGenerator().stream(Turn("What is tf-idf?", (named,))))
