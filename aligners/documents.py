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
"""

from __future__ import annotations

import enum
import gzip
import json
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from aligners.records import Document, DropReason, Link
from corpus.lines import DEFAULT_MAX_LINE_BYTES, LongLine, bounded_lines
from corpus.records import DeadLetter, Reason, make_dead_letter

logger = logging.getLogger(__name__)

STAGE = "read_documents"
WIKIDATA_ENTITY = "http://www.wikidata.org/entity/"
UTF8_BOM = b"\xef\xbb\xbf"


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


@dataclass(frozen=True, kw_only=True, slots=True)
class FieldMap:
    """Which fields of a JSONL/JSON/Parquet record hold the document's parts (datatrove-style mapping)."""

    text: str = "text"
    id: str = "id"
    """A record without it (absent, null or empty) gets the id ``<file>:<line>``."""
    title: str = "title"
    subject: str = "subject"
    links: str = "links"
    """A list of ``{"start", "end", "entity"[, "surface"]}`` objects (the inner names are fixed)."""
    entity_prefix: str = ""
    """Prepended to a subject or link entity that is a bare id (no ``://``, not a blank node), e.g.
    ``http://www.wikidata.org/entity/`` for ``Q42``; ``""`` keeps values as given."""

    def __post_init__(self) -> None:
        names = [self.text, self.id, self.title, self.subject, self.links]
        if any(not name for name in names):
            raise ValueError("field names must not be empty")
        if len(set(names)) != len(names):
            raise ValueError(f"field names must differ, got text/id/title/subject/links = {names}")

    def entity(self, value: str) -> str:
        """``value`` as an IRI: the prefix is added to bare ids only."""
        if not self.entity_prefix or not value or "://" in value or value.startswith("_:"):
            return value
        return self.entity_prefix + value


DEFAULT_FIELDS = FieldMap()


