import pytest

from core.errors import ConfigError
from core.types import Message
from tests.fake_backends import ScriptedGenerator
from tutor.backends.extractive import ExtractiveGenerator
from tutor.pipeline import Tutor
from tutor.answer.refusal import is_chinese


def make(settings, built_index, embedder, script="LoRA freezes the pretrained weights [1]."):
    return Tutor(settings, index=built_index, embedders=embedder, judge=embedder, generator=ScriptedGenerator(script))


def test_stream_yields_sources_then_tokens_then_verified_answer(settings, built_index, embedder):
    steps = list(make(settings, built_index, embedder).stream("What does LoRA freeze?"))
    assert steps[0].kind == "sources" and steps[0].hits[0].chunk.doc_url.endswith("lora")
    assert {s.kind for s in steps[1:-1]} == {"token"} and steps[-1].kind == "answer"
    answer = steps[-1].answer
    assert answer.text == "LoRA freezes the pretrained weights [1]." and not answer.refused
    assert answer.citations[0].url == "https://example.org/lora" and answer.total_ms >= answer.ttft_ms > 0


def test_out_of_scope_question_is_refused_with_nearest_sections(settings, built_index, embedder):
    gen = ScriptedGenerator("should never run")
    tutor = Tutor(settings, index=built_index, embedders=embedder, judge=embedder, generator=gen)
    answer = tutor.ask("Best recipe for banana bread with walnuts?")
    assert answer.refused and not answer.citations and gen.turns == []
    assert "don't cover" in answer.text and "Part" in answer.text
    zh = tutor.ask("今天北京天气怎么样？")
    assert zh.refused and "没有涵盖" in zh.text


def test_follow_up_uses_previous_question(settings, built_index, embedder):
    tutor = make(settings, built_index, embedder)
    history = [Message("user", "How does diffusion sampling work?"), Message("assistant", "It denoises [1].")]
    steps = list(tutor.stream("and where does it start?", history))
    assert steps[0].hits[0].chunk.doc_url.endswith("diffusion")


def test_unknown_mode_and_empty_question(settings, built_index, embedder):
    tutor = make(settings, built_index, embedder)
    with pytest.raises(ConfigError, match="mode"):
        tutor.ask("What is LoRA?", mode="dance")
    with pytest.raises(ConfigError, match="empty"):
        tutor.ask("   ")


def test_extractive_backend_answers_with_verbatim_cited_sentences(settings, built_index, embedder):
    tutor = Tutor(settings, index=built_index, embedders=embedder, judge=embedder, generator=ExtractiveGenerator())
    answer = tutor.ask("How many fewer trainable parameters does LoRA need?")
    assert "10,000" in answer.text and answer.citations[0].n == 1
    assert all(c.quote in built_index.chunk(c.chunk_id).text for c in answer.citations)


def test_is_chinese():
    assert is_chinese("什么是 LoRA？") and not is_chinese("What is LoRA?")


def test_model_saying_sources_do_not_cover_it_counts_as_refusal(settings, built_index, embedder):
    script = "The sources do not cover how LoRA was invented."
    answer = make(settings, built_index, embedder, script).ask("Who invented LoRA and when?")
    assert answer.refused and not answer.citations


def test_sentences_no_source_supports_are_taken_out_and_the_learner_is_told(settings, built_index, embedder):
    script = ("LoRA freezes the pretrained weights [1]. LoRA was invented on the Moon by penguins in 1850 [1]. "
              "It also bakes excellent sourdough bread every morning.")
    answer = make(settings, built_index, embedder, script).ask("What does LoRA freeze?")
    assert answer.text == "LoRA freezes the pretrained weights [1]." and answer.citations[0].supported
    assert answer.notes == ("Took out 2 sentences that no source supports.",)
    kept = make(settings.replace(unsupported="flag"), built_index, embedder, script).ask("What does LoRA freeze?")
    assert "penguins" in kept.text and "sourdough" in kept.text and not kept.notes


def test_an_answer_with_nothing_supported_falls_back_to_the_sources_own_words(settings, built_index, embedder):
    script = "LoRA was invented on the Moon by penguins in 1850 [1]. It bakes sourdough bread every morning [2]."
    answer = make(settings, built_index, embedder, script).ask("What does LoRA freeze?")
    assert "penguins" not in answer.text and "sourdough" not in answer.text and not answer.refused
    assert answer.citations and all(c.supported for c in answer.citations)
    lora = next(c for c in answer.citations if c.url.endswith("lora"))
    assert lora.quote in built_index.chunk(lora.chunk_id).text  # a verbatim span of the stored passage
    assert answer.notes == ("Took out 2 sentences that no source supports; showing the sources' own words instead.",)
    zh = make(settings, built_index, embedder, script).ask("LoRA 冻结了什么？")
    assert zh.notes and zh.notes[0].startswith("删去了 2 句") and "来源原文" in zh.notes[0]


def test_an_answer_that_says_nothing_is_replaced_by_the_sources_own_words(settings, built_index, embedder):
    answer = make(settings, built_index, embedder, "LoRA [1].").ask("What does LoRA freeze?")
    assert "LoRA freezes the pretrained weights" in answer.text and answer.citations
    assert answer.notes == ("The model's answer was too short to check against the sources; "
                            "showing the sources' own words instead.",)


