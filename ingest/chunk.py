"""Split a Document into heading-aware, overlapping passages with exact character offsets.

The text is cut into blocks (headings, paragraphs, fenced code), grouped into
sections by the markdown headings, and each section is packed into chunks of
at most `max_chars`. Whole paragraphs are preferred; a paragraph that does
not fit is split at sentence ends (English `. ! ?` plus a space, Chinese
`。！？；`), then at line breaks, then at a space, then anywhere. A code fence
is only split when it alone is too long. Sections shorter than
`MIN_SECTION` characters are merged into the next chunk under the same
parent instead of standing alone.

Invariant: `doc.text[c.start:c.end] == c.text` for every chunk, and every
word character of the document is inside some chunk. LangChain's
splitters were not used: the markdown header splitter drops the heading
lines and neither reports exact offsets into the original text.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from dataclasses import dataclass

from core.types import Chunk, Document

MIN_SECTION = 200  # chars; smaller sections merge into the next chunk of the same parent

_ATX = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"\s*(`{3,}|~{3,})")
# Where a new sentence (or line) starts: after . ! ? and a space, after 。！？； or after a newline.
_BREAK = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|(?<=[。！？；])[”’」』）)\"']*\s*|\n\s*")


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    kind: str  # "heading" | "text" | "code"
    level: int = 0
    title: str = ""


def chunk(doc: Document, max_chars: int = 1000, overlap_chars: int = 150) -> list[Chunk]:
    """Split a document into passages for indexing and quoting.

    Args:
        doc: the document; its text keeps markdown `#` headings.
        max_chars: the longest a chunk may be (characters).
        overlap_chars: about how much of the end of a chunk is repeated at
            the start of the next one in the same section: whole sentences, the
            last one alone when it is longer (up to half a chunk), else none.
            A chunk never opens in the middle of a sentence of its paragraph.

    Returns:
        Chunks in document order. `heading` is the section path
        ("H1 > H2 > H3", without the document title); heading lines stay in
        the chunk text. Chunks with no word characters are left out.

    Raises:
        ValueError: max_chars < 50, or overlap_chars outside [0, max_chars / 2).
    """
    if max_chars < 50:
        raise ValueError(f"max_chars must be at least 50, got {max_chars}")
    if not 0 <= overlap_chars < max_chars / 2:
        raise ValueError(f"overlap_chars must be >= 0 and < max_chars / 2 ({max_chars / 2:g}), got {overlap_chars}")
    text = doc.text
    blocks = _blocks(text)
    starts = sorted({u[0] for b in blocks if b.kind == "text" for u in _units(text, b.start, b.end, max_chars)})
    packer = _Packer(text, max_chars, overlap_chars, starts)
    for path, section in _sections(blocks, doc.title):
        packer.add_section(path, section)
    spans = packer.finish()
    return [
        Chunk(doc_url=doc.url, title=doc.title, heading=" > ".join(path), text=text[s:e], start=s, end=e,
              part=doc.part, section=doc.section, lang=doc.lang)
        for s, e, path in spans
        if re.search(r"\w", text[s:e])
    ]


def section_at(chunk: Chunk, at: int) -> str:
    """The heading of the section that offset `at` of the chunk's text lies in: the last heading line of the
    chunk before it, else the last part of the chunk's heading path ("" at the top of a document)."""
    above = [m.group(2).strip() for m in (_ATX.match(line) for line in chunk.text[:at].split("\n")) if m]
    return above[-1] if above else chunk.heading.rsplit(" > ", 1)[-1].strip()


def _blocks(text: str) -> list[_Block]:
    """Headings, paragraphs (runs of non-blank lines) and fenced code blocks, with offsets."""
    blocks: list[_Block] = []
    para: list[int] | None = None  # [start, end]
    fence, code_start, pos = "", 0, 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if fence:
            stripped = line.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                blocks.append(_Block(code_start, end, "code"))
                fence = ""
            continue
        opening = _FENCE.match(line)
        heading = _ATX.match(line)
        if opening or heading or not line.strip():
            if para:
                blocks.append(_Block(para[0], para[1], "text"))
                para = None
        if opening:
            fence, code_start = opening.group(1), start
        elif heading:
            blocks.append(_Block(start, end, "heading", len(heading.group(1)), heading.group(2).strip()))
        elif line.strip():
            if para is None:
                para = [start + len(line) - len(line.lstrip()), end]
            para[1] = end
    if fence:  # an unclosed fence runs to the end, as in CommonMark
        blocks.append(_Block(code_start, len(text.rstrip()), "code"))
    elif para:
        blocks.append(_Block(para[0], para[1], "text"))
    return blocks


def _sections(blocks: list[_Block], title: str) -> list[tuple[tuple[str, ...], list[_Block]]]:
    """Group blocks under their heading path; the document title is not repeated in the path."""
    sections: list[tuple[tuple[str, ...], list[_Block]]] = [((), [])]
    stack: list[tuple[int, str]] = []
    doc_title = _norm(title)
    for block in blocks:
        if block.kind == "heading":
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            if _norm(block.title) != doc_title or stack:
                stack.append((block.level, block.title))
            sections.append((tuple(t for _, t in stack), []))
        sections[-1][1].append(block)
    return [(path, blocks) for path, blocks in sections if blocks]


