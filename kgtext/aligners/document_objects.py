"""Parsed JSON records -> :class:`Document` or a dead letter: the JSONL schema (through a :class:`FieldMap`)
and T-REx/REBEL records, for every format :mod:`kgtext.aligners.documents` reads.

T-REx/REBEL conversion: hyperlink entities (annotator ``Me`` with a Q-id) become links to
``http://www.wikidata.org/entity/Q…``; the page entity (``uri``) becomes ``subject``; date and number
entities are not links (the aligner finds literals itself). Boundaries that do not slice to
``surfaceform`` are moved to the nearest occurrence of ``surfaceform`` (REBEL's +2/+4/+6 drift).

A record whose id, text, title, subject or link entity holds a lone surrogate (a ``"\\ud800"`` JSON
escape: text no UTF-8 writer accepts, Arrow and Beam's coders included) is a dead letter
(:data:`LONE_SURROGATE`), never a crash later in the build.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kgtext.aligners.records import Document, DropReason, Link
from kgtext.common.dead_letters import DeadLetter, Reason, make_dead_letter
from kgtext.common.jsonl import has_lone_surrogate

STAGE = "read_documents"
WIKIDATA_ENTITY = "http://www.wikidata.org/entity/"
LONE_SURROGATE = Reason.INVALID_UTF8
"""The dead-letter reason of a record whose id, text, title, subject or link holds a lone surrogate: its
text has no UTF-8 form."""


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
    bad = _lone_surrogate_field(doc)
    if bad:
        detail = f"{bad} holds a lone surrogate (a \\ud800-\\udfff escape), text no UTF-8 writer accepts"
        return make_dead_letter(STAGE, file, LONE_SURROGATE, f"{detail}: {_excerpt(obj)}", line=line)
    if not doc.text.strip():
        return make_dead_letter(STAGE, file, Reason.EMPTY_TEXT, _excerpt(obj), line=line)
    return doc


def _lone_surrogate_field(doc: Document) -> str:
    """The first field of ``doc`` holding a lone surrogate (``"id"``, ``"text"``, ...), or ``""``."""
    for name in ("id", "text", "title", "subject"):
        if has_lone_surrogate(getattr(doc, name)):
            return name
    return "links" if any(has_lone_surrogate(link.entity) for link in doc.links) else ""


def _excerpt(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, default=str)[:2048]
    # Lone surrogates (from "\ud800" escapes) cannot be written as UTF-8: keep them as escapes.
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")
