from urllib.parse import unquote

from core.markers import parse_markers
from core.types import Hit
from tests.conftest import flagged as verify
from tests.conftest import make_chunks
from tutor.citations.cite import SupportScorer, sentence_spans

HITS = [Hit(c, 1.0, i + 1) for i, c in enumerate(make_chunks())]  # 1 lora, 2 attention, 3 diffusion


def test_sentence_spans_english_and_chinese():
    text = "LoRA is cheap [1]. It merges weights! 注意力很重要。扩散模型去噪 [3]"
    sents = [text[a:b] for a, b in sentence_spans(text)]
    assert sents == ["LoRA is cheap [1].", "It merges weights!", "注意力很重要。", "扩散模型去噪 [3]"]


def test_parse_markers():
    assert parse_markers("a [1] b [2, 3] c [4-6] d [2]") == [1, 2, 3, 4, 5, 6]
    assert parse_markers("no markers") == []


def test_verify_keeps_good_marker_and_quotes_verbatim():
    text, cites = verify("LoRA trains small low-rank matrices A and B [1].", HITS, SupportScorer())
    assert text == "LoRA trains small low-rank matrices A and B [1]."
    assert [c.n for c in cites] == [1] and cites[0].supported
    assert cites[0].quote in HITS[0].chunk.text and "low-rank matrices" in cites[0].quote


def test_verify_repoints_wrong_marker_and_drops_out_of_range():
    text, cites = verify("Diffusion sampling starts from pure Gaussian noise [1]. Extra claim [9].", HITS, SupportScorer())
    assert "[3]" in text and "[1]" not in text and "[9]" not in text
    assert cites[0].n == 3 and cites[0].url.endswith("diffusion") and cites[0].quote in HITS[2].chunk.text


def test_verify_flags_unsupported_and_penalises_wrong_numbers():
    text, cites = verify("LoRA cuts trainable parameters by 5 times [1].", HITS, SupportScorer(), threshold=0.8)
    assert cites and not cites[0].supported


def test_verify_adds_marker_to_clearly_supported_uncited_sentence():
    text, cites = verify("Multi-head attention runs several attention functions in parallel.", HITS, SupportScorer())
    assert text.endswith("parallel [2].") and cites[0].n == 2


def test_citations_link_to_the_quote_with_a_text_fragment():
    _, cites = verify("Diffusion sampling starts from pure Gaussian noise [3].", HITS, SupportScorer())
    base, fragment = cites[0].link.split("#:~:text=")
    assert base == "https://example.org/diffusion"
    assert cites[0].quote.startswith(unquote(fragment))


def test_check_takes_out_what_no_passage_supports_and_keeps_the_rest():
    from tutor.citations.cite import check

    text = ("LoRA freezes the pretrained weights and trains two small low-rank matrices [1]. "
            "The Eiffel Tower was finished in 1889 and repainted by volunteers [2]. "
            "Bananas ripen faster in a paper bag with apples nearby, cooks say.\n\n"
            "- Sampling starts from pure Gaussian noise [3].\n- Penguins migrate across the Sahara every winter [3].\n"
            "In short:")
    checked = check(text, HITS, SupportScorer())
    assert checked.text == ("LoRA freezes the pretrained weights and trains two small low-rank matrices [1].\n\n"
                            "- Sampling starts from pure Gaussian noise [3].\nIn short:")
    assert [c.n for c in checked.citations] == [1, 3] and all(c.supported for c in checked.citations)
    assert len(checked.dropped) == 3 and checked.dropped[0].startswith("The Eiffel Tower")
    # "flag" keeps them: the cited one flagged, the uncited one as it was.
    flagged = check(text, HITS, SupportScorer(), drop_unsupported=False)
    assert "Eiffel" in flagged.text and "Bananas" in flagged.text and not flagged.dropped
    assert any(not c.supported for c in flagged.citations)
    assert verify(text, HITS, SupportScorer()) == (flagged.text, flagged.citations)


def test_check_says_a_looped_sentence_once_and_tidies_colon_stops():
    from tutor.citations.cite import _place_markers, check

    loop = "LoRA freezes the pretrained weights and trains small matrices [1]. "
    checked = check(loop * 3 + "Diffusion sampling starts from pure Gaussian noise, as follows: [3].", HITS,
                    SupportScorer())
    assert checked.text == ("LoRA freezes the pretrained weights and trains small matrices [1]. "
                            "Diffusion sampling starts from pure Gaussian noise, as follows [3].")
    assert not checked.dropped  # a repeat is not an unsupported claim
    assert _place_markers("采样从纯高斯噪声开始，具体如下：。", [3]) == "采样从纯高斯噪声开始，具体如下[3]。"
    assert _place_markers("It works like this:", [1]) == "It works like this [1]:"


