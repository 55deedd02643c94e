"""Documents that share an id -> the one kept, the identical copies (counted) and the conflicting ones.

The first occurrence in input order wins: the ``--docs`` files in the order they were given (each
pattern's matches sorted), then the line in the file. A later record with the same id and the same
content (text, title, subject, links) is a content duplicate and only counted; one with different content
is a ``duplicate_id`` dead letter naming its file and line and the record it lost to. The choice depends
only on the records, never on the order a runner delivers them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from kgtext.aligners.documents import STAGE
from kgtext.aligners.records import Document
from kgtext.common.dead_letters import DeadLetter, Reason, make_dead_letter


class IdResolution(NamedTuple):
    """What one document id resolves to."""

    kept: Document
    identical: int
    """Later records with the same id and the same content (counted as ``duplicate_document``)."""
    conflicts: tuple[DeadLetter, ...]
    """Later records with the same id and other content (``duplicate_id`` dead letters, input order)."""


def _content(doc: Document) -> tuple[str, str, str, tuple[object, ...]]:
    return doc.text, doc.title, doc.subject, tuple(doc.links)


def input_position(doc: Document, file_rank: Mapping[str, int]) -> tuple[int, int, str]:
    """Where a record stands in the input: (rank of its file, line); its text breaks exact ties."""
    return file_rank.get(doc.file, len(file_rank)), doc.line, doc.text


def _where(doc: Document) -> str:
    return f"{doc.file}:{doc.line}" if doc.line > 0 else doc.file


def resolve_duplicate_ids(docs: Iterable[Document], file_rank: Mapping[str, int]) -> IdResolution:
    """Resolve the records sharing one id (at least one); ``file_rank`` maps a file to its input position."""
    ordered = sorted(docs, key=lambda d: input_position(d, file_rank))
    if not ordered:
        raise ValueError("resolve_duplicate_ids needs at least one document")
    kept, identical, conflicts = ordered[0], 0, []
    for doc in ordered[1:]:
        if _content(doc) == _content(kept):
            identical += 1
            continue
        excerpt = f"id {doc.id!r} was already read from {_where(kept)} with other text: {doc.text[:512]}"
        conflicts.append(make_dead_letter(STAGE, doc.file, Reason.DUPLICATE_ID, excerpt, line=doc.line))
    return IdResolution(kept, identical, tuple(conflicts))
