"""Document files -> :class:`Document` records (or dead letters), for every supported input format.

Formats (see ``docs/FORMATS.md``):

- JSONL (``.jsonl``, ``.jsonl.gz``): one JSON object per line with ``id`` and ``text`` (strings), optional
  ``title``, ``subject`` (IRI) and ``links`` (``[{"start", "end", "entity"}]``, character offsets into
  ``text``; an optional ``surface`` is checked and offset drift repaired). A line that is a T-REx/REBEL
  record (``docid``, ``text``, ``entities``) is converted, so REBEL's ``sample.jsonl`` reads as JSONL.
- T-REx JSON (``.json``): a JSON array of T-REx records (or of JSONL-style objects), or one record per line.
- Plain text (``.txt``): one document per file, id = file stem, no links.
- Parquet (``.parquet``): the JSONL columns (``links`` a list of structs).

Field names are a :class:`FieldMap` (``--text-field``, ``--id-field``, ... of ``build-corpus``): a TEKGEN
record ``{"sent": ...}`` reads with ``FieldMap(text="sent")``. A JSONL/JSON/Parquet record without an id
gets ``<file>:<line>``; ``entity_prefix`` turns bare entity ids (``Q42``) into IRIs.

T-REx/REBEL conversion: hyperlink entities (annotator ``Me`` with a Q-id) become links to
``http://www.wikidata.org/entity/Q…``; the page entity (``uri``) becomes ``subject``; date and number
entities are not links (the aligner finds literals itself). Boundaries that do not slice to
``surfaceform`` are moved to the nearest occurrence of ``surfaceform`` (REBEL's +2/+4/+6 drift).

Bounds (hostile or careless inputs): every format is streamed, and one record may take at most
``max_doc_bytes`` (a JSONL line, one element of a ``.json`` array, a whole ``.txt`` file, a Parquet row's
text); a larger one is a ``too_large`` dead letter that is skipped without being held. Only regular files
are read (a FIFO, ``/dev/zero`` or a directory is one ``read_error`` dead letter). A string field holding a
lone surrogate (a ``"\\ud800"`` escape, which no UTF-8 writer accepts) rejects its record
(:data:`kgtext.aligners.document_objects.LONE_SURROGATE`).
"""

from __future__ import annotations

import enum
import gzip
import logging
import os
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from kgtext.aligners.document_objects import (
    DEFAULT_FIELDS,
    STAGE,
    WIKIDATA_ENTITY,
    FieldMap,
    document_from_object,
    record_id,
)
from kgtext.aligners.records import Document
from kgtext.common.dead_letters import DeadLetter, Reason, make_dead_letter
from kgtext.common.json_stream import JsonStreamError, TooLarge, TrailingDataError, iter_json_items
from kgtext.common.jsonl import LineError, LineProblem, loads_line
from kgtext.common.lines import DEFAULT_MAX_LINE_BYTES, LongLine, bounded_lines, open_regular

__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_MAX_DOC_BYTES",
    "STAGE",
    "WIKIDATA_ENTITY",
    "DocFormat",
    "FieldMap",
    "document_format_of",
    "document_from_object",
    "parse_document_line",
    "parse_jsonl_stream",
    "read_documents",
    "record_id",
]

logger = logging.getLogger(__name__)

UTF8_BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_DOC_BYTES = 16 * 1024 * 1024
"""Most bytes one document record may take (``--max-doc-bytes``): far above any document the aligner
keeps (``AlignerConfig.max_document_chars``, 1M characters, is at most 4 MiB of UTF-8)."""
_LINE_REASONS = {
    LineProblem.NOT_UTF8: Reason.INVALID_UTF8,
    LineProblem.NOT_JSON: Reason.INVALID_JSON,
    LineProblem.TOO_DEEP: Reason.INVALID_JSON,
    LineProblem.TOO_LONG: Reason.TOO_LARGE,
}


class DocFormat(str, enum.Enum):
    """Document file formats, chosen by file extension."""

    JSONL = "jsonl"
    JSONL_GZ = "jsonl.gz"
    JSON = "json"
    TXT = "txt"
    PARQUET = "parquet"

    @property
    def line_oriented(self) -> bool:
        """True when each line is one record (the pipeline may split the file across workers)."""
        return self is DocFormat.JSONL


_EXTENSIONS = [(f".{fmt.value}", fmt) for fmt in sorted(DocFormat, key=lambda f: -len(f.value))]


