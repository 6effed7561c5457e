"""Read pages out of a WARC file (the offline snapshot format).

Only `response` and `resource` records become pages; `warcinfo`, `request`,
`metadata` and `revisit` records are skipped. warcio is lenient: on a broken
gzip member it writes to stderr and simply stops, and a truncated record is
returned short. So this reader checks three things itself: the file starts
like a WARC, each record's block was read to its declared length, and (for
`.gz` files) every gzip member decompresses with a good checksum.

Error policy: a corrupt or truncated record does not lose the records before
it. The generator yields every good record first and then raises
`SourceError` naming the failing record, so a caller that processes pages as
they arrive keeps them and can still report the failure.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from pathlib import Path
from typing import Iterator

from core.errors import SourceError
from core.types import Page

log = logging.getLogger(__name__)

PAGE_RECORDS = ("response", "resource")
_GZIP_MAGIC = b"\x1f\x8b"


def read_warc(path: str | Path) -> Iterator[Page]:
    """Yield a `Page` for every `response` and `resource` record of a WARC file.

    Args:
        path: a `.warc` or `.warc.gz` file (gzip per record or whole-file).

    Yields:
        Pages in file order: `url` is `WARC-Target-URI` verbatim, `content_type`
        comes from the HTTP headers of a `response` record (else the WARC
        `Content-Type`), `body` is the payload with transfer/content encodings
        removed, `date` is `WARC-Date` and `origin` is `warc:<file name>`.

    Raises:
        SourceError: the file is missing or not a WARC (raised before anything
            is yielded), or a record is corrupt or truncated (raised after the
            records before it have been yielded).
    """
    from warcio.archiveiterator import ArchiveIterator  # only when a WARC archive is read or written
    from warcio.exceptions import ArchiveLoadFailed  # only when a WARC archive is read or written

    path = Path(path)
    _check_is_warc(path)
    origin = f"warc:{path.name}"
    count = 0
    with path.open("rb") as f:
        # check_digests="raise": records carrying a WARC-Block-Digest are verified.
        records = ArchiveIterator(f, check_digests="raise")
        try:
            for record in records:
                if record.rec_type not in PAGE_RECORDS:
                    continue
                page = _to_page(record, origin)
                if getattr(record.raw_stream, "limit", 0) > 0:
                    raise SourceError(
                        f"{path}: record {count + 1} ({page.url}) is truncated; "
                        f"the {count} records before it were read. Re-download or re-create the WARC."
                    )
                count += 1
                yield page
        except (ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError) as e:
            raise SourceError(
                f"{path}: unreadable after {count} page records ({_printable(e)}); "
                "the records before it were read. Re-download or re-create the WARC."
            ) from None
    problem = _gzip_problem(path)
    if problem:
        raise SourceError(
            f"{path}: {problem}; reading stopped after {count} page records. "
            "Re-download or re-create the WARC."
        )
    log.debug("read %d page records from %s", count, path)


def _to_page(record, origin: str) -> Page:
    headers = record.rec_headers
    content_type = ""
    if record.rec_type == "response" and record.http_headers is not None:
        content_type = record.http_headers.get_header("Content-Type") or ""
    if not content_type:
        content_type = headers.get_header("Content-Type") or "application/octet-stream"
    body = record.content_stream().read()
    return Page(
        url=headers.get_header("WARC-Target-URI") or "",
        content_type=content_type,
        body=body,
        date=headers.get_header("WARC-Date") or "",
        origin=origin,
    )


def _printable(error: Exception, limit: int = 160) -> str:
    """An exception message fit for one log line: warcio quotes raw (binary) record bytes."""
    text = "".join(c if c.isprintable() else "?" for c in str(error))
    return text if len(text) <= limit else text[:limit] + "..."


def _check_is_warc(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"WARC file {path} does not exist; check the path or set TUTOR_SNAPSHOT")
    if not path.is_file():
        raise SourceError(f"{path} is not a file; pass the path of a .warc or .warc.gz file")
    with path.open("rb") as f:
        head = f.read(2)
        f.seek(0)
        try:
            first = gzip.GzipFile(fileobj=f).read(5) if head == _GZIP_MAGIC else f.read(5)
        except (OSError, EOFError, zlib.error):
            first = b""
    if first != b"WARC/":
        raise SourceError(f"{path} is not a WARC file (it does not start with a WARC/1.x record); pass a .warc or .warc.gz file")


def _gzip_problem(path: Path) -> str:
    """Return what is wrong with the gzip members of `path`, or "" if nothing is.

    warcio stops silently at a bad member, so a streaming pass with zlib (a
    few ms per MB, constant memory) is the only way to tell "end of file"
    from "broken file".
    """
    with path.open("rb") as f:
        if f.read(2) != _GZIP_MAGIC:
            return ""
        f.seek(0)
        member, inflater, pending = 0, None, b""
        while True:
            data = pending or f.read(1 << 16)
            pending = b""
            if not data:
                break
            if inflater is None:  # at a member boundary; some writers pad the end with zero bytes
                data = data.lstrip(b"\0")
                if len(data) < 2:
                    more = f.read(1 << 16)
                    if data and not more:
                        return f"garbage after gzip member {member}"
                    pending = data + more
                    continue
                if data[:2] != _GZIP_MAGIC:
                    return f"garbage after gzip member {member}"
                member += 1
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                inflater.decompress(data)
            except zlib.error as e:
                return f"gzip member {member} is corrupt ({e})"
            if inflater.eof:
                pending, inflater = inflater.unused_data, None
    return f"gzip member {member} is truncated" if inflater is not None else ""
