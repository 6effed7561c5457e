"""The tutor: retrieve -> decide whether the sources cover it -> generate -> verify citations.

`Tutor.stream` yields the sources first (so a UI can show them before the
first token), then text deltas, then the verified `Answer`. Everything heavy
(index, embedder, model) is loaded on first use and kept.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

from core.config import Settings
from core.errors import ConfigError, TutorError
from core.language import zh_or_en
from core.types import Answer, Message, Retrieval, Step, Turn
from index.bm25 import tokenize
from index.embed import make_embedder, make_embedders
from index.remember import RememberingEmbedder, sentences_file
from index.rerank import make_reranker
from index.search import Index
from index.store import current_build
from ingest.sources import load_sources
from tutor.answer.author_turn import authored_answer
from tutor.answer.compress import compress
from tutor.answer.evidence_turn import english_terms, evidence_answer
from tutor.answer.refusal import (
    coined_names,
    covers,
    names,
    one_edit,
    rare_words,
    refusal_text,
    sets_the_scene,
    topic_names,
    unanswered_text,
)
from tutor.answer.replies import reply
from tutor.backends.generate import make_generator
from tutor.backends.model_queue import ModelQueue
from tutor.backends.prompt import LEVELS
from tutor.citations.cite import SupportScorer
from tutor.quotes.candidates import FURTHER, PASSAGES, passage_texts
from tutor.quotes.evidence import EvidenceSelector
from tutor.quotes.similarity import Similarity
from tutor.retrieval.named import named_sources, source_names
from tutor.retrieval.retrieve import Retriever
from tutor.retrieval.rewrite import search_query
from tutor.retrieval.translate import QuestionTranslator
from tutor.teach.modes import HINTS, MODES, PATH_HITS, full_answer_heading, hint, ladder, learning_path, unplaced
from tutor.teach.outline import load_outline
from tutor.teach.quiz_turn import quiz_turn

log = logging.getLogger(__name__)
# A rare word one letter from an indexed one is a typo of it ("transfomer"); a shorter stem is too
# often a real word one letter from another ("splat" and "split").
MIN_TYPO_STEM = 6


class Tutor:
    """Answers questions from the indexed sources.

    Args:
        settings: the configuration.
        index, embedders, judge, generator, retriever, queue: optional prebuilt parts (tests,
            evals, a shared UI; the model's queue goes with its generator);
            anything not given is built from settings on first use.
    """

    def __init__(self, settings: Settings, *, index=None, embedders=None, judge=None, generator=None,
                 retriever=None, queue: ModelQueue | None = None) -> None:
        self.settings = settings
        if embedders is not None and not isinstance(embedders, (list, tuple)):
            embedders = [embedders]
        self._index, self._embedders, self._judge = index, embedders, judge
        self._given_embedders = embedders
        self._generator, self._retriever = generator, retriever
        self._translator: QuestionTranslator | None = None
        self._selector: EvidenceSelector | None = None
        self._scorer, self._scorer_seen = None, None  # ranks evidence sentences (`scorer`); its file's time
        self._names: dict | None = None  # source name -> its documents (tutor/retrieval/named.py), per index
        # Shared by every learner of this tutor, and by the tutor that replaces it over a re-ingested index.
        self.queue = queue or ModelQueue(settings.llm_slots, settings.max_waiting)
        self._lock = threading.RLock()  # properties call each other
        self._own_index = False

    @property
    def embedders(self) -> list:
        """The index's embedders, one per dense leg: the configured ones, then any background leg it holds."""
        with self._lock:
            if self._embedders is None:
                fast = self._configured()
                held = self.index.manifest.embedders
                # (remembering: the evidence's ranking reads the question's vector the search made, ~30 ms each)
                slow = {e.model_id: RememberingEmbedder(e) for e in self._background()}
                self._embedders = fast + [slow[m] for m in held[len(fast):]]
            return self._embedders

    def _configured(self) -> list:
        return make_embedders(self.settings.embedder, self.settings.models_dir)

    def _background(self) -> list:
        spec = self.settings.background_embedder
        return make_embedders(spec, self.settings.models_dir) if spec.strip() else []

    @property
    def judge(self):
        """The (multilingual) embedder that gates relevance and checks citations."""
        with self._lock:
            if self._judge is None:
                # (the passages' sentences it judged are kept)
                self._judge = self._remembering(make_embedder(self.settings.judge_embedder, self.settings.models_dir))
                self._judge.load(sentences_file(self.settings.home, self._judge.model_id))
            return self._judge

    @property
    def scorer(self):
        """The embedder that ranks evidence sentences (`evidence_embedder`) once their vectors are kept, else the
        judge: encoding a question's ~150 sentences with EmbeddingGemma while the learner waits takes seconds.
        A running chat takes it up when `tutor leg`, beside it, has kept them."""
        with self._lock:
            name = self.settings.evidence_embedder.strip()
            if not name or name == self.settings.judge_embedder:
                return self.judge
            path = sentences_file(self.settings.home, make_embedder(name, self.settings.models_dir).model_id)
            kept = path.stat().st_mtime if path.exists() else None
            if self._scorer is None or self._scorer is self._judge and kept != self._scorer_seen:
                self._scorer, self._scorer_seen = self._judge_unless_kept(name, path), kept
            return self._scorer

    def _judge_unless_kept(self, name: str, path: Path):
        scorer = self._remembering(make_embedder(name, self.settings.models_dir))
        try:  # (a kept file without its model, e.g. after `make clean-models`: the judge ranks)
            if scorer.load(path) and len(scorer.embed_queries(["?"])):
                return scorer
            log.info("the judge ranks the evidence until `tutor leg` embeds the sentences with %s", name)
        except TutorError as e:
            log.warning("the judge ranks the evidence: %s", e)
        return self.judge

    def _remembering(self, embedder) -> RememberingEmbedder:
        # (shares a leg's model when it is one, and what it remembers)
        found = {e.model_id: e for e in self.embedders}.get(embedder.model_id, embedder)
        return found if isinstance(found, RememberingEmbedder) else RememberingEmbedder(found)

    def keep_sentences(self, progress=None) -> int:
        """Embed the sentences of every passage in the index with the judge, and keep them on disk.

        Run after an ingest (`tutor ingest` does): a question's evidence then finds its passages' sentences
        embedded, instead of encoding them while the learner waits (up to 1 s for six passages). Only new
        sentences are encoded. The evidence embedder's file, once there, is brought up to date too (a
        refresh's new sentences). Returns how many the judge's file holds.

        Args:
            progress: called with the sentences done and their number after each batch.
        """
        held = self.judge.save(sentences_file(self.settings.home, self.judge.model_id), self._texts(),
                               progress=progress)
        name = self.settings.evidence_embedder.strip()
        if name and name != self.settings.judge_embedder and \
                sentences_file(self.settings.home, make_embedder(name, self.settings.models_dir).model_id).exists():
            self.keep_evidence_sentences(progress)
        return held

    def keep_evidence_sentences(self, progress=None) -> int:
        """Embed the sentences of every passage with the `evidence_embedder` and keep them (`tutor leg` does;
        about 3.5 minutes for EmbeddingGemma on 2 cores): from then on it ranks the evidence. Returns how many
        the file holds, 0 when the judge ranks anyway."""
        name = self.settings.evidence_embedder.strip()
        if not name or name == self.settings.judge_embedder:
            return 0
        scorer = self._remembering(make_embedder(name, self.settings.models_dir))
        path = sentences_file(self.settings.home, scorer.model_id)
        scorer.load(path)
        return scorer.save(path, self._texts(), progress=progress)

    def _texts(self) -> list[str]:
        return [t for chunk in self.index.chunks for t in passage_texts(chunk.text)]

    @property
    def index(self):
        with self._lock:
            if self._index is None:
                fast = [e.model_id for e in (self._given_embedders or self._configured())]
                self._index = Index.load(self.settings.index_dir, fast, [e.model_id for e in self._background()])
                self._own_index = True
            return self._index

    def follow_index(self) -> bool:
        """Read the live build if it changed since it was loaded (a refresh, a background leg finished).

        Only for an index this tutor loaded itself; one handed in (tests, evals) stays. Returns whether it changed.
        """
        with self._lock:
            if self._index is None or not self._own_index:
                return False
            try:
                if current_build(self.settings.index_dir) == self._index.build_dir:
                    return False
            except TutorError:
                return False  # a build being swapped: keep answering from the one loaded
            log.info("the index changed: reading %s", current_build(self.settings.index_dir).name)
            self._index = self._retriever = self._selector = self._names = self._scorer = None
            self._embedders = self._given_embedders
            return True

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                self._retriever = Retriever(self.index, self.embedders, candidates=self.settings.candidates,
                                            judge=self.judge, reranker=make_reranker(self.settings),
                                            rerank_candidates=self.settings.rerank_candidates)
                self._retriever.english_weight = self.settings.english_weight
                self._retriever.per_document = self.settings.per_document
                background = [e.model_id for e in self._background()]
                self._retriever.leg_weights = dict.fromkeys(background, self.settings.background_weight_en)
                self._retriever.leg_weights_zh = dict.fromkeys(background, self.settings.background_weight_zh)
            return self._retriever

    @property
    def translator(self) -> QuestionTranslator:
        with self._lock:
            if self._translator is None:
                store = Path(self.settings.home) / "cache" / "translations.sqlite"
                self._translator = QuestionTranslator(self.generator, store)
            return self._translator

    @property
    def selector(self) -> EvidenceSelector:
        with self._lock:
            if self._selector is None or self._selector.similarity.embedder is not self.scorer:
                self._selector = EvidenceSelector(self.judge, self.index.bm25.idf, similarity=Similarity.of(self.scorer))
            return self._selector

    def named(self, question: str) -> frozenset[str]:
        """The documents a question names ("d2l 讲 … 的那一节", "Karpathy's post"), by their address."""
        with self._lock:
            if self._names is None:
                self._names = source_names(self.index.chunks)
            names = self._names
        return named_sources(question, names)

    @property
    def generator(self):
        with self._lock:
            if self._generator is None:
                self._generator = make_generator(self.settings)
            return self._generator

    def warm_up(self) -> None:
        """Load the index, the embedders and the model now, and prime the model's prompt cache.

        For a server that should answer its first question as fast as its later ones
        (`tutor chat` runs this in the background while the page loads).
        """
        for question in ("What is attention?", "什么是注意力？"):  # the Chinese one loads jieba's dictionary (~1 s)
            # (as an answer retrieves: `further` reads the sources' names, ~350 ms the first time)
            retrieval = self.retrieve(question, k=max(self.settings.context_k, PASSAGES), further=FURTHER)
            self.covers(retrieval, question)
            compress(Turn(question, tuple(retrieval.hits)), self.judge, self.settings.passage_tokens)
            self.selector.select(question, tuple(retrieval.hits))
        self.index.mentions("GaLore")  # what a coined name is checked against (~0.2 s the first time)
        self.scorer.embed_documents(["(a sentence no passage holds: the model loads now, not on a new passage)"])
        self.generator.warm_up()

    def retrieve(self, question: str, history: Sequence[Message] = (), k: int | None = None,
                 part: str | None = None, further: int = 0) -> Retrieval:
        """Retrieve passages for a question; a follow-up borrows its subject from the chat (`tutor.retrieval.rewrite`).

        Args:
            part: keep only passages from this handbook part (as in `Tutor.parts()`).
            further: after the k hits, this many more passages of the best hit's document (the evidence reads them).
        """
        self.follow_index()
        query = search_query(question, history, self.settings.query_rewrite)
        where = (lambda c: c.part == part) if part else None
        english = self.translator.english(query, self.queue) if self.settings.translate else ""
        return self.retriever.retrieve(query, k or self.settings.context_k, where, english=english, further=further,
                                       named=self.named(query) if further else frozenset())

    def parts(self) -> list[str]:
        """The handbook parts that have indexed passages, in handbook order."""
        present = {d.part for d in self.index.documents() if d.part}
        order = list(dict.fromkeys(s.part for s in load_sources() if s.part))
        return [p for p in order if p in present] + sorted(present - set(order))

    def covers(self, retrieval: Retrieval, question: str = "") -> bool:
        """Whether the best passages are relevant enough to answer `question` from (see `tutor.answer.refusal.covers`)."""
        if not question:
            return covers(retrieval, [], self.settings)
        return covers(retrieval, self.unknown_terms(question), self.settings, self.unheard_words(question))

    def unknown_terms(self, question: str) -> list[str]:
        """The names in the question that no indexed text contains (see `tutor.answer.refusal.names`)."""
        return [t for t in names(question) if t not in self.index.bm25]

    def unheard_words(self, question: str) -> list[str]:
        """The question's rare words and coined names that no indexed text contains, in any form.

        See `tutor.answer.refusal.rare_words` and `coined_names`; `TUTOR_RARE_WORD_ZIPF=0` turns both off.

        "Unlearning" is absent when no text has a word stemming to "unlearn". Present are: a word
        beginning an indexed one ("sumanth" in a link to "sumanthrh.com"), a source's name
        ("promptingguide" for promptingguide.ai), and a typo of a longer word ("transfomer").
        """
        bm25 = self.index.bm25

        def known(word: str) -> bool:
            stems = tokenize(word)
            return (any(t in bm25 for t in stems) or bm25.begins(word.lower()) or bool(self.named(word))
                    or any(len(t) >= MIN_TYPO_STEM and any(v in bm25 for v in one_edit(t)) for t in stems))

        unheard = [w for w in rare_words(question, self.settings.rare_word_zipf) if not known(w)]
        if self.settings.rare_word_zipf <= 0:
            return unheard
        # A coined name no indexed text writes under any name the question gives it ("GaLore", "DP-SGD",
        # "flow matching (rectified flow)"): made of everyday words, so `rare_words` passes it.
        said = {w.lower() for w in unheard}
        for aliases in coined_names(question):
            if any(w in aliases[0].lower() for w in said):  # "machine unlearning" after "unlearning"
                continue
            if not any(self.index.mentions(a) or self.named(a) for a in aliases):
                unheard.append(aliases[0])
                said.add(aliases[0].lower())
        # A name a Chinese question opens on ("Donut 这种……"), in any shape: the topic, which no source names.
        for name in topic_names(question):
            if name.lower() not in said and not (self.index.mentions(name) or self.named(name)):
                unheard.append(name)
                said.add(name.lower())
        # (a word that only tells of the learner's own setup, "my PyCharm project", is not what is asked about)
        return [w for w in unheard if not sets_the_scene(question, w)]

    def stream(self, question: str, history: Sequence[Message] = (), mode: str = "explain",
               level: str = "beginner", part: str | None = None) -> Iterator[Step]:
        """Answer a question in a tutoring mode, yielding sources, then text deltas, then the Answer.

        Args:
            question: the learner's message (a question, "hint", or a quiz reply).
            history: the chat so far; assistant messages carry their `chunk_ids` and `mode`.
            mode: one of `MODES`: explain, socratic, quiz, path.
            level: one of `LEVELS`: beginner, practitioner.
            part: keep only passages from this handbook part.

        Raises:
            ConfigError: an unknown mode or level, or an empty question.
            IndexMissing, IndexMismatch, ModelMissing, BackendUnavailable: see their messages.
        """
        if mode not in MODES:
            raise ConfigError(f"mode {mode!r} is not one of: {', '.join(MODES)}")
        if level not in LEVELS:
            raise ConfigError(f"level {level!r} is not one of: {', '.join(LEVELS)}")
        question = question.strip()
        if not question:
            raise ConfigError("the question is empty: type a question about generative AI")
        started = time.perf_counter()
        if mode == "quiz":
            yield from quiz_turn(self, question, tuple(history), level, part, started)
            return
        topic, stage = ladder(question, history) if mode == "socratic" else (question, 0)
        lang = zh_or_en(topic)
        evidence_first = self.settings.answer == "evidence"
        retrieval = self.retrieve(topic, history if topic == question else (), part=part,
                                  k=PATH_HITS if mode == "path" else max(self.settings.context_k, PASSAGES)
                                  if evidence_first else None, further=FURTHER if evidence_first and mode != "path" else 0)
        hits = tuple(retrieval.hits)
        yield Step("sources", hits=hits)
        if not self.covers(retrieval, topic):
            yield from reply(question, refusal_text(topic, hits, unheard=self.unheard_words(topic)), (), hits, mode,
                             started, model="refusal",
                                    refused=True)
            return
        if mode == "path":
            titles = {d.url: d.title for d in self.index.documents()}
            made = learning_path(topic, hits, load_outline(), lang, self._term_weights(topic), titles)
            text, citations = made or unplaced(topic, hits, lang)
            yield from reply(question, text, citations, hits, mode, started, model="outline")
            return
        if mode == "socratic" and stage < HINTS - 1:
            key = None
            if evidence_first:  # the hints lead to the sentence that answers, not to the first passage
                selection = self.selector.select(retrieval.query or topic, hits,
                                                 english_terms(retrieval.query or topic, retrieval.english),
                                                 sources=self.named(retrieval.query or topic))
                if not selection.answers:
                    yield from reply(question, unanswered_text(topic, hits), (), hits, mode, started,
                                     model="evidence", refused=True)
                    return
                key = (selection.sentences[0].n, selection.sentences[0].sentence)
            text, citations = hint(topic, stage, hits, SupportScorer(self.judge), lang, key=key)
            yield from reply(question, text, citations, hits, mode, started, model="hints")
            return
        prefix = full_answer_heading(lang) if mode == "socratic" else ""
        if evidence_first:
            yield from evidence_answer(self, question, retrieval, mode, level, started, prefix)
            return
        if stage:  # the hints themselves are not context for the full answer (a small model copies them)
            history = history[:max(i for i, m in enumerate(history) if m.role == "user" and m.content == topic)]
        yield from authored_answer(self, question, Turn(topic, hits, tuple(history), mode="explain", level=level),
                                   mode, started, prefix)

    def _term_weights(self, text: str) -> dict[str, float]:
        return {t: self.index.bm25.idf(t) for t in set(tokenize(text))}

    def ask(self, question: str, history: Sequence[Message] = (), mode: str = "explain",
            level: str = "beginner", part: str | None = None) -> Answer:
        """Answer a question without streaming."""
        answer = None
        for step in self.stream(question, history, mode, level, part):
            if step.kind == "answer":
                answer = step.answer
        assert answer is not None  # stream always ends with an answer step
        return answer

