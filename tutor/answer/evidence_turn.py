"""One evidence-first answer: the sources' sentences at once, then their renderings and the model's explanation.

The stages are tutor/quotes/evidence.py (which sentences), tutor/answer/render_check.py (is a rendering
faithful) and tutor/answer/explain.py (the prompts and the text); this module runs them against a
`Tutor`'s selector, generator and judge, streaming as it goes:

1. the evidence block, as soon as the sentences are picked (no model involved);
2. for a Chinese question on English sources, each sentence's Chinese rendering, checked 1:1;
3. the model's explanation of the evidence, checked like any cited text. What fails a
   check is left out silently: the evidence stands on its own.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from contextlib import nullcontext
from typing import Iterator, Sequence

from core.language import question_language, zh_or_en
from core.markers import parse_markers, strip_markers
from core.types import Answer, Citation, Evidence, Hit, Step
from index.bm25 import tokenize
from index.glossary import expand
from tutor.answer.checker import term_note
from tutor.answer.explain import (
    HEADINGS,
    allowed_text,
    aside_block,
    compose,
    evidence_block,
    evidence_citations,
    evidence_turn,
    merge_citations,
    render_turn,
    rendered_text,
    rendering_label,
    renumber,
    restates,
)
from tutor.answer.refusal import unanswered_text
from tutor.answer.render_check import check_rendering, similarities
from tutor.answer.replies import reply
from tutor.backends.model_queue import QueueFull, busy_text, waiting_text
from tutor.citations.cite import SupportScorer, check, sentence_spans
from tutor.citations.entries import shown
from tutor.quotes.evidence import needs_rendering

log = logging.getLogger(__name__)


def evidence_answer(tutor, question: str, retrieval, mode: str, level: str, started: float,
                    prefix: str = "") -> Iterator[Step]:
    """The token and answer steps of an evidence-first answer (the sources step is the caller's).

    The model's explanation comes only with `settings.explain`, renderings only with `settings.render`.
    """
    hits = tuple(retrieval.hits)
    topic = retrieval.query or question
    selection = tutor.selector.select(topic, hits, english_terms(topic, retrieval.english), sources=tutor.named(topic))
    if not selection.answers:
        yield from reply(question, prefix + unanswered_text(topic, hits), (), hits, mode, started,
                         model="evidence", refused=True)
        return
    lang = zh_or_en(topic)
    evidence = selection.sentences
    generator = tutor.generator
    # without a model, or with renderings off (`Settings.render`), the quotes stand alone
    renders = tutor.settings.render and generator.can_translate and needs_rendering(topic, evidence)
    # The renderings stream in under the answer's quotes: the related quotes of other documents follow them.
    answer = tuple(e for e in evidence if not e.aside)
    yield Step("token", text=prefix + evidence_block(answer if renders else evidence, lang))
    evidence_ms = (time.perf_counter() - started) * 1000
    explanation, more, ttft, busy = "", [], 0.0, ""
    explains = generator.can_translate and tutor.settings.explain
    ticket = None
    if renders or explains:  # the only part of a turn that waits for the model, in line with other learners'
        try:
            ticket = tutor.queue.ticket()
        except QueueFull:
            busy = busy_text(tutor.queue.waiting, lang)
    with ticket or nullcontext():
        for place in ticket.wait() if ticket else ():
            yield Step("status", text=waiting_text(place, lang))
        if ticket and renders:
            rendered = list(evidence)
            for i, e in render(generator, tutor.judge, topic, evidence):
                # Shown as it passes; the final answer puts each rendering under its quote.
                yield Step("token", text=f"\n  - [{e.n}] {rendering_label(e)}{e.rendering}")
                rendered[i] = e
            evidence = tuple(rendered)
        if renders and any(e.aside for e in evidence):
            yield Step("token", text=aside_block(evidence, lang))
        if ticket and explains:
            yield Step("token", text=f"\n\n{HEADINGS[lang][1]}\n")
            turn, numbers = evidence_turn(topic, hits, [e for e in evidence if not e.aside], level)
            parts: list[str] = []
            for delta in generator.stream(turn):
                ttft = ttft or (time.perf_counter() - started) * 1000
                parts.append(delta)
                yield Step("token", text=delta)
            explanation, more = checked_explanation(tutor, turn, "".join(parts), numbers, hits, evidence)
    text = prefix + compose(evidence, explanation, lang) + (f"\n\n{busy}" if busy else "")
    total = (time.perf_counter() - started) * 1000
    # English quotes without renderings for a Chinese question: the glossary's Chinese names of their terms, which
    # cannot be false the way a machine rendering can ("英文术语对照：forget gate（遗忘门）…")
    english = " ".join(e.sentence for e in evidence if not e.aside and not e.rendering and question_language(e.sentence) != "zh")
    notes = tuple(n for n in (term_note(topic, english),) if n and english)
    yield Step("answer", answer=Answer(question, text, tuple(merge_citations(evidence_citations(evidence), more)), hits,
                                       mode=mode, ttft_ms=ttft or total, total_ms=total, model=generator.model_id,
                                       checked="evidence", evidence=tuple(evidence), evidence_ms=evidence_ms,
                                       notes=notes))


MAX_RENDERED = 4  # each rendering costs the model about two seconds on 2 cores


def english_terms(question: str, english: str) -> str:
    """The question's English side for scoring sentences: the model's translation and the glossary's names
    (the 1.5B model renders 投机解码 as "arbitrage decoding"; the glossary knows it is speculative decoding),
    and the English names the Chinese question itself writes that the translation left out.

    Without a translation (the model busy, or cut at its deadline) the glossary's names alone would be a
    question of their own: "SimCLR 是怎么在没有标签的情况下学到图像表示的？" became "image", which every
    sentence about images covers in full, and a SimVLM sentence was quoted ahead of SimCLR's own.
    """
    said = set(re.findall(r"[a-z0-9]+", english.lower()))
    names = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9.+-]*[A-Za-z0-9]|[A-Za-z]", question)
             if question_language(question) == "zh" and not set(re.findall(r"[a-z0-9]+", w.lower())) <= said]
    return " ".join(x for x in (english, " ".join(dict.fromkeys(names)), expand(question)) if x)


def render(generator, judge, question: str, evidence: Sequence[Evidence]) -> Iterator[tuple[int, Evidence]]:
    """Each evidence sentence's rendering in the question's language, as it is made: (index, the evidence
    with its rendering set if it passed the check). Sentences already in that language are skipped."""
    language = question_language(question) or "zh"
    for i, e in enumerate(evidence[:MAX_RENDERED]):
        source = rendered_text(e)
        if e.aside or question_language(source) == language:  # (related reading: a false rendering of it misleads)
            continue
        text = ""
        for delta in generator.stream(render_turn(e)):
            text += delta
            if "\n" in text.strip() or len(text) > 3 * len(source):
                break  # one line is the rendering; more is the model running on
        rendering = text.strip().split("\n", 1)[0].strip()
        if not rendering:
            continue
        verdict = check_rendering(source, rendering, similarities(judge, [source], [rendering])[0], language)
        if not verdict.ok:
            log.info("rendering of [%d] not shown (%s): %r", e.n, verdict.reason, rendering)
            continue
        yield i, dataclasses.replace(e, rendering=rendering)


def checked_explanation(tutor, turn, text: str, numbers: Sequence[int], hits: Sequence[Hit],
                        evidence: Sequence[Evidence]) -> tuple[str, list[Citation]]:
    """The explanation's sentences that the evidence supports, renumbered to the answer's passages."""
    text = tutor.generator.tidy(turn, text)
    settings = tutor.settings
    checked = check(text, list(turn.hits), SupportScorer(tutor.judge), settings.support_threshold,
                    drop_unsupported=True)
    said = [shown(e.sentence, e.columns) for e in evidence]
    allowed = allowed_text(turn.question, evidence)
    # A sentence stays if it adds no claim of its own and does not just say an evidence sentence again.
    kept = [checked.text[a:b] for a, b in sentence_spans(checked.text)
            if restates(strip_markers(checked.text[a:b]), allowed)
            and not any(_copies(checked.text[a:b], s) for s in said)]
    body = " ".join(kept) if question_language(turn.question) != "zh" else "".join(kept)
    if not kept or not parse_markers(body):
        return "", []  # nothing left to add: the evidence alone reads better
    cited = set(parse_markers(body))
    checked = dataclasses.replace(checked, citations=[c for c in checked.citations if c.n in cited])
    citations = []
    for c in checked.citations:
        n = numbers[c.n - 1]
        citations.append(dataclasses.replace(c, n=n, chunk_id=hits[n - 1].chunk.id))
    return renumber(body, numbers), citations


def _copies(explanation: str, sentence: str) -> bool:
    """Whether the explanation says an evidence sentence again, nearly word for word."""
    mine, theirs = set(tokenize(strip_markers(explanation))), set(tokenize(sentence))
    return len(theirs) >= 6 and len(mine & theirs) >= 0.8 * len(theirs) and len(mine - theirs) <= 3
