"""A question that names its source is asked about that source.

Learners say whose text they mean: "d2l 讲 Transformer 的那一节", "In Karpathy's Pong post", "Lilian Weng's
post on diffusion". Evidence from another source then reads as the named one's: asked for d2l's settings, a
learner was shown The Illustrated Transformer's "eight attention heads" as if it were d2l's (d2l uses 4). So
when a question names a source whose passages were retrieved, its evidence comes from that source only.

A source's names come from its title ("Machine Learning with PyTorch and Scikit-Learn", the site's name after a
dash taken off) and from its address: the site (`d2l.ai`, `karpathy.github.io`, `lilianweng.github.io`)
or, on a shared host, the account (`github.com/hesamsheikh/...`, `huggingface.co/blog/mlabonne/...`). A
name that other documents use as a word of their own ("pytorch", "huggingface", "distill") is a topic, not
a source: it counts only when at most `MAX_OTHERS` other documents' text has it. Learners write an author's
name, not the handle: "Sumanth's guide" (sumanthrh.com), "Jay Alammar" (jalammar), "Maxime Labonne"
(mlabonne), "Chris Olah" (colah). So a word that begins or ends a handle and is most of it is a name too,
matched as a whole word, and only when few documents at all use it as a word: "prompting" does not name
promptingguide.ai, whose own 20 pages use it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Iterable, Mapping
from urllib.parse import urlsplit

from core.types import Chunk

MAX_OTHERS = 10  # documents other than its own that mention a name (the handbook page names many authors)
MIN_LENGTH = 3
MIN_WORD, WORD_SHARE = 4, 0.6  # a word naming a source: at least 4 letters, and this share of the handle
# Parts of an address that name no one: hosting, top-level domains, "blog".
_GENERIC = frozenset("www github gitlab io com org net ai co pub edu dev me app blog blogs docs doc medium "
                     "substack readthedocs html en zh cn uk us".split())
_SHARED_HOSTS = ("github.com", "huggingface.co", "gitlab.com", "medium.com")


def normalized(text: str) -> str:
    """Lower case, letters, digits and Han characters only: "Lilian Weng" and "lilianweng" read the same."""
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "", text.lower())


def _address_names(url: str) -> set[str]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in _SHARED_HOSTS:  # an account, then what it holds ("blog/mlabonne/merge-models"; "blog/moe" is a post)
        path = [p for p in parts.path.strip("/").split("/") if p and p.lower() not in _GENERIC]
        return {normalized(path[0])} if len(path) >= 2 else set()
    labels = [label for label in host.split(".") if label not in _GENERIC]
    return {normalized(labels[0])} if len(labels) == 1 else set()  # "nlp.seas.harvard.edu": no one name


MIN_TITLE = 12  # letters of a title that names its document ("Machine Learning with PyTorch and Scikit-Learn")
# What a page's title adds to the name a learner writes: the site after " - " or " | ", and "Book", "Blog", ...
_TITLE_TAIL = re.compile(r"\s+[-|–—]\s+.*$|(?:\s+(?:book|course|blog|post|notes|guide|tutorial|website))+\s*$", re.IGNORECASE)


MIN_TITLE_WORDS = 3  # "Prompt Chaining" and "Text Embeddings" are topics a learner asks about, not a title they name


def _squeezed(text: str) -> str:
    """Letters, digits and Han characters only, their case kept."""
    return re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "", text)


# A Chinese title is long and learners name it by one of its parts: "那篇大模型全方位指南" for "【必收藏】大模型全方位
#指南:从入门到精通,程序员必备知识手册". A part between the title's punctuation of this many Han characters is a name
# (shorter ones, "从入门到精通", are phrases anyone writes) when no other document's text has it.
MIN_ZH_PART = 7
_TITLE_BREAKS = re.compile(r"[\s【】\[\]()（）:：,，、;；!！?？|｜·—–\-]+")
# ... or by any part of it they put in quotes: "那篇“14天速成LLM”的笔记", "“带你自学大语言模型”系列" (a quoted
# English part of three words or more: two are a term, "prompt chaining").
_QUOTED = re.compile(r"[“\"「『《]([^”\"」』》]{2,40})[”\"」』》]")
MIN_QUOTED = 7  # letters, digits or Han characters of a quoted part of a title ("“大语言模型”" is a term in quotes)
MAX_QUOTED_TITLES = 2


def _title_parts(title: str) -> list[str]:
    """The parts of a Chinese title that name its document."""
    return [_squeezed(p) for p in _TITLE_BREAKS.split(title) if len(re.findall(r"[\u4e00-\u9fff]", p)) >= MIN_ZH_PART]


def _title_name(title: str) -> str:
    kept = _TITLE_TAIL.sub("", title.strip())
    if len(kept.split()) < MIN_TITLE_WORDS and not re.search(r"[\u4e00-\u9fff]", kept):
        return ""
    # Learners drop a title's article: "Jay Alammar's Illustrated Word2vec" names "The Illustrated Word2vec".
    return _squeezed(re.sub(r"^(?:The|A|An)\s+", "", kept))


@dataclass(frozen=True)
class SourceNames:
    """The names that say which source a question is about, each -> the addresses of its documents."""

    handles: Mapping[str, frozenset[str]]  # found anywhere in the question ("mlabonne", "lilianweng", "d2l", a title)
    words: Mapping[str, frozenset[str]]  # a part of a handle, found as a word ("labonne", "sumanth", "olah")
    # a title of three words or more, written as titled ("Machine Learning with PyTorch and Scikit-Learn" names the
    # book; "rotary positional embeddings" is the topic of a page titled "Rotary Positional Embedding")
    titles: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    # every document's whole title (letters and Han characters): a quoted part of one names it
    whole_titles: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)


def source_names(chunks: Iterable[Chunk]) -> SourceNames:
    """The source names of the documents of `chunks`."""
    text: dict[str, list[str]] = {}
    said: dict[str, set[str]] = {}  # each document's words
    titles: dict[str, str] = {}
    for chunk in chunks:
        titles.setdefault(chunk.doc_url, chunk.title)
        text.setdefault(chunk.doc_url, []).append(normalized(chunk.text))
        said.setdefault(chunk.doc_url, set()).update(re.findall(r"[a-z]+", chunk.text.lower()))
    named: dict[str, set[str]] = {}
    for url in text:
        for name in _address_names(url):
            if len(name) >= MIN_LENGTH:
                named.setdefault(name, set()).add(url)
    joined = {url: " ".join(parts) for url, parts in text.items()}

    def rare(name: str, urls: set[str]) -> bool:
        return sum(name in t for url, t in joined.items() if url not in urls) <= MAX_OTHERS

    words: dict[str, set[str]] = {}
    for name, urls in named.items():
        letters = re.sub(r"[0-9]+", "", name)
        least = max(MIN_WORD, round(WORD_SHARE * len(letters) + 0.49))
        for part in {letters[:n] for n in range(least, len(letters))} | {letters[-n:] for n in range(least, len(letters))}:
            if part.isalpha() and rare(part, urls) and sum(part in w for w in said.values()) <= MAX_OTHERS:
                words.setdefault(part, set()).update(urls)
    titled: dict[str, set[str]] = {}
    for url, title in titles.items():
        name = _title_name(title)
        if len(name) >= MIN_TITLE and rare(name.lower(), {url}):
            titled.setdefault(name, set()).add(url)
        for part in _title_parts(title):
            if not any(part.lower() in t for other, t in joined.items() if other != url):
                titled.setdefault(part, set()).add(url)
    whole: dict[str, set[str]] = {}
    for url, title in titles.items():
        # (a work the title itself quotes is what the document is about, not its name: "一个月从小白到AI专家《生成式AI
        # 手册》……" introduces the handbook; "《生成式AI手册》" names the handbook, not the article)
        whole.setdefault(_squeezed(_QUOTED.sub(" ", title)).lower(), set()).add(url)
    return SourceNames({name: frozenset(urls) for name, urls in named.items() if rare(name, urls)},
                       {word: frozenset(urls) for word, urls in words.items()},
                       {name: frozenset(urls) for name, urls in titled.items()},
                       {name: frozenset(urls) for name, urls in whole.items()})


def named_sources(question: str, names: SourceNames) -> frozenset[str]:
    """The addresses of the documents `question` names (empty when it names none)."""
    asked = normalized(question)
    said = set(re.findall(r"[a-z]+", question.lower()))
    titled = _squeezed(question)
    quoted = [_squeezed(m).lower() for m in _QUOTED.findall(question)
              if len(_squeezed(m)) >= MIN_QUOTED and (re.search(r"[\u4e00-\u9fff]", m) or len(m.split()) >= MIN_TITLE_WORDS)]
    # (a quoted part of a title names one document, or a few of one series; a phrase many titles share names none)
    in_titles = [[urls for title, urls in names.whole_titles.items() if q in title] for q in quoted]
    by_title = {url for title, urls in names.titles.items() if title in titled for url in urls} \
        | {url for found in in_titles if 0 < len(found) <= MAX_QUOTED_TITLES for urls in found for url in urls}
    # A site or an author names all their documents; with one of them named by its title ("Jay Alammar's Illustrated
    # Word2vec"), that one is meant.
    by_name = [urls for name, urls in names.handles.items() if name in asked] \
        + [urls for word, urls in names.words.items() if word in said]
    return frozenset(by_title.union(*[urls & by_title or urls for urls in by_name]))