def document_format_of(path: str) -> DocFormat:
    """The :class:`DocFormat` of ``path`` by extension; ValueError naming the file when unknown."""
    lower = path.lower()
    for ext, fmt in _EXTENSIONS:
        if lower.endswith(ext):
            return fmt
    known = ", ".join(ext for ext, _ in _EXTENSIONS)
    raise ValueError(f"{path}: unknown document file extension (known: {known})")


def parse_document_line(
    line: bytes, *, file: str, line_no: int, fmt: DocFormat, fields: FieldMap = DEFAULT_FIELDS
) -> Document | DeadLetter:
    """Parse one line of a line-oriented file (JSONL, or decompressed ``.jsonl.gz``)."""
    if fmt not in (DocFormat.JSONL, DocFormat.JSONL_GZ):
        raise ValueError(f"{file}: {fmt.value} is not a line-oriented format")
    if line_no == 1 and line.startswith(UTF8_BOM):
        line = line[len(UTF8_BOM) :]  # a byte-order mark (Windows editors) opens the file, not the record
    try:
        obj = loads_line(line)
    except LineError as err:
        excerpt: str | bytes = line  # the line itself shows what is wrong with it
        if err.problem is LineProblem.NOT_JSON:
            excerpt = line.decode("utf-8")
        elif err.problem is LineProblem.TOO_DEEP:
            excerpt = f"{err}: {line[:EXCERPT_HEAD]!r}"
        return make_dead_letter(STAGE, file, _LINE_REASONS[err.problem], excerpt, line=line_no)
    return document_from_object(obj, file=file, line=line_no, fields=fields)


EXCERPT_HEAD = 256
"""Bytes of an over-long or over-deep record quoted in its dead letter."""


def _too_large(
    file: str, what: str, length: int, limit: int, head: bytes | str, line: int, unit: str = "bytes"
) -> DeadLetter:
    excerpt = (
        f"{what} of {length:,} {unit} exceeds max_doc_bytes={limit:,}; it starts {head[:EXCERPT_HEAD]!r}"
    )
    return make_dead_letter(STAGE, file, Reason.TOO_LARGE, excerpt, line=line)


def parse_jsonl_stream(
    raw: BinaryIO,
    *,
    file: str,
    fmt: DocFormat,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    fields: FieldMap = DEFAULT_FIELDS,
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES,
) -> Iterator[Document | DeadLetter]:
    """Every record of a JSONL stream (raw bytes; ``.jsonl.gz`` is decompressed here, as it is read), in
    bounded memory.

    A line above ``max_line_bytes`` or ``max_doc_bytes`` is a ``too_large`` dead letter and reading resumes
    at the next line; a truncated or corrupt ``.jsonl.gz`` keeps the records before the damage, then one
    dead letter.
    """
    handle: BinaryIO = gzip.GzipFile(fileobj=raw) if fmt is DocFormat.JSONL_GZ else raw  # type: ignore[assignment]
    limit, name = min((max_line_bytes, "max_line_bytes"), (max_doc_bytes, "max_doc_bytes"))
    line_no = 0
    try:
        for line_no, line in enumerate(bounded_lines(handle, limit), start=1):
            if isinstance(line, LongLine):
                excerpt = f"line of {line.length} bytes exceeds {name}={limit}; starts {line.head!r}"
                yield make_dead_letter(STAGE, file, Reason.TOO_LARGE, excerpt, line=line_no)
            elif line.strip():
                yield parse_document_line(line, file=file, line_no=line_no, fmt=fmt, fields=fields)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        yield make_dead_letter(STAGE, file, Reason.TRUNCATED_COMPRESSED, str(err), line=line_no + 1)


def _read_json(path: str, fields: FieldMap, max_doc_bytes: int) -> Iterator[Document | DeadLetter]:
    """A JSON array of records (streamed, one element at a time), one record, or one record per line.

    A file of one record (a lone object, or an array of one) reports it with line -1 (its id, when it has
    none, is the file name); otherwise ``line`` is the record's 1-based position in the array.
    """
    held: Any = None  # the first record waits until a second one shows the file holds several
    count = 0
    with open_regular(path) as handle:
        try:
            for count, item in enumerate(iter_json_items(handle, max_item_chars=max_doc_bytes), start=1):
                if count == 2:
                    yield _json_record(path, held, 1, fields, max_doc_bytes)
                if count >= 2:
                    yield _json_record(path, item.value, count, fields, max_doc_bytes)
                else:
                    held = item.value
        except TrailingDataError:
            count = -1  # several top-level values: one record per line (T-REx-style dumps under .json)
        except JsonStreamError as err:
            if count == 1:
                yield _json_record(path, held, 1, fields, max_doc_bytes)
            reason = _LINE_REASONS[err.problem]
            line = err.index + 1 if count else -1
            yield make_dead_letter(STAGE, path, reason, f"record {err.index + 1}: {err}", line=line)
            return
    if count == 1:
        yield _json_record(path, held, -1, fields, max_doc_bytes)
    elif count < 0:
        with open_regular(path) as handle:
            yield from parse_jsonl_stream(
                handle, file=path, fmt=DocFormat.JSONL, fields=fields, max_doc_bytes=max_doc_bytes
            )