def test_a_numbered_list_item_is_one_sentence_with_its_number():
    text = "LSTM has three gates [1].\n1. The input gate decides what is written [1].\n2. The forget gate what is kept [2]."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "LSTM has three gates [1].", "1. The input gate decides what is written [1].", "2. The forget gate what is kept [2]."]
    prose = "It ran for 2. Then it stopped."
    assert [prose[a:b] for a, b in sentence_spans(prose)] == ["It ran for 2.", "Then it stopped."]


def test_a_year_in_brackets_a_wrapped_number_and_a_chinese_semicolon_end_no_sentence():
    split = lambda text: [text[a:b] for a, b in sentence_spans(text)]
    assert split("The ToT of Yao et el. (2023) leverages beam search. Next.") == [
        "The ToT of Yao et el. (2023) leverages beam search.", "Next."]
    assert split("the larger English-French dataset consisting of\n36M sentences and a 32000 word-piece vocabulary.\n"
                 "1. an item\n2. another") == [
        "the larger English-French dataset consisting of\n36M sentences and a 32000 word-piece vocabulary.",
        "1. an item", "2. another"]
    assert split("写一本教科书没有太多意义；关键思想才出现一年。下一句。") == ["写一本教科书没有太多意义；关键思想才出现一年。", "下一句。"]


def test_a_hard_wrapped_sentence_is_one_sentence_but_lines_that_start_blocks_are_not():
    text = ("However, prediction of padding tokens\nshould be excluded from loss calculations.\nTo this end, we can\n"
            "## Encoder-Only\nWhen only the encoder is used,\na sequence of tokens is converted.\n- a list item\n- another")
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "However, prediction of padding tokens\nshould be excluded from loss calculations.", "To this end, we can",
        "## Encoder-Only", "When only the encoder is used,\na sequence of tokens is converted.", "- a list item",
        "- another"]
    config = "models:\n  - model: mlabonne/NeuralHermes\nmerge_method: passthrough\ndtype: bfloat16"
    assert len(sentence_spans(config)) == 4
    code = "x = torch.ones(3)\ny = x + 1"
    assert len(sentence_spans(code)) == 2


def test_a_hard_wrapped_sentence_goes_on_after_brackets_and_inline_code():
    # d2l's encoder-decoder page: split at ")" and "(e.g." the decoder's init_state lost what it is for
    text = ("In the following decoder interface,\nwe add an additional `init_state` method\n"
            "to convert the encoder output (`enc_all_outputs`)\ninto the encoded state.\n"
            "To generate a sequence token by token,\nthe decoder may map an input\n"
            "(e.g., the generated token at the previous time step)\nand the encoded state\ninto an output token.\n"
            "## Decoder (interface)\nThe next heading.\n- an item (a)\n- another")
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "In the following decoder interface,\nwe add an additional `init_state` method\n"
        "to convert the encoder output (`enc_all_outputs`)\ninto the encoded state.",
        "To generate a sequence token by token,\nthe decoder may map an input\n"
        "(e.g., the generated token at the previous time step)\nand the encoded state\ninto an output token.",
        "## Decoder (interface)", "The next heading.", "- an item (a)", "- another"]
    assert len(sentence_spans("y = f(x)\nZ = g(y)")) == 2  # code lines stay apart
    # The Annotated Transformer: after "(cite)" the sentence goes on with its math, which holds the settings asked for
    adam = "We used the Adam optimizer (cite)\nwith $\\beta_1=0.9$, $\\beta_2=0.98$ and $\\epsilon=10^{-9}$.  We\nvaried it."
    assert [adam[a:b] for a, b in sentence_spans(adam)][0] == adam[:adam.index(".  We") + 1]


def test_a_list_items_indented_continuation_goes_on_but_indented_code_stays_apart():
    # The Illustrated VQGAN: "* The last term, ..., is called the" was quoted without what it is called
    text = ("* The last term,$$||sg[z_\\mathbf{q}] - E(x) ||_{2}^2$$,  is called the\n    *commitment loss*. It ensures"
            " that the encoder commits to a\n    particular representation of the image.\n"
            "It has zero partial\n    derivatives, thus it is constant.\n"
            "We compute this\n    x = a + b\nAnd then\n    y = f(x)")
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "* The last term,$$||sg[z_\\mathbf{q}] - E(x) ||_{2}^2$$,  is called the\n    *commitment loss*.",
        "It ensures that the encoder commits to a\n    particular representation of the image.",
        "It has zero partial\n    derivatives, thus it is constant.",
        "We compute this", "x = a + b", "And then", "y = f(x)"]
