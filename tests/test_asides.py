"""Another document's quote that answers no part of the question is related reading, shown apart and unrendered."""

from __future__ import annotations

from core.types import Answer, Chunk, Evidence, Hit
from tests.fake_backends import HashEmbedder, ScriptedGenerator, TranslatingEmbedder
from tutor.answer.evidence_turn import render
from tutor.answer.explain import ASIDE_HEADINGS, evidence_block
from tutor.learn.cards import from_answer
from tutor.quotes.arrange import MAX_ASIDES, set_apart
from tutor.quotes.evidence import EvidenceSelector, needs_rendering

LSTM, GRU = "https://example.org/lstm", "https://example.org/gru"
DOCS = [
    (LSTM, "LSTM", "Gates", "The forget gate of an LSTM decides whether to keep the memory cell value or flush it. "
                            "The input gate decides how much of the new value is added to the memory cell."),
    (GRU, "GRU", "Update gate", "The update gate of a GRU merges the forget gate and the input gate into one gate "
                                "that decides how much memory to keep."),
]


def hits() -> list[Hit]:
    return [Hit(Chunk(url, title, heading, text, 0, len(text)), 1.0 / n, n)
            for n, (url, title, heading, text) in enumerate(DOCS, start=1)]


def quote(n: int, url: str, sentence: str, start: int = 0, chunk: str = "") -> Evidence:
    return Evidence(n, chunk or f"c{n}", url, url.rsplit("/", 1)[-1], sentence, start)


def test_another_documents_quote_comes_after_the_answer_marked_as_an_aside():
    got = EvidenceSelector(HashEmbedder(), lambda term: 1.0).select("What does the forget gate of an LSTM decide?", hits())
    assert got.answers and got.sentences[0].url == LSTM and not got.sentences[0].aside
    others = [e for e in got.sentences if e.url != LSTM]
    assert others and all(e.aside for e in others)  # the GRU's update gate is not the answer
    assert [e.aside for e in got.sentences] == sorted(e.aside for e in got.sentences)  # the answer first


def test_another_documents_quote_answering_a_part_stays_in_the_answer():
    answer = [quote(1, LSTM, "The forget gate decides what to keep.", chunk="a"),
              quote(2, GRU, "A GRU has an update gate and a reset gate.", start=10, chunk="b"),
              quote(3, "https://example.org/c", "Gates are sigmoid layers.", chunk="c"),
              quote(4, "https://example.org/d", "Gated units train cheaply.", chunk="d"),
              quote(5, "https://example.org/e", "Gates date back to 1997.", chunk="e"),
              quote(1, LSTM, "The output gate decides what goes out.", start=60, chunk="a")]
    shown = set_apart(answer, parts=[("b", 12)])  # the GRU part's pick lies inside quote 2
    assert [(e.n, e.aside) for e in shown] == [(1, False), (2, False), (1, False), (3, True), (4, True)]
    assert len([e for e in shown if e.aside]) == MAX_ASIDES
    assert set_apart(answer, parts=[("b", 200)])[1].n == 1  # a pick outside the quote answers no part of it
    assert set_apart([], parts=[]) == []
    # the part-answering document's other quote is the answer's too, not "another source's"
    more = answer[:2] + [quote(2, GRU, "The reset gate decides how much past state to forget.", start=80, chunk="b")]
    assert [(e.n, e.aside) for e in set_apart(more, parts=[("b", 12)])] == [(1, False), (2, False), (2, False)]


def test_asides_are_shown_under_their_own_heading_after_the_answer():
    shown = set_apart([quote(1, LSTM, "The forget gate decides what to keep."),
                       quote(2, GRU, "A GRU merges two gates.")], parts=[])
    for lang in ("en", "zh"):
        lines = evidence_block(shown, lang).split("\n")
        assert lines.count(ASIDE_HEADINGS[lang]) == 1
        assert lines.index(ASIDE_HEADINGS[lang]) > next(k for k, line in enumerate(lines) if "forget gate" in line)
        assert lines.index(ASIDE_HEADINGS[lang]) < next(k for k, line in enumerate(lines) if "merges" in line)
    assert not any(h in evidence_block(shown[:1], "en") for h in ASIDE_HEADINGS.values())


def test_asides_are_not_rendered_and_alone_ask_for_no_rendering():
    main = quote(1, LSTM, "The forget gate decides what to keep.")
    aside = Evidence(2, "c2", GRU, "GRU", "A GRU merges two gates.", 0, aside=True)
    rendering = "遗忘门决定保留什么。"
    judge = TranslatingEmbedder({rendering: main.sentence})
    generator = ScriptedGenerator(rendering, "GRU 合并了两个门。", can_translate=True)
    rendered = list(render(generator, judge, "遗忘门决定什么？", [aside, main]))
    assert [(i, e.rendering) for i, e in rendered] == [(1, rendering)]
    assert [t.question for t in generator.turns] == [main.sentence]  # the aside never went to the model
    chinese = quote(1, "seed:notes.txt", "遗忘门决定保留什么。")
    assert not needs_rendering("遗忘门决定什么？", [chinese, aside])
    assert needs_rendering("遗忘门决定什么？", [chinese, main])


def test_a_saved_answers_card_holds_the_answer_not_the_related_reading():
    main = quote(1, LSTM, "The forget gate decides what to keep.")
    aside = Evidence(2, "c2", GRU, "GRU", "A GRU merges two gates.", 0, aside=True)
    card = from_answer(Answer("What does the forget gate decide?", "", (), (), evidence=(main, aside)))
    assert card is not None and "forget gate" in card.answer and "GRU" not in card.answer


def test_renderings_stream_in_under_the_answers_quotes_before_the_related_ones():
    from types import SimpleNamespace

    from core.types import Retrieval
    from tutor.answer.evidence_turn import evidence_answer
    from tutor.backends.model_queue import ModelQueue
    from tutor.quotes.evidence import Selection

    main = quote(1, LSTM, "The forget gate decides what to keep.")
    aside = Evidence(2, "c2", GRU, "GRU", "A GRU merges two gates.", 0, aside=True)
    rendering = "遗忘门决定保留什么。"
    selector = SimpleNamespace(select=lambda *a, **k: Selection((main, aside), True, 0.5))
    tutor = SimpleNamespace(selector=selector, named=lambda q: frozenset(), queue=ModelQueue(),
                            generator=ScriptedGenerator(rendering, can_translate=True),
                            judge=TranslatingEmbedder({rendering: main.sentence}),
                            settings=SimpleNamespace(explain=False, render=True))
    steps = list(evidence_answer(tutor, "遗忘门决定什么？", Retrieval(hits(), 0.5, 1.0), "explain", "beginner", 0.0))
    streamed = "".join(s.text for s in steps if s.kind == "token")
    assert streamed.index(rendering) < streamed.index(ASIDE_HEADINGS["zh"]) < streamed.index("A GRU merges")
    final = steps[-1].answer.text
    assert final.index(rendering) < final.index(ASIDE_HEADINGS["zh"]) < final.index("A GRU merges")
    assert final.startswith("**来源原文（附机器参考译文，以英文原文为准）**")
