"""One quiz turn of the chat: grade the reply to a pending question, or ask a new one on the learner's topic.

The pieces (picking a passage, its target sentence, grading, the texts) are in tutor/teach/quiz.py;
this module runs them against a `Tutor`'s index, retriever and generator.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

from core.errors import ConfigError
from core.language import zh_or_en
from core.types import Hit, Message, Step, Turn
from tutor.answer.refusal import refusal_text
from tutor.answer.replies import reply
from tutor.backends.model_queue import ModelQueue
from tutor.citations.cite import SupportScorer
from tutor.teach import quiz
from tutor.teach.modes import cite


def quiz_turn(tutor, message: str, history: tuple[Message, ...], level: str, part: str | None,
              started: float) -> Iterator[Step]:
    """The steps of `Tutor.stream` in quiz mode (sources, then one token, then the Answer)."""
    scorer = SupportScorer(tutor.judge)
    waiting = quiz.pending(history)
    if waiting is not None and not quiz.is_next_request(message):
        chunk = tutor.index.chunk(waiting.chunk_ids[0])
        if chunk is None:
            raise ConfigError("the passage of that quiz question is no longer in the index; ask for a new question")
        hit = Hit(chunk, 1.0, 1, stage="quiz")
        yield Step("sources", hits=(hit,))
        lang = "zh" if zh_or_en(message) == "zh" else zh_or_en(waiting.content)
        g = quiz.grade(waiting.content, message, hit, scorer)
        yield from reply(message, quiz.feedback_text(g, 1, hit, lang), [cite(1, hit, g.reference)],
                         (hit,), quiz.FEEDBACK, started, model="grader", quiz=quiz.question_body(waiting.content))
        return
    topic = quiz.topic(message, history)
    retrieval = tutor.retrieve(topic, part=part)
    if not tutor.covers(retrieval, topic):
        hits = tuple(retrieval.hits)
        yield Step("sources", hits=hits)
        yield from reply(message, refusal_text(topic, hits, unheard=tutor.unheard_words(topic)), (), hits, quiz.QUIZ, started, model="refusal",
                         refused=True)
        return
    hits = retrieval.hits
    chosen = hits[quiz.pick(hits, quiz.asked_ids(history))]
    hit = Hit(chosen.chunk, chosen.score, 1, stage=chosen.stage)
    yield Step("sources", hits=(hit,))  # the one passage the question comes from
    sentence = quiz.target_sentence(topic, hit, scorer)
    text, model = _question(tutor.generator, topic, hit, sentence, level, tutor.queue)
    yield from reply(message, quiz.question_text(text, 1, hit, zh_or_en(message)),
                     [quiz.question_citation(1, hit, sentence)], (hit,), quiz.QUIZ, started, model=model)


def _question(generator, topic: str, hit: Hit, sentence: str, level: str, queue: ModelQueue) -> tuple[str, str]:
    """A question whose answer is `sentence`: written by the model when it is free at once, else a fill-in-the-blank
    (a quiz question is not worth a wait behind other learners' explanations)."""
    ticket = queue.now() if generator.model_id != "extractive" else None
    if ticket is not None:
        with ticket:
            focus = Hit(dataclasses.replace(hit.chunk, text=sentence), hit.score, 1, stage=hit.stage)
            written = "".join(generator.stream(Turn(topic, (focus,), mode="quiz", level=level))).strip()
        if quiz.looks_like_question(written, sentence):
            return written, generator.model_id
    return quiz.cloze(sentence)[0], "cloze"
