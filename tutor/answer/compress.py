"""Shrink each passage to the sentences that bear on the question, before prompting.

On 2 CPU cores the default 1.5B model reads about 100 prompt tokens a second,
so four whole passages (~1,000 tokens) cost ~10 s before the first word.
Keeping only each passage's most relevant sentences (scored by the judge
embedder plus term overlap), in their original order, cuts that several-fold.
Sentences are joined by newlines, which end a sentence for the citation
verifier, so every quote it takes stays a verbatim span of the stored chunk.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from core.language import estimate_tokens
from core.types import Turn
from index.bm25 import tokenize
from tutor.citations.cite import sentence_spans


def compress(turn: Turn, embedder, max_tokens: int, total_tokens: int = 0) -> Turn:
    """Keep, per passage, the best sentences for the question within `max_tokens` (estimated).

    Args:
        turn: the turn whose passages to shrink; passages already short enough are kept whole.
        embedder: the judge `Embedder` (multilingual, so a Chinese question scores English sentences);
            None scores by term overlap alone.
        max_tokens: the budget per passage; 0 or less keeps every passage whole.
        total_tokens: if positive, a budget for all passages together (a first-token deadline,
            see `tutor.backends.latency`): passages in rank order each get their best sentence while it
            fits, the rest of the budget goes to the best remaining sentences wherever they are,
            and passages left with nothing are dropped from the end (so `[n]` numbering holds).

    Returns:
        The turn with shortened passage texts (the same turn if nothing changed).
    """
    if not turn.hits or (max_tokens <= 0 and total_tokens <= 0):
        return turn

    terms = set(tokenize(turn.question))
    groups = [[hit.chunk.text[a:b] for a, b in sentence_spans(hit.chunk.text)] for hit in turn.hits]
    flat = [s for group in groups for s in group]
    if not flat:
        return turn
    semantic = np.zeros(len(flat))
    if embedder is not None:
        semantic = (embedder.embed_documents(flat) @ embedder.embed_queries([turn.question])[0]).astype(float)
    lexical = np.array([len(terms & set(tokenize(s))) / len(terms) if terms else 0.0 for s in flat])
    scores = np.maximum(semantic, lexical)
    if total_tokens > 0:
        return _share(turn, groups, scores, total_tokens, max_tokens if max_tokens > 0 else total_tokens)
    hits, offset, changed = [], 0, False
    for hit, group in zip(turn.hits, groups):
        mine = scores[offset:offset + len(group)]
        offset += len(group)
        if estimate_tokens(hit.chunk.text) <= max_tokens or len(group) <= 1:
            hits.append(hit)
            continue
        keep, used = [], 0
        for i in np.argsort(-mine, kind="stable"):
            cost = estimate_tokens(group[i])
            if keep and used + cost > max_tokens:
                continue
            keep.append(i)
            used += cost
        text = "\n".join(group[i] for i in sorted(keep))
        hits.append(dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, text=text)))
        changed = True
    return dataclasses.replace(turn, hits=tuple(hits)) if changed else turn


def _share(turn: Turn, groups: list[list[str]], scores: np.ndarray, total: int, per_passage: int) -> Turn:
    """`compress` with one budget for all passages together."""
    starts = np.cumsum([0] + [len(g) for g in groups])
    cost = [[estimate_tokens(s) for s in group] for group in groups]
    chosen: list[list[int]] = [[] for _ in groups]
    used = [0] * len(groups)
    for p, group in enumerate(groups):  # first, each passage's best sentence, in rank order
        if not group:
            break
        best = int(np.argmax(scores[starts[p]:starts[p + 1]]))
        if p and sum(used) + cost[p][best] > total:
            break  # this passage and the ones after it are left out
        chosen[p], used[p] = [best], cost[p][best]
    kept = sum(1 for c in chosen if c)
    rest = sorted(((scores[starts[p] + i], p, i) for p in range(kept) for i in range(len(groups[p]))
                   if i not in chosen[p]), key=lambda t: -t[0])
    for _, p, i in rest:  # then the best remaining sentences, wherever they are
        if sum(used) + cost[p][i] <= total and used[p] + cost[p][i] <= per_passage:
            chosen[p].append(i)
            used[p] += cost[p][i]
    hits = []
    for hit, group, keep in zip(turn.hits[:kept], groups, chosen):
        if len(keep) == len(group):
            hits.append(hit)
            continue
        text = "\n".join(group[i] for i in sorted(keep))
        hits.append(dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, text=text)))
    return dataclasses.replace(turn, hits=tuple(hits))