@pytest.mark.parametrize("text,cited,expected", [
    ("The provided sources don't contain information about cooking.", False, True),
    ("资料中没有涉及这个问题。", False, True),
    ("LoRA freezes the weights [1].", True, False),
    ("The sources do not cover it, but LoRA freezes weights [1].", True, False),
])
def test_declined(text, cited, expected):
    from tutor.answer.refusal import declined

    assert declined(text, cited) is expected


def test_question_about_a_rare_word_no_source_contains_is_refused_naming_it(settings, built_index, embedder):
    gen = ScriptedGenerator("should never run")
    loose = settings.replace(min_relevance=0.0, unknown_term_relevance=0.0)  # only the rare word can refuse
    tutor = Tutor(loose, index=built_index, embedders=embedder, judge=embedder, generator=gen)
    assert tutor.unheard_words("How does Gaussian splatting denoise a scene?") == ["splatting"]
    assert tutor.unheard_words("What does GaussianSplatting's splatting do?") == ["GaussianSplatting", "splatting"]
    refused = tutor.ask("How does Gaussian splatting denoise a scene?")
    assert refused.refused and "“splatting”" in refused.text and not gen.turns
    zh = tutor.ask("高斯泼溅（Gaussian splatting）是怎么去噪的？")
    assert zh.refused and "没有出现“splatting”" in zh.text
    # Everyday words the sources lack, a typo of an indexed word, a source's name, acronyms: all answered.
    for question in ("What does LoRA freeze, in a nutshell?", "What does LoRA do to the pretrianed weights?",
                     "Is training LoRA steadier than full fine-tuning?",
                     "What does the example.org LoRA page say it freezes?", "What does the XYZW variant of LoRA freeze?"):
        assert tutor.unheard_words(question) == [], question
    assert not tutor.ask("What does LoRA freeze, in a nutshell?").refused and gen.turns
    off = Tutor(loose.replace(rare_word_zipf=0.0), index=built_index, embedders=embedder, judge=embedder, generator=gen)
    assert off.unheard_words("How does Gaussian splatting denoise a scene?") == []


def test_question_about_a_coined_name_no_source_writes_is_refused_naming_it(settings, built_index, embedder):
    gen = ScriptedGenerator("should never run")
    loose = settings.replace(min_relevance=0.0, unknown_term_relevance=0.0)  # only the unheard name can refuse
    tutor = Tutor(loose, index=built_index, embedders=embedder, judge=embedder, generator=gen)
    # Everyday words, each of them in the sources, in a name the sources never write.
    assert tutor.unheard_words("How does Low-Rank-Attention cut the number of trainable parameters?") == [
        "Low-Rank-Attention"]
    refused = tutor.ask("How does Low-Rank-Attention cut the number of trainable parameters?")
    assert refused.refused and "“Low-Rank-Attention”" in refused.text and not gen.turns
    assert tutor.unheard_words("What is noise matching (gradual denoising), and why use it?") == ["noise matching"]
    # A name the sources write under one of the names the question gives it, or as written: answered.
    for question in ("What is low-rank adaptation (LoRA), and what does it freeze?", "What does Low-Rank training freeze?",
                     "Why does Multi-Head attention run functions in parallel?", "Is LoRA-style fine-tuning slow?",
                     "Does LoRA freeze the weights of Llama-2-13B on my iPhone?",
                     "For my Low-Rank-Attention project: what does LoRA freeze?"):  # (the learner's setup, not the ask)
        assert tutor.unheard_words(question) == [], question
    assert not tutor.ask("For my Low-Rank-Attention project: what does LoRA freeze?").refused
    # A Chinese question's sentence opening on a name: its topic, in whatever shape ("Donut", not coined-looking).
    assert tutor.unheard_words("Donut 这种模型是怎么冻结权重的？") == ["Donut"]  # ("donut" is an everyday word)
    assert tutor.unheard_words("LoRA 是怎么冻结权重的？") == []  # (named by the sources)
    off = Tutor(loose.replace(rare_word_zipf=0.0), index=built_index, embedders=embedder, judge=embedder, generator=gen)
    assert off.unheard_words("How does Low-Rank-Attention cut the number of trainable parameters?") == []


def test_question_about_a_year_or_name_no_source_mentions_is_refused(settings, built_index, embedder):
    gen = ScriptedGenerator("should never run")
    tutor = Tutor(settings, index=built_index, embedders=embedder, judge=embedder, generator=gen)
    unknown = tutor.unknown_terms("Did LoRA-2 ship in 2031 with Zorblax?")
    assert {"2031", "zorblax"} <= set(unknown) and "lora" not in unknown
    assert tutor.ask("What does LoRA freeze in the 2031 release?").refused
    loose = settings.replace(min_relevance=0.0, unknown_term_relevance=0.99)
    strict_unknown = Tutor(loose, index=built_index, embedders=embedder, judge=embedder, generator=gen)
    assert strict_unknown.ask("What does Zorblax LoRA freeze?").refused
    assert not strict_unknown.ask("What does LoRA freeze?").refused and gen.turns
