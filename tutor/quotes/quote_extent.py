"""How far a quote reaches: the sentence a pick needs after it, and quotes of one paragraph as one.

A picked sentence often states the premise and the next one the point: "Why do contrastive methods need
large batches?" is answered by "Using a large batch size is another key ingredient ..." only together
with "Only when the batch size is big enough, the loss ...". What kind of answer the question wants (a
number, a reason, a means) says whether the next sentence is needed. tutor/quotes/evidence.py picks the
sentences; this module decides where each quote starts and ends.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from tutor.citations.cite import sentence_spans
from tutor.citations.quotable import MAX_CHARS, announced, attach, ends, opens_item, planted, prose_spans

MAX_MERGED = 2 * MAX_CHARS  # a quote grown from adjacent sentences stays readable as one
COMPLETES = 0.7  # a next sentence scoring this share of the best pick's score is about the question too
COMPLETES_FIRST = 0.4  # ... or this share, after the best pick itself
# A next sentence holding this much more of the question's term weight says more of what was asked
# (with a score of COMPLETES_FIRST of the best pick's); chosen on the dev cases' tune half.
ADDS_TERMS = 0.05
# The best pick's next sentence comes along when it scores this share of the pick (it is about the question too):
# read on the tune half at 0 (every next sentence) and 0.3 (most of the gain, a third of the additions, less noise).
IN_CONTEXT = 0.3


# What kind of answer a question wants, and what a sentence giving it holds: "how much" wants a number,
# "why" a reason, "how" a means. The lead-in "We compare the throughput of vLLM with ..." loses to the
# sentence after it that says "up to 24x".
_ASKS = (
    (re.compile(r"\bhow (?:much|many|fast|big|large|long)\b|\bwhat (?:percentage|fraction|speed-?up)|多少|几|多大|多快|多长",
                re.IGNORECASE), re.compile(r"\d")),
    (re.compile(r"\bwhy\b|为什么|为何|原因", re.IGNORECASE),
     re.compile(r"\b(?:because|since|so that|in order to|to avoid|to prevent|due to|as a result|the reason)\b|因为|由于|为了|以免|从而",
                re.IGNORECASE)),
    (re.compile(r"\bhow (?:does|do|is|are|can|did)\b|怎么|如何|怎样", re.IGNORECASE),
     re.compile(r"\b(?:by|through|using|via|uses?|instead of)\b|通过|利用|使用|用", re.IGNORECASE)),
)


# A question that asks for code, or how to do something in practice ("how do I run vLLM for offline inference?",
# "how can I change the learning rate by hand?", "代码里的残差连接是怎么写的？"): a snippet of a quoted passage answers it
# (tutor/quotes/code_blocks.py).
_DOING = (r"run|launch|start|load|install|call|write|implement|change|set|configure|train|switch|define|fix|serve|"
          r"send|plot|add|create|build|save|upload|merge|quantize|use")
_ASKS_CODE = re.compile(r"\b(?:code|coded|snippet|script|implementation|API call|command line|in (?:Python|PyTorch|JAX|NumPy)|"
                        rf"how (?:do|can|should|would) (?:I|you|we) (?:\w+ ){{0,2}}(?:{_DOING})|how to (?:{_DOING}))\b"
                        r"|代码|函数|脚本|命令|怎么写|如何写|怎么(?:用|加载|运行|调用|安装|修|改|设置|配置|启动)"
                        r"|如何(?:使用|加载|运行|调用|安装|修复|设置|配置|启动)|该怎么改",
                        re.IGNORECASE)


def asks_code(queries: Sequence[str]) -> bool:
    """Whether the question asks for code or how to do something in code."""
    return any(_ASKS_CODE.search(q) for q in queries)


def fits(queries: Sequence[str], sentence: str) -> bool:
    """Whether the sentence gives the kind of answer the question asks for (a number, a reason, a means)."""
    return any(asks.search(q) and gives.search(sentence) for asks, gives in _ASKS for q in queries)


def completed(text: str, start: int, end: int, queries: Sequence[str], score: Callable[[int], float],
               bar: float) -> int:
    """Where a quote ends once it gives the mechanism, reason or number asked for.

    "Why ...?" answered by "Using a large batch size is another key ingredient ..." has its reason
    in the next sentence of the paragraph ("Only when the batch size is big enough, the loss ...");
    "How does QLoRA fit a 65B model on one GPU?" answered by "QLoRA uses 4-bit quantization to
    compress a pretrained model" goes on with "The parameters are then frozen and ... adapters".
    So for a how, why or how-much question the next sentence of the quote's paragraph comes along
    when it is about the question too (its own score reaches `bar`) and: for "how", always; for
    "why", when the quote gives no reason yet; for "how much", when it brings the number.
    """
    number = _ASKS[0]
    wants = {kind for kind, (asks, _) in zip(("number", "reason", "means"), _ASKS) if any(asks.search(q) for q in queries)}
    quote = text[start:end]
    if not ("means" in wants or "reason" in wants and not _REASONS.search(quote)
            or "number" in wants and not number[1].search(quote)):
        return end
    following = _next_prose(text, end)
    if not following or "\n\n" in text[end:following[0]] or following[1] - start > MAX_MERGED or score(following[0]) < bar:
        return end
    if wants == {"number"} and not number[1].search(text[following[0]:following[1]]):
        return end
    return following[1]


def carried(text: str, start: int, end: int, adds: Callable[[int, int], bool]) -> int:
    """Where a quote ends once the next sentence of its paragraph comes along, when `adds` says it should.

    A source often names the thing in one sentence and says what it does in the next, in other words:
    "RWKV combines the best features of RNNs and transformers." goes on "During training, we use the
    transformer type formulation ..., which allows massive parallelization". The sentence most like the
    question is often the one restating its premise, so the best pick brings its next sentence when that one