def _json_record(
    path: str, value: Any, line: int, fields: FieldMap, max_doc_bytes: int
) -> Document | DeadLetter:
    if isinstance(value, TooLarge):
        return _too_large(path, "record", value.length, max_doc_bytes, value.head, line, unit="characters")
    return document_from_object(value, file=path, line=line, fields=fields)


def _read_txt(path: str, max_doc_bytes: int) -> Iterator[Document | DeadLetter]:
    """One document per file, read up to ``max_doc_bytes`` (a larger file is a ``too_large`` dead letter)."""
    with open_regular(path) as handle:
        raw = handle.read(max_doc_bytes + 1)
        if len(raw) > max_doc_bytes:
            size = len(raw) + _drain(handle)
            yield _too_large(path, "text file", size, max_doc_bytes, raw, -1)
            return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield make_dead_letter(STAGE, path, Reason.INVALID_UTF8, raw)
        return
    if not text.strip():
        yield make_dead_letter(STAGE, path, Reason.EMPTY_TEXT, raw)
        return
    stem = os.path.basename(path)[: -len(".txt")]
    yield Document(stem, text, "", "", (), path, -1)


def _drain(handle: BinaryIO, chunk: int = 1 << 20) -> int:
    """Bytes left in ``handle`` (counted from its size when it can say, else read in bounded chunks)."""
    try:
        return max(0, os.fstat(handle.fileno()).st_size - handle.tell())
    except (OSError, ValueError):
        total = 0
        while data := handle.read(chunk):
            total += len(data)
        return total


PARQUET_BATCH_ROWS = 64
"""Rows decoded at a time from a Parquet file (memory: one batch, not the table)."""


def _utf8_size(value: Any, limit: int) -> int:
    """UTF-8 bytes of a string field (0 for anything else); computed only when it may exceed ``limit``."""
    if not isinstance(value, str) or 4 * len(value) <= limit:
        return 0
    return len(value.encode("utf-8", "surrogatepass"))


def _read_parquet(path: str, fields: FieldMap, max_doc_bytes: int) -> Iterator[Document | DeadLetter]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    row_no = 0
    try:
        with open_regular(path) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=PARQUET_BATCH_ROWS):
                for row in batch.to_pylist():
                    row_no += 1
                    size = _utf8_size(row.get(fields.text), max_doc_bytes)
                    if size > max_doc_bytes:
                        yield _too_large(path, "text", size, max_doc_bytes, row[fields.text], row_no)
                    else:
                        yield document_from_object(row, file=path, line=row_no, fields=fields)
    except (pa.ArrowException, OSError) as err:
        yield make_dead_letter(STAGE, path, Reason.READ_ERROR, str(err), line=row_no + 1 if row_no else -1)


def read_documents(
    path: str,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    fields: FieldMap = DEFAULT_FIELDS,
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES,
) -> Iterator[Document | DeadLetter]:
    """Read every document of ``path`` (any supported format), in file order, in bounded memory; a path that
    is not a regular file (FIFO, device, directory) or cannot be opened is one ``read_error`` dead letter."""
    if max_doc_bytes <= 0:
        raise ValueError(f"max_doc_bytes must be > 0, got {max_doc_bytes}")
    fmt = document_format_of(path)
    try:
        if fmt in (DocFormat.JSONL, DocFormat.JSONL_GZ):
            with open_regular(path) as raw:
                yield from parse_jsonl_stream(
                    raw,
                    file=path,
                    fmt=fmt,
                    max_line_bytes=max_line_bytes,
                    fields=fields,
                    max_doc_bytes=max_doc_bytes,
                )
        elif fmt is DocFormat.JSON:
            yield from _read_json(path, fields, max_doc_bytes)
        elif fmt is DocFormat.TXT:
            yield from _read_txt(path, max_doc_bytes)
        else:
            yield from _read_parquet(path, fields, max_doc_bytes)
    except OSError as err:
        yield make_dead_letter(STAGE, path, Reason.READ_ERROR, str(err))
