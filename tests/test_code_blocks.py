"""Code and formulas in evidence: what a quote announces comes along, and a question asking for code gets code."""

import pytest

from core.types import Evidence
from tests.fake_backends import HashEmbedder
from tests.fakes import one_hit
from tutor.answer.explain import evidence_block
from tutor.citations.quotable import announced, prose_spans
from tutor.quotes.code_blocks import best_snippet, in_words, snippets
from tutor.quotes.evidence import EvidenceSelector
from tutor.quotes.quote_extent import asks_code, widened

VLLM = ("vLLM can be used for both offline inference and online serving. To use vLLM for offline inference, "
        "you can import vLLM and use the `LLM` class in your Python scripts:\n\n"
        "```python\nfrom vllm import LLM\n\nllm = LLM(model=\"lmsys/vicuna-7b-v1.3\")  # Create an LLM.\n"
        "outputs = llm.generate(prompts)  # Generate texts from the prompts.\n```\n\n"
        "To use vLLM for online serving, you can start an OpenAI API-compatible server.")
RETURN = ("The future reward, also known as return, is a total sum of discounted rewards going forward. "
          "Let us write the return $G_t$ starting from time t as:\n\n"
          "$$ G_t = R_{t+1} + \\gamma R_{t+2} + \\dots = \\sum_{k=0}^{\\infty} \\gamma^k R_{t+k+1} $$\n\n"
          "This corresponds to weighing each reward less the later it comes. The discounting factor penalizes "
          "the rewards in the future.")



def test_a_lead_in_announcing_code_or_a_formula_takes_it_along():
    end = VLLM.index("scripts:") + len("scripts:")
    a, b = announced(VLLM, end)
    assert VLLM[a:b].startswith("```python\nfrom vllm import LLM") and VLLM[a:b].endswith("```")
    end = RETURN.index("as:") + len("as:")
    a, b = announced(RETURN, end)
    # the formula, and the sentence after it that says what it means
    assert RETURN[a:b].startswith("$$ G_t") and RETURN[a:b].endswith("the later it comes.")
    assert "discounting factor" not in RETURN[a:b]


def test_a_question_the_source_answers_with_a_formula_takes_the_formula_along():
    text = ("Given a random variable $z$ and its density $\\pi(z)$, we construct $x = f(z)$ with an invertible $f$. "
            "Now the question is how to infer the unknown density of the new variable, $p(x)$?\n\n"
            "$$ p(x) = \\pi(f^{-1}(x)) \\vert (f^{-1})'(x) \\vert $$\n\nThe next section is about matrices.")
    end = text.index("$p(x)$?") + len("$p(x)$?")
    a, b = announced(text, end)
    assert text[a:b].startswith("$$ p(x) =") and text[a:b].endswith("$$")
    assert announced(text.replace("$p(x)$?", "$p(x)$."), end) is None  # a statement announces nothing
    quote = EvidenceSelector(HashEmbedder(), lambda term: 1.0).select(
        "How do I infer the density of the new variable p(x) from the density of z?", one_hit(text))
    assert quote.answers and quote.sentences[0].block.startswith("$$ p(x) =")


@pytest.mark.parametrize("text", [
    "It is easy to call:\n\n```python\nmodel(x)\n```",  # one line shows no how
    "It is easy to call:\n\n```python\n" + "x = f(x)\n" * 40 + "```",  # a module, not a snippet
    "It is easy to call:\n\n```python\nx = f(x)\ny = g(x)\n",  # cut by the chunk's end
    "It is easy to call:\n\nA paragraph of prose follows.",  # nothing to show
    "It is easy to call.\n\n```python\nx = f(x)\ny = g(x)\n```",  # not announced
])
def test_what_a_quote_announces_is_shown_only_when_it_is_whole_short_code_or_maths(text):
    assert announced(text, text.index(".") + 1 if ":" not in text else text.index(":") + 1) is None
    assert announced(text, len(text)) is None


def test_a_lead_in_announcing_code_is_evidence_and_a_quote_reads_on_to_it():
    lead = VLLM[VLLM.index("To use vLLM for offline"):VLLM.index("scripts:") + len("scripts:")]
    assert lead in [VLLM[a:b].strip() for a, b in prose_spans(VLLM)]
    # without what it announces a lead-in is no evidence
    assert "Use it like this:" not in [VLLM[a:b].strip() for a, b in prose_spans("Use it like this:")]
    assert widened(VLLM, 0, VLLM.index("serving.") + len("serving."), window=700)[1] == VLLM.index("scripts:") + 8