def _under(path: tuple[str, ...], parent: tuple[str, ...]) -> bool:
    return path[:len(parent)] == parent


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[*_`#]", "", s).split()).casefold()


def _units(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Sentence/line spans of text[start:end], each at most max_chars long."""
    cuts = [start] + [m.end() for m in _BREAK.finditer(text, start, end) if m.end() < end]
    units = []
    for a, b in zip(cuts, cuts[1:] + [end]):
        b = a + len(text[a:b].rstrip())
        if b > a:
            units.extend(_hard_split(text, a, b, max_chars))
    return units


def _hard_split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    out = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + max_chars // 2, start + max_chars)
        cut = cut if cut > start else start + max_chars
        out.append((start, start + len(text[start:cut].rstrip())))
        start = cut + len(text[cut:end]) - len(text[cut:end].lstrip())
    out.append((start, end))
    return out


def _code_units(text: str, block: _Block, max_chars: int) -> list[tuple[int, int]]:
    units, pos = [], block.start
    for line in text[block.start:block.end].split("\n"):
        if line.strip():
            units.extend(_hard_split(text, pos, pos + len(line.rstrip()), max_chars))
        pos += len(line) + 1
    return units


class _Packer:
    """Greedy packing of pieces into spans, with overlap and tiny-section merging."""

    def __init__(self, text: str, max_chars: int, overlap: int, starts: list[int]) -> None:
        self.text, self.max, self.overlap, self.starts = text, max_chars, overlap, starts
        self.spans: list[tuple[int, int, tuple[str, ...]]] = []
        self.carry: tuple[int, int, tuple[str, ...]] | None = None  # tiny sections waiting for the next one

    def add_section(self, path: tuple[str, ...], blocks: list[_Block]) -> None:
        start, end = blocks[0].start, blocks[-1].end
        if self.carry and not _under(path, self.carry[2][:-1]):
            self._flush_carry()
        if len(self.text[start:end].strip()) < MIN_SECTION and end - start <= self.max:
            if self.carry and end - self.carry[0] <= self.max:
                self.carry = (self.carry[0], end, path)
            else:
                self._flush_carry()
                self.carry = (start, end, path)
            return
        pieces = deque(self._pieces(blocks))
        cur_s = None
        if self.carry and pieces[0][1] - self.carry[0] <= self.max:
            cur_s = self.carry[0]
            self.carry = None
        self._flush_carry()
        self._pack(pieces, path, cur_s)

    def finish(self) -> list[tuple[int, int, tuple[str, ...]]]:
        if self.carry and self.spans:
            s, e, path = self.spans[-1]
            if self.carry[1] - s <= self.max and _under(path, self.carry[2][:-1]):
                self.spans[-1] = (s, self.carry[1], path)
                self.carry = None
        self._flush_carry()
        return self.spans

    def _flush_carry(self) -> None:
        if self.carry:
            self.spans.append(self.carry)
            self.carry = None

    def _pieces(self, blocks: list[_Block]) -> list[tuple[int, int, str]]:
        pieces = []
        for b in blocks:
            if b.end - b.start <= self.max:
                pieces.append((b.start, b.end, b.kind))
            elif b.kind == "code":
                pieces += [(s, e, "code") for s, e in _code_units(self.text, b, self.max)]
            else:
                pieces += [(s, e, "text") for s, e in _units(self.text, b.start, b.end, self.max)]
        return pieces

    def _pack(self, pieces: deque, path: tuple[str, ...], cur_s: int | None) -> None:
        cur_e, has_body = None, cur_s is not None
        if cur_s is not None:
            cur_e = cur_s  # the merged tiny sections; extended by the first piece below
        while pieces:
            s, e, kind = pieces.popleft()
            if cur_s is None:
                cur_s, cur_e, has_body = s, e, kind != "heading"
                continue
            if e - cur_s <= self.max:
                cur_e, has_body = e, has_body or kind != "heading"
                continue
            room = self.max - (cur_e - cur_s)
            if kind == "text" and (not has_body or room > 0.4 * self.max):
                # Fill the chunk with the paragraph's first sentences rather than leave it short.
                units = _units(self.text, s, e, self.max)
                fit = [u for u in units if u[1] - cur_s <= self.max]
                if fit and len(fit) < len(units):
                    cur_e = fit[-1][1]
                    pieces.appendleft((units[len(fit)][0], e, "text"))
                    self.spans.append((cur_s, cur_e, path))
                    cur_s, cur_e, has_body = self._next_start(cur_s, cur_e, pieces[0][1]), None, True
                    if cur_s is not None:
                        cur_e = cur_s
                    continue
            self.spans.append((cur_s, cur_e, path))
            start = self._next_start(cur_s, cur_e, e)
            cur_s, cur_e, has_body = (start if start is not None else s), e, True
        if cur_s is not None and cur_e is not None and cur_e > cur_s:
            self.spans.append((cur_s, cur_e, path))

    def _next_start(self, s0: int, e0: int, next_end: int) -> int | None:
        """Where the next chunk starts so that it repeats ~overlap chars of [s0, e0), or None."""
        if self.overlap <= 0:
            return None
        lo = max(e0 - self.overlap, s0 + 1)
        i = bisect.bisect_left(self.starts, lo)
        if i < len(self.starts) and self.starts[i] < e0:
            start = self.starts[i]
        else:  # the last sentence is longer than the overlap: repeat it whole, unless that is half a chunk
            # (Started at a word boundary inside it, 12% of the chunks opened on half a sentence, "(to push the
            # values to be between -1 and 1) and multiply it ...", and the evidence quoted it as it stood.)
            i = bisect.bisect_right(self.starts, lo) - 1
            start = self.starts[i] if i >= 0 and s0 < self.starts[i] and e0 - self.starts[i] <= self.max // 2 else None
            if start is None or "```" in self.text[start:e0] or "\n#" in self.text[start - 1:e0]:
                return None
        return start if start < e0 and next_end - start <= self.max else None