is about the question at all;
    a later pick brings it when it holds question terms the quote lacks (tutor/quotes/evidence.py decides, by
    `adds(start, end)` of that sentence). A new list item is not the quote's sentence: it is the list's
    next point.
    """
    following = _next_prose(text, end)
    if (not following or "\n\n" in text[end:following[0]] or following[1] - start > MAX_MERGED
            or opens_item(text, following[0])):
        return end
    return following[1] if adds(*following) else end


def _next_prose(text: str, end: int) -> tuple[int, int] | None:
    """The next prose sentence after `end`, unless an instruction planted for an AI lies between: a quote
    reaching it would show what lies between."""
    following = next((s for s in prose_spans(text) if s[0] >= end), None)
    if following and any(planted(text[a:b]) for a, b in sentence_spans(text) if end <= a < following[0]):
        return None
    return following


# A sentence that turns or concludes what the one before it said: a quote cut before it says less than its
# source, or the opposite ("applying the rotary embeddings is naively about 4-5x the cost ..." then
# "However, ... the overhead is fairly negligible").
_TURNS = re.compile(r"^[*_]*(?:But|However|Yet|Still|That said|Nevertheless|Nonetheless|Even so|In practice|In fact|"
                    r"Essentially|In other words|Overall|In summary|In short|In the end|Thus|Therefore|Hence|"
                    r"As a result|Consequently|This means|That means|This is why|So)\b"
                    r"|^(?:然而|但是|但|不过|因此|所以|也就是说|换句话说|总之|总的来说|实际上|其实|可见)")


def turned(text: str, start: int, end: int) -> int:
    """Where a quote ends once the sentence that turns or concludes it comes along (same paragraph)."""
    following = _next_prose(text, end)
    if not following or "\n\n" in text[end:following[0]] or following[1] - start > MAX_MERGED:
        return end
    return following[1] if _TURNS.match(text[following[0]:following[1]]) else end


# A sentence that gives a reason, or says it just did ("This is why BERT is a bidirectional encoder").
_REASONS = re.compile(_ASKS[1][1].pattern + r"|\b(?:why|thus|therefore|hence|so)\b|所以|因此", re.IGNORECASE)


def merged(quotes: list[list]) -> list[tuple]:
    """Quotes of one passage that overlap or follow each other in a paragraph become one; the first stays first."""
    out: list[list] = []
    for n, hit, start, end, score, *key in quotes:  # (`key`: the span of the picked sentences, when given)
        text = hit.chunk.text
        for q in out:
            if q[1] is not hit or start > q[3] + 2 or q[2] > end + 2:
                continue
            if q[2] <= start and end <= q[3]:
                break  # already shown whole
            if max(q[3], end) - min(q[2], start) > MAX_MERGED:
                if start < q[3] and q[2] < end:
                    break  # overlaps one too long to grow: what it adds is left out rather than shown twice
                continue
            if "\n\n" in text[min(end, q[3]):max(start, q[2])]:
                continue  # next to it, but in another paragraph: two quotes
            if key and score > q[4]:
                q[5:] = key  # the better pick's sentences stay the key
            q[2], q[3], q[4] = min(q[2], start), max(q[3], end), max(q[4], score)
            break
        else:
            out.append([n, hit, start, end, score, *key])
    return [tuple(q) for q in out]


def unrepeated(quotes: Sequence[tuple]) -> list[tuple]:
    """The quotes without the sentences an earlier quote already shows.

    Neighbouring chunks of a page share a sentence at their seam, and a quote read on into its paragraph can
    reach the sentence another quote opens with: the LoRA post's "This greatly reduces the number of trainable
    parameters ..." was shown twice in one answer. A quote loses such sentences at its start and its end; one
    whose picked sentences (its key) were all shown already is left out.
    """
    out: list[tuple] = []
    shown: list[str] = []
    for q in quotes:
        n, hit, start, end, score, *key = q
        text = hit.chunk.text
        spans = [(a, b) for a, b in sentence_spans(text) if start <= a and b <= end]
        said = lambda a, b: _squeezed(text[a:b]) in " ".join(shown)
        first, last = 0, len(spans)
        while first < last and said(*spans[first]):
            first += 1
        while last > first and said(*spans[last - 1]):
            last -= 1
        if spans and first == last:
            continue  # shown whole already
        start = spans[first][0] if first else start
        end = spans[last - 1][1] if last < len(spans) else end
        if key and (start >= key[1] or end <= key[0]):
            continue  # what it was picked for is shown already
        key = [max(key[0], start), min(key[1], end)] if key else key
        out.append((n, hit, start, end, score, *key))
        shown.append(_squeezed(text[start:end]))
    return out


def _squeezed(text: str) -> str:
    return " ".join(text.split())


# How far a quote reaches into its paragraph (characters, about 110 words): the sentence most like the question
# often sets up the point and the rest of its paragraph makes it ("the narrower the kernel, the less smooth the
# estimate" goes on "At the same time, it adapts better to the local variations"), the miss readers of four
# unseen case sets named most. Read blind on the dev tune half: better for the learner in 27 of 48 changed
# answers, worse in 11 (more to read), fully answered 26 -> 36, none graded down.
WINDOW = 700


def widened(text: str, start: int, end: int, window: int = WINDOW, answered: bool = True) -> tuple[int, int]:
    """The quote with the prose of its paragraph around it, up to `window` characters: the sentences after it
    first (where a premise's point follows), then the ones before it (what "this" refers to).

    A list item, a paragraph break, fenced code or a heading ends the reach: what lies beyond them is
    another point, except for the paragraph that answers a question the quote ends on (`answered`).
    """
    if end - start >= window:
        return start, end
    spans = sentence_spans(text)
    last = end  # the end of what was read, a lead-in waiting for what it announces included
    finished, unfinished = end, -1  # the end of the last whole sentence read on, and of a half one
    for a, b in (s for s in spans if s[0] >= end):
        if "\n\n" in text[last:a] or opens_item(text, a) or b - start > window:
            break
        if _LEADS_IN.search(text[a:b]):  # "... it is often useful to ask:" and its list are the paragraph's point
            listed = attach(text, a, b)
            if listed == b and last == end and announced(text, b):
                # "... use the `LLM` class in your Python scripts:" ends the quote; its code is shown under it
                end = b if b - start <= window else end
                break
            if b < listed or last != end:
                end = listed if b < listed and listed - start <= window else end
                break
            # announced in the paragraph's prose ("Major differences from BERT fine-tuning include:\n(i) T5 input
            # includes task descriptions; ..."): it comes along with the sentence after it, never alone
            last = b
            continue
        if not _reads_on(text, a, b):
            break
        end = last = b
        if ends(text[a:b]) or announced(text, b) is not None:
            finished = b
        else:
            unfinished = b
    # A chunk can stop mid-sentence ("While the two are similar in theoretical complexity,"): half a sentence is
    # read on into only with the formula it runs into.
    if end == unfinished:
        end = finished
    for a, b in reversed([s for s in spans if s[1] <= start]):
        if "\n\n" in text[b:start] or not _reads_on(text, a, b) or opens_item(text, start) or end - a > window:
            break
        start = a
    return start, _answered(text, spans, start, end, window) if answered else end


def _answered(text: str, spans: list[tuple[int, int]], start: int, end: int, window: int) -> int:
    """A quote that ends its paragraph on a question the source goes on to answer ("Can we perform such attacks
    with handwriting?"), or on a colon before a paragraph of prose, with the answering paragraph's prose: the
    question alone is the premise, and the point is what follows."""
    last_line = text[start:end].rstrip().rsplit("\n", 1)[-1].strip()
    if not last_line.endswith(("?", "？", ":", "：")) or _ITEMS.match(last_line) or announced(text, end):
        return end  # (a list's last item asks nothing of the next paragraph; announced code is shown under the quote)
    reached = end
    for a, b in (s for s in spans if s[0] >= end):
        gap = text[reached:a]
        # the next paragraph's first sentence, then the rest of that paragraph
        if gap.strip() or gap.count("\n\n") != (1 if reached == end else 0) or not _reads_on(text, a, b) \
                or text.startswith("$$", a) or b - start > window:
            break
        reached = b
    return reached


def _reads_on(text: str, a: int, b: int) -> bool:
    """Whether a sentence next to a quote can join it: prose of the paragraph, an inline formula included
    ("Then, we multiply by a $$50277 \\times 1024$$ matrix"), but no code, table, heading, list or quote line."""
    sentence = text[a:b].strip()
    return (0 < len(sentence) <= MAX_CHARS and not sentence.startswith(("```", "|", "#", ">", "<", "![", "[^"))
            and not _LEADS_IN.search(sentence)  # it announces code or a list (`widened` takes a list along)
            and not _ITEMS.match(sentence) and not planted(sentence))


_ITEMS = re.compile(r"^(?:[-*+]|\d+[.)])\s")
_LEADS_IN = re.compile(r"[:：]\s*$")