@pytest.mark.parametrize("question, wants", [
    ("How do I run vLLM for offline inference from my own Python script?", True),
    ("How does the Annotated Transformer's code write the residual connection?", True),
    ("代码里的残差连接具体是怎么写的？", True),
    ("我该怎么加载它来生成图片？", True),
    ("How can I change the learning rate of the optimizer by hand during training?", True),
    ("How do I start that server and send it a request?", True),
    ("这个函数该怎么用，输入要准备成什么形状？", True),
    ("How does LoRA cut the cost of fine-tuning a large model?", False),
    ("Why is the dot product in attention divided by the square root of the key dimension?", False),
    ("What is LoRA, and why does it cut the cost of fine-tuning?", False),
    ("变分自编码器里的重参数化技巧是什么？", False),
])
def test_which_questions_ask_for_code(question, wants):
    assert asks_code([question]) is wants


def test_code_reads_in_words():
    assert in_words("class SublayerConnection(nn.Module):\n    self_attn = x") == \
        "class Sublayer Connection nn Module self attn x"


def test_a_code_question_gets_the_snippet_that_shows_it_under_its_lead_in():
    text = ("We apply a residual connection around each of the two sub-layers, followed by layer normalization.\n\n"
            "```python\nclass LayerNorm(nn.Module):\n    def forward(self, x):\n        return self.a * x + self.b\n```\n\n"
            "To make these residual connections work, each sub-layer keeps the model dimension.\n\n"
            "```python\nclass SublayerConnection(nn.Module):\n    \"A residual connection around a sub-layer.\"\n"
            "    def forward(self, x, sublayer):\n        return x + self.dropout(sublayer(self.norm(x)))\n```")
    passages = list(enumerate([h for h in one_hit(text)], start=1))
    assert len(snippets(passages)) == 2
    question = "How does the code write the residual connection around a sub-layer?"
    best = best_snippet([question], passages, HashEmbedder(), lambda term: 1.0)
    assert "class SublayerConnection" in best.code and best.n == 1
    assert text[best.lead[0]:best.lead[1]].startswith("To make these residual connections work")
    # no snippet shares the question's words: none is shown
    assert best_snippet(["Which recipes do pastry chefs prefer for croissants?"], passages, HashEmbedder(),
                        lambda term: 1.0) is None
    got = EvidenceSelector(HashEmbedder(), lambda term: 1.0).select(question, one_hit(text))
    blocks = [e.block for e in got.sentences if e.block]
    assert len(blocks) == 1 and "class SublayerConnection" in blocks[0]
    # a question that does not ask for code gets no code that no quote announces
    got = EvidenceSelector(HashEmbedder(), lambda term: 1.0).select(
        "What is wrapped around each of the two sub-layers?", one_hit(text))
    assert got.sentences and not any(e.block for e in got.sentences)


def test_the_code_or_formula_is_shown_under_its_quote():
    code = "```python\nfrom vllm import LLM\nllm = LLM(model=\"m\")\n```"
    evidence = [Evidence(1, "c1", "https://example.org/page", "Page", "Use the `LLM` class:", 0, block=code),
                Evidence(2, "c2", "https://example.org/other", "Other", "Another sentence is here.", 0)]
    shown = evidence_block(evidence, "en")
    assert shown.split("\n")[1:] == ["- “Use the `LLM` class:” [1] — Page (example.org)", "  ```python",
                                     "  from vllm import LLM", "  llm = LLM(model=\"m\")", "  ```",
                                     "- “Another sentence is here.” [2] — Other (example.org)"]



def test_a_quote_reads_on_into_half_a_sentence_only_with_the_formula_it_runs_into():
    cut = ("Dot-product attention is much faster in practice. It can be implemented with matrix multiplication. "
           "While the two are similar in theoretical complexity,")  # the chunk stops here
    assert widened(cut, 0, cut.index("practice.") + 9) == (0, cut.index("multiplication.") + 15)
    runs_on = ("Another common operation is to multiply batches of matrices by one another. This comes in handy "
               "for minibatches of queries, keys, and values. More specifically, assume that\n\n"
               "$$ Q = [Q_1, \\ldots, Q_n] \\in R^{n \\times a \\times b} $$\n\nThe next paragraph.")
    a, b = widened(runs_on, 0, runs_on.index("another.") + 8)
    assert runs_on[a:b].endswith("assume that")
    start, stop = announced(runs_on, b)
    assert runs_on[start:stop].startswith("$$ Q =")


def test_the_sentence_after_a_formula_is_shown_once_when_another_quote_opens_with_it():
    from tests.fakes import one_hit
    from tutor.quotes.arrange import blocks

    [hit] = one_hit(RETURN)
    lead_end = RETURN.index("as:") + len("as:")
    after = RETURN.index("This corresponds")
    alone = blocks([(1, hit, 0, lead_end, 1.0)])
    assert alone[0].endswith("the later it comes.")  # the formula and what it means
    both = blocks([(1, hit, 0, lead_end, 1.0), (1, hit, after, len(RETURN), 0.9)])
    assert both[0].startswith("$$ G_t") and both[0].endswith("$$") and "This corresponds" not in both[0]
