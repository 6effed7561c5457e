"""Training pairs for the reranker, mined from the indexed corpus itself (no labels, no eval questions).

- a query is a chunk's heading (often as a templated question), its document's
  title, or one of its prose sentences;
- the positive is that chunk, with the query sentence (or the heading/title)
  taken OUT of it, so the model must match meaning, not copy a string;
- the hard negatives are the top BM25 + dense hits for the query from OTHER
  documents in the query's language (fused by reciprocal rank, as the retriever does).

Positive and negatives are rendered alike for each kind of query, so that no
formatting detail (a missing header field, a heading line) gives the positive away.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from core.language import HAN_CHAR, is_chinese
from core.types import Chunk
from index.rerank import body as _body
from index.rerank import passage_text
from tutor.retrieval.retrieve import _reads_language, fuse

_SENTENCE_EN = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_SENTENCE_ZH = re.compile(r"(?<=[。！？])")
_CODE = re.compile(r"[=_{}<>\\|`$]|https?:|\(\)|\w\.\w+\(")
_MARKUP = re.compile(r"[\[\]*#`]+")
# Headings that name no topic: as queries they would teach nothing.
_GENERIC = {"references", "reference", "bibliography", "citation", "citations", "notes", "summary", "conclusion",
            "conclusions", "introduction", "overview", "appendix", "acknowledgements", "acknowledgments",
            "further reading", "table of contents", "contents", "exercises", "discussions", "resources", "background",
            "参考文献", "总结", "简介", "目录", "引言"}
_TEMPLATES = {"en": ("{}", "What is {}?", "Explain {}.", "How does {} work?"),
              "zh": ("{}", "{}是什么？", "介绍一下{}", "{}是怎么工作的？")}


@dataclass(frozen=True)
class Example:
    """One training group: a query, its positive passage and hard negatives.

    Positive and negatives are rendered the same way for the query's kind (same
    header fields, a sentence taken out of each for sentence queries), so the
    only thing that tells the positive apart is its content.
    """

    query: str
    kind: str  # "heading", "title" or "sentence"
    positive: int  # chunk positions
    positive_text: str
    negatives: tuple[int, ...]
    negative_texts: tuple[str, ...]


def _lang(text: str) -> str:
    return "zh" if is_chinese(text) else "en"


def _prose(text: str) -> bool:
    """A sentence a learner could ask about: words, not code, links or reference lists."""
    if _CODE.search(text):
        return False
    if _lang(text) == "zh":
        return 12 <= len(text) <= 90
    words = text.split()
    letters = sum(ch.isalpha() for ch in text)
    return 6 <= len(words) <= 35 and letters >= 0.75 * len(text.replace(" ", ""))


def _readable(body: str) -> bool:
    """A passage of prose (not a code listing or a reference list): worth a query."""
    text = body.replace(" ", "")
    if not text:
        return False
    if _lang(body) == "zh":
        return len(HAN_CHAR.findall(text)) >= 0.4 * len(text)
    return sum(ch.isalpha() for ch in text) >= 0.75 * len(text) and len(_CODE.findall(body)) <= len(body) / 200


def _sentences(body: str) -> list[str]:
    splitter = _SENTENCE_ZH if _lang(body) == "zh" else _SENTENCE_EN
    return [s.strip() for s in splitter.split(body) if _prose(s.strip())]


def render(chunk: Chunk, kind: str, drop: str | None = None, rng: random.Random | None = None) -> str:
    """A chunk as the model reads it when training on `kind` queries.

    The header leaves out what the query was made from (a heading query sees only
    the title, a title query only the heading path); for sentence queries one
    prose sentence is taken out: `drop` (the query) or, for negatives, a random one.
    """
    body = _body(chunk)
    if kind == "sentence":
        if drop is None and rng is not None:
            drop = rng.choice(_sentences(body) or [""])
        if drop:
            body = re.sub(r"\s+", " ", body.replace(drop, " ", 1)).strip()
        return passage_text(chunk, body)
    if kind == "heading":
        return f"{chunk.title}\n{body}"
    return f"{chunk.heading}\n{body}".strip()


def candidate_queries(chunk: Chunk, rng: random.Random, first_of_doc: bool) -> list[tuple[str, str, str]]:
    """(kind, query, positive text) candidates of one chunk; a query sentence is taken out of its positive."""
    out = []
    body = _body(chunk)
    if not _readable(body) or len(body) < 200:
        return []
    heading = _MARKUP.sub("", chunk.heading.split(" > ")[-1]).strip() if chunk.heading else ""
    if heading and heading.lower() not in _GENERIC and (len(heading.split()) >= 2 or len(HAN_CHAR.findall(heading)) >= 4) \
            and not _CODE.search(heading):
        query = rng.choice(_TEMPLATES[_lang(heading)]).format(heading)
        out.append(("heading", query, render(chunk, "heading")))
    title = chunk.title.strip()
    if first_of_doc and title and not _CODE.search(title):
        out.append(("title", title, render(chunk, "title")))
    sentences = _sentences(body)
    if sentences:
        sentence = rng.choice(sentences)
        rest = render(chunk, "sentence", drop=sentence)
        if len(rest) >= (120 if _lang(body) == "zh" else 250):
            out.append(("sentence", sentence, rest))
    return out


def _normal(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def mine_examples(index, embedders: Sequence, max_queries: int = 1200, negatives: int = 3, seed: int = 0,
                  exclude: Iterable[str] = (), pool: int = 30, batch: int = 64) -> list[Example]:
    """Mine (query, positive, hard negatives) groups from an index's chunks.

    Args:
        index: a loaded `index.search.Index`.
        embedders: its embedders, one per dense leg (as the retriever gets them).
        max_queries: at most this many groups, a seeded sample of every candidate query.
        negatives: hard negatives per query, drawn from the 10 best hits from other
            documents in the query's language (for headings and titles, which name a
            topic other pages also cover, from ranks 4-13: the top ones are often relevant).
        exclude: questions that must never become training queries (the eval cases).
        pool: hits each leg contributes before fusion.
    """
    rng = random.Random(seed)
    chunks = index.chunks
    banned = {_normal(q) for q in exclude}
    seen_docs: set[str] = set()
    candidates = []
    for pos, chunk in enumerate(chunks):
        for kind, query, text in candidate_queries(chunk, rng, chunk.doc_url not in seen_docs):
            if _normal(query) not in banned:
                candidates.append((kind, query, pos, text))
        seen_docs.add(chunk.doc_url)
    rng.shuffle(candidates)
    candidates = candidates[:max_queries]
    queries = [c[1] for c in candidates]
    legs = []
    for embedder in embedders:
        vectors = [v for lo in range(0, len(queries), batch) for v in embedder.embed_queries(queries[lo:lo + batch])]
        legs.append((embedder, vectors))
    examples = []
    for i, (kind, query, pos, text) in enumerate(candidates):
        rankings = [[p for p, _ in index.dense(vectors[i], pool, leg)]
                    for leg, (embedder, vectors) in enumerate(legs) if len(legs) == 1 or _reads_language(embedder, query)]
        rankings.append([p for p, _ in index.keyword(query, pool)])
        # Other documents in the query's language: a translation of the positive's page
        # (the handbook exists in both) would be a false negative.
        lang = _lang(query)
        others = [p for p, _ in fuse(rankings)
                  if chunks[p].doc_url != chunks[pos].doc_url and _lang(chunks[p].text) == lang][:13]
        others = others if kind != "sentence" else others[:10]
        if not others:
            continue
        if kind != "sentence" and len(others) >= negatives + 3:
            others = others[3:]  # a heading or title names a topic other pages also cover: skip the likeliest
        picked = rng.sample(others, min(negatives, len(others)))
        examples.append(Example(query, kind, pos, text, tuple(picked),
                                tuple(render(chunks[p], kind, rng=rng) for p in picked)))
    return examples
