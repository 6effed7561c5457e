"""How the picked quotes make an answer: how far each reads on, how many fit, their code, other documents apart.

The selector (tutor/quotes/evidence.py) picks the sentences and tutor/quotes/quote_extent.py decides where each
quote starts and ends; this module lays them out as the `Evidence` an answer shows.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from core.types import Evidence, Hit
from ingest.chunk import section_at
from tutor.citations.entries import is_row, table_header
from tutor.citations.quotable import announced
from tutor.quotes.quote_extent import widened

TOTAL = 1600  # characters of quotes an answer shows at most (about 250 words: a page of reading, not a chapter)


def reaching(quotes: list[list], parts: list[bool], entries: Sequence[bool] = (), total: int = TOTAL) -> list[list]:
    """Each quote with the rest of its paragraph around it (`widened`), the best quote and the answers to a
    question's parts first, the others while the answer stays readable (`total` characters). An entry (a row
    or an item) stays as it is."""
    order = sorted(range(len(quotes)), key=lambda k: (k != 0, not parts[k], -quotes[k][4]))
    used = 0
    out = [list(q) for q in quotes]
    for k in order:
        hit, start, end = out[k][1:4]
        if k < len(entries) and entries[k]:
            used += end - start
            continue
        for wide in (widened(hit.chunk.text, start, end), widened(hit.chunk.text, start, end, answered=False)):
            if k == 0 or used + wide[1] - wide[0] <= total:
                out[k][2], out[k][3] = wide
                break
        used += out[k][3] - out[k][2]
    return out


def within(quotes: list[tuple], most: int, total: int = TOTAL) -> list[tuple]:
    """The first `most` quotes that fit in `total` characters (the first always)."""
    out, used = [], 0
    for q in quotes[:most]:
        if out and used + q[3] - q[2] > total:
            continue
        out.append(q)
        used += q[3] - q[2]
    return out


MAX_BLOCKS = 2  # code blocks or formulas an answer shows under its quotes


def blocks(quotes: Sequence[tuple]) -> list[str]:
    """Per quote, the code or formula it announces, if any."""
    out: list[str] = []
    for n, hit, start, end, *_ in quotes:
        span = announced(hit.chunk.text, end) if sum(map(bool, out)) < MAX_BLOCKS else None
        if span:
            # A formula takes along the sentence after it; when another quote opens with that sentence, it is
            # shown there, not twice (MoE's "In this setup, all experts are run for all inputs").
            later = [s for _, h, s, *_ in quotes if h.chunk.id == hit.chunk.id and span[0] < s < span[1]]
            span = (span[0], min(later)) if later else span
        out.append(hit.chunk.text[span[0]:span[1]].rstrip() if span else "")
    return out


MAX_ASIDES = 2  # quotes of other documents shown as related reading


def set_apart(evidence: Sequence[Evidence], parts: Sequence[tuple[str, int]]) -> list[Evidence]:
    """The answer's quotes, then at most `MAX_ASIDES` of other documents marked `aside`.

    The answer's document is the best quote's. Another document's quotes stay in the answer only when one of
    them answers a part of the question (`parts`: the chunk and start of each part's pick). Read by two readers,
    another source's quote in the answer read as the mechanism asked about (a GRU sentence under an LSTM
    question, another system's batching under d2l's), and a false rendering of one sank answers whose own
    source answered; shown apart and unrendered, it is related reading, not the answer.
    """
    if not evidence:
        return []
    home = evidence[0].url

    def answers_part(e: Evidence) -> bool:
        return any(chunk == e.chunk_id and e.start <= start < e.start + len(e.sentence) for chunk, start in parts)

    # A document that answers a part is one of the answer's: its other quotes are no "other source's".
    answering = {home} | {e.url for e in evidence if answers_part(e)}
    keep = [e.url in answering for e in evidence]
    main = [e for e, k in zip(evidence, keep) if k]
    rest = [dataclasses.replace(e, aside=True) for e, k in zip(evidence, keep) if not k]
    return main + rest[:MAX_ASIDES]


def evidence_of(n: int, hit: Hit, start: int, end: int, score: float, key_start: int, key_end: int,
              block: str = "") -> Evidence:
    text = hit.chunk.text
    sentence = text[start:end].strip()
    key = text[key_start:key_end].strip()
    columns = table_header(text, start) if is_row(sentence) else ""
    return Evidence(n=n, chunk_id=hit.chunk.id, url=hit.chunk.doc_url, title=hit.chunk.title, sentence=sentence,
                    start=start, score=round(score, 4), key=key if key != sentence else "", block=block,
                    columns=columns, section=section_at(hit.chunk, start))