class _BadRecordError(Exception):
    """Internal: a record is rejected with ``reason``."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _string(obj: dict[str, Any], key: str, *, required: bool, numeric: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise _BadRecordError(Reason.MISSING_FIELD, _missing(obj, key))
        return ""
    if numeric and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _BadRecordError(Reason.BAD_FIELD_TYPE, key)
    return value


def _missing(obj: dict[str, Any], key: str) -> str:
    """``'text'`` plus the record's own fields and the one with the longest string (what a field mapping
    needs to know: ``--text-field sent``)."""
    if not obj:
        return repr(key)
    names = ", ".join(repr(name) for name in list(obj)[:8]) + (", ..." if len(obj) > 8 else "")
    strings = [(len(v), k) for k, v in obj.items() if isinstance(v, str) and isinstance(k, str)]
    longest = f"; longest text in {max(strings)[1]!r}" if strings else ""
    return f"{key!r} (the record has {names}{longest})"


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadRecordError(Reason.BAD_LINK, f"offset {value!r}")
    return value


def _nearest(text: str, surface: str, start: int) -> int:
    """Start of the occurrence of ``surface`` in ``text`` nearest to ``start``, or -1."""
    best = -1
    pos = text.find(surface)
    while pos >= 0:
        if best < 0 or abs(pos - start) < abs(best - start):
            best = pos
        if pos > start:
            break
        pos = text.find(surface, pos + 1)
    return best


def _repair(text: str, start: int, end: int, surface: str) -> tuple[int, int] | DropReason:
    """Check ``text[start:end] == surface``; move to the nearest occurrence when it does not."""
    if not 0 <= start < end <= len(text):
        if not surface:
            return DropReason.LINK_OUT_OF_RANGE
    elif not surface or text[start:end] == surface:
        return start, end
    pos = _nearest(text, surface, start)
    if pos < 0:
        return DropReason.LINK_MISMATCH
    return pos, pos + len(surface)


def _jsonl_links(text: str, raw: Any, fields: FieldMap) -> tuple[list[Link], list[DropReason]]:
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        raise _BadRecordError(Reason.BAD_LINK, "links is not a list")
    links: list[Link] = []
    drops: list[DropReason] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("entity"), str) or not item["entity"]:
            raise _BadRecordError(Reason.BAD_LINK, f"link {item!r}")
        surface = item.get("surface") or ""
        if not isinstance(surface, str):
            raise _BadRecordError(Reason.BAD_LINK, f"link surface {surface!r}")
        # Out-of-range offsets are kept for clean_document to drop and count.
        placed = _repair(text, _int(item.get("start")), _int(item.get("end")), surface)
        if isinstance(placed, DropReason):
            if surface:
                drops.append(placed)
                continue
            placed = (_int(item.get("start")), _int(item.get("end")))
        links.append(Link(placed[0], placed[1], fields.entity(item["entity"])))
    return links, drops


def _qid_iri(uri: Any) -> str:
    """Wikidata item IRI for a T-REx ``uri`` (``Q42`` or a full IRI), ``""`` for ``None``/literals."""
    if not isinstance(uri, str) or uri in ("", "None") or "^^" in uri:
        return ""
    return uri if "://" in uri else WIKIDATA_ENTITY + uri


def _trex_document(obj: dict[str, Any], file: str, line: int) -> Document:
    text = _string(obj, "text", required=True)
    doc_id = _string(obj, "docid", required=True, numeric=True)
    entities = obj.get("entities") or []
    if not isinstance(entities, list):
        raise _BadRecordError(Reason.BAD_FIELD_TYPE, "entities")
    links: list[Link] = []
    drops: list[DropReason] = []
    for ent in entities:
        if not isinstance(ent, dict):
            raise _BadRecordError(Reason.BAD_LINK, f"entity {ent!r}")
        iri = _qid_iri(ent.get("uri"))
        if not iri or ent.get("annotator") not in ("Me", None):
            continue
        bounds = ent.get("boundaries")
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise _BadRecordError(Reason.BAD_LINK, f"boundaries {bounds!r}")
        surface_value = ent.get("surfaceform")
        surface = surface_value if isinstance(surface_value, str) else ""
        placed = _repair(text, _int(bounds[0]), _int(bounds[1]), surface)
        if isinstance(placed, DropReason):
            drops.append(placed)
        else:
            links.append(Link(placed[0], placed[1], iri))
    title = _string(obj, "title", required=False)
    return Document(doc_id, text, title, _qid_iri(obj.get("uri")), tuple(links), file, line, tuple(drops))


def record_id(file: str, line: int) -> str:
    """The id of a record that has none: ``<file>:<line>`` (``<file>`` alone for a one-record file)."""
    return file if line < 0 else f"{file}:{line}"


def document_from_object(
    obj: Any, *, file: str, line: int, fields: FieldMap = DEFAULT_FIELDS
) -> Document | DeadLetter:
    """Convert one parsed JSON object (JSONL schema or T-REx record) to a Document or a dead letter."""
    try:
        if not isinstance(obj, dict):
            raise _BadRecordError(Reason.BAD_FIELD_TYPE, "record is not an object")
        if fields.id == "id" and "id" not in obj and "docid" in obj:  # a T-REx/REBEL record
            doc = _trex_document(obj, file, line)
        else:
            text = _string(obj, fields.text, required=True)
            links, drops = _jsonl_links(text, obj.get(fields.links), fields)
            doc = Document(
                _string(obj, fields.id, required=False, numeric=True) or record_id(file, line),
                text,
                _string(obj, fields.title, required=False),
                fields.entity(_string(obj, fields.subject, required=False)),
                tuple(links),
                file,
                line,
                tuple(drops),
            )
    except _BadRecordError as err:
        return make_dead_letter(STAGE, file, err.reason, f"{err}: {_excerpt(obj)}", line=line)
    if not doc.text.strip():
        return make_dead_letter(STAGE, file, Reason.EMPTY_TEXT, _excerpt(obj), line=line)
    return doc


def _excerpt(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, default=str)[:2048]
    # Lone surrogates (from "\ud800" escapes) cannot be written as UTF-8: keep them as escapes.
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


def parse_document_line(
    line: bytes, *, file: str, line_no: int, fmt: DocFormat, fields: FieldMap = DEFAULT_FIELDS
) -> Document | DeadLetter:
    """Parse one line of a line-oriented file (JSONL, or decompressed ``.jsonl.gz``)."""
    if fmt not in (DocFormat.JSONL, DocFormat.JSONL_GZ):
        raise ValueError(f"{file}: {fmt.value} is not a line-oriented format")
    if line_no == 1 and line.startswith(UTF8_BOM):
        line = line[len(UTF8_BOM) :]  # a byte-order mark (Windows editors) opens the file, not the record
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError:
        return make_dead_letter(STAGE, file, Reason.INVALID_UTF8, line, line=line_no)
    try:
        obj = json.loads(decoded)
    except json.JSONDecodeError:
        return make_dead_letter(STAGE, file, Reason.INVALID_JSON, decoded, line=line_no)
    return document_from_object(obj, file=file, line=line_no, fields=fields)


def parse_jsonl_stream(
    raw: BinaryIO,
    *,
    file: str,
    fmt: DocFormat,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    fields: FieldMap = DEFAULT_FIELDS,
) -> Iterator[Document | DeadLetter]:
    """Every record of a JSONL stream (raw bytes; ``.jsonl.gz`` is decompressed here), in bounded memory.

    A line above ``max_line_bytes`` is a ``too_large`` dead letter and reading resumes at the next line;
    a truncated or corrupt ``.jsonl.gz`` keeps the records before the damage, then one dead letter.
    """
    handle: BinaryIO = gzip.GzipFile(fileobj=raw) if fmt is DocFormat.JSONL_GZ else raw  # type: ignore[assignment]
    line_no = 0
    try:
        for line_no, line in enumerate(bounded_lines(handle, max_line_bytes), start=1):
            if isinstance(line, LongLine):
                excerpt = f"line of {line.length} bytes exceeds max_line_bytes={max_line_bytes}; starts {line.head!r}"
                yield make_dead_letter(STAGE, file, Reason.TOO_LARGE, excerpt, line=line_no)
            elif line.strip():
                yield parse_document_line(line, file=file, line_no=line_no, fmt=fmt, fields=fields)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        yield make_dead_letter(STAGE, file, Reason.TRUNCATED_COMPRESSED, str(err), line=line_no + 1)


def _read_json(path: str, fields: FieldMap) -> Iterator[Document | DeadLetter]:
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        yield make_dead_letter(STAGE, path, Reason.INVALID_UTF8, raw)
        return
    except json.JSONDecodeError as err:
        if err.msg == "Extra data":
            # One record per line, under a .json name (how T-REx-style dumps are often shipped).
            for line_no, line in enumerate(raw.splitlines(), start=1):
                if line.strip():
                    yield parse_document_line(
                        line, file=path, line_no=line_no, fmt=DocFormat.JSONL, fields=fields
                    )
            return
        yield make_dead_letter(STAGE, path, Reason.INVALID_JSON, f"{err}: {raw[:512]!r}")
        return
    records = data if isinstance(data, list) else [data]
    for index, obj in enumerate(records):
        yield document_from_object(obj, file=path, line=-1 if len(records) == 1 else index + 1, fields=fields)


def _read_txt(path: str) -> Iterator[Document | DeadLetter]:
    with open(path, "rb") as handle:
        raw = handle.read()
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


def _read_parquet(path: str, fields: FieldMap) -> Iterator[Document | DeadLetter]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        yield make_dead_letter(STAGE, path, Reason.READ_ERROR, str(err))
        return
    for row_no, row in enumerate(table.to_pylist(), start=1):
        yield document_from_object(row, file=path, line=row_no, fields=fields)


def read_documents(
    path: str, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, fields: FieldMap = DEFAULT_FIELDS
) -> Iterator[Document | DeadLetter]:
    """Read every document of ``path`` (any supported format), in file order."""
    fmt = document_format_of(path)
    if fmt in (DocFormat.JSONL, DocFormat.JSONL_GZ):
        with open(path, "rb") as raw:
            yield from parse_jsonl_stream(
                raw, file=path, fmt=fmt, max_line_bytes=max_line_bytes, fields=fields
            )
    elif fmt is DocFormat.JSON:
        yield from _read_json(path, fields)
    elif fmt is DocFormat.TXT:
        yield from _read_txt(path)
    else:
        yield from _read_parquet(path, fields)
