# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Beam stages for documents: read files -> Document | DeadLetter, clean, and drop duplicates.

Every step emits one record type (a union where a step can reject input) and ``beam.Filter`` splits it;
counts are computed as data (``Stat`` pairs) and summed later with CombinePerKey.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from aligners.clean import clean_document, cleaning_stats, dedup_key
from aligners.config import AlignerConfig
from aligners.dedup import IdResolution, resolve_duplicate_ids
from aligners.documents import (
    DEFAULT_FIELDS,
    STAGE,
    DocFormat,
    FieldMap,
    document_format_of,
    parse_jsonl_stream,
    read_documents,
)
from aligners.language import language_for
from aligners.records import CleanedDocument, Document, DropReason
from corpus.lines import DEFAULT_MAX_LINE_BYTES
from corpus.records import DeadLetter, Reason, make_dead_letter
from pipelines.files import read_bytes
from pipelines.records import Stat

logger = logging.getLogger(__name__)


def _read_jsonl(
    path: str, fmt: DocFormat, max_line_bytes: int, fields: FieldMap
) -> Iterator[Document | DeadLetter]:
    """Lines of a JSONL file, streamed through FileSystems (bounded memory, see ``parse_jsonl_stream``)."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        yield from parse_jsonl_stream(raw, file=path, fmt=fmt, max_line_bytes=max_line_bytes, fields=fields)


def _read_via_local_copy(path: str, fields: FieldMap) -> Iterator[Document | DeadLetter]:
    """Whole-file formats: aligners' reader needs a local file, so remote files are copied first."""
    if "://" not in path:
        yield from read_documents(path, fields=fields)
        return
    with tempfile.TemporaryDirectory(prefix="kgtext-doc-") as tmp:
        local = os.path.join(tmp, os.path.basename(path))
        with open(local, "wb") as handle:
            handle.write(read_bytes(path))
        for item in read_documents(local, fields=fields):
            yield item._replace(file=path)


def read_document_file(
    path: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, fields: FieldMap = DEFAULT_FIELDS
) -> Iterator[Document | DeadLetter]:
    """Every document (or dead letter) of one file; an unknown extension is one dead letter."""
    try:
        fmt = document_format_of(path)
    except ValueError as err:
        yield make_dead_letter(STAGE, path, Reason.UNKNOWN_EXTENSION, str(err))
        return
    try:
        if fmt in (DocFormat.JSONL, DocFormat.JSONL_GZ):
            yield from _read_jsonl(path, fmt, max_line_bytes, fields)
        else:
            yield from _read_via_local_copy(path, fields)
    except OSError as err:
        yield make_dead_letter(STAGE, path, Reason.READ_ERROR, str(err))


def read_stats(item: Document | DeadLetter) -> Iterator[Stat]:
    """``documents.read`` for a document, ``documents.rejected.<reason>`` for a dead letter."""
    if isinstance(item, DeadLetter):
        yield f"documents.rejected.{item.reason}", 1
    else:
        yield "documents.read", 1
        yield "documents.with_links", int(bool(item.links))
        yield "documents.with_subject", int(bool(item.subject))
        for reason in item.link_drops:
            yield f"links.dropped.{reason.value}", 1


def clean(doc: Document, config: AlignerConfig) -> CleanedDocument | DropReason:
    return clean_document(doc, config)


def clean_stats(result: CleanedDocument | DropReason) -> Iterator[Stat]:
    for name, value in sorted(cleaning_stats(result).items()):
        if name.startswith("dropped."):
            name = "links." + name if name.startswith("dropped.link") else "paragraphs." + name
        yield name, value


def key_for_dedup(doc: CleanedDocument, config: AlignerConfig) -> tuple[str, CleanedDocument]:
    return dedup_key(doc, language=language_for(config.language), n_sentences=config.dedup_sentences), doc


def keep_smallest_id(group: tuple[str, Iterable[CleanedDocument]]) -> tuple[CleanedDocument, int]:
    """The document with the smallest id among documents sharing a de-duplication key, and the drop count."""
    docs = sorted(group[1], key=lambda d: d.id)
    return docs[0], len(docs) - 1


def dedup_stats(kept: tuple[CleanedDocument, int]) -> Iterator[Stat]:
    yield "documents.kept", 1
    if kept[1]:
        yield f"documents.dropped.{DropReason.DUPLICATE_DOCUMENT.value}", kept[1]


def key_by_id(doc: Document) -> tuple[str, Document]:
    return doc.id, doc


def resolve_ids(group: tuple[str, Iterable[Document]], file_rank: dict[str, int]) -> IdResolution:
    return resolve_duplicate_ids(group[1], file_rank)


def kept_document(resolution: IdResolution) -> Document:
    return resolution.kept


def conflict_letters(resolution: IdResolution) -> Iterator[DeadLetter]:
    yield from resolution.conflicts


def id_stats(resolution: IdResolution) -> Iterator[Stat]:
    """Same id: identical copies count as ``duplicate_document``, conflicting ones as ``duplicate_id``."""
    if resolution.identical:
        yield f"documents.dropped.{DropReason.DUPLICATE_DOCUMENT.value}", resolution.identical
    if resolution.conflicts:
        yield f"documents.dropped.{DropReason.DUPLICATE_ID.value}", len(resolution.conflicts)


class ResolveDuplicateIds(beam.PTransform[Any, Any]):
    """``Document`` -> one document per id (the first in input order); returns ``(documents, dead letters,
    stats)``: records with a taken id and other content are ``duplicate_id`` dead letters."""

    def __init__(self, files: Sequence[str]) -> None:
        super().__init__()
        self.file_rank = {path: rank for rank, path in enumerate(files)}

    def expand(self, docs: Any) -> tuple[Any, Any, Any]:
        resolved = (
            docs
            | "KeyById" >> beam.Map(key_by_id)
            | "GroupById" >> beam.GroupByKey()
            | "ResolveIds" >> beam.Map(resolve_ids, self.file_rank)
        )
        return (
            resolved | "KeptDocuments" >> beam.Map(kept_document),
            resolved | "ConflictLetters" >> beam.FlatMap(conflict_letters),
            resolved | "IdStats" >> beam.FlatMap(id_stats),
        )


class ReadDocuments(beam.PTransform[Any, Any]):
    """Pipeline root: document files -> ``Document | DeadLetter`` (one file per element, spread across workers)."""

    def __init__(
        self,
        files: Sequence[str],
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        fields: FieldMap = DEFAULT_FIELDS,
    ) -> None:
        super().__init__()
        self.files = list(files)
        self.max_line_bytes = max_line_bytes
        self.fields = fields

    def expand(self, pbegin: beam.pvalue.PBegin) -> Any:
        return (
            pbegin
            | "CreateFiles" >> beam.Create(self.files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles" >> beam.FlatMap(read_document_file, self.max_line_bytes, self.fields)
        )


class CleanAndDeduplicate(beam.PTransform[Any, Any]):
    """``Document`` -> cleaned, de-duplicated ``CleanedDocument`` (smallest id kept); stats as a second output.

    Returns ``(documents, stats)``.
    """

    def __init__(self, config: AlignerConfig) -> None:
        super().__init__()
        self.config = config

    def expand(self, docs: Any) -> tuple[Any, Any]:
        cleaned = docs | "Clean" >> beam.Map(clean, self.config)
        kept = (
            cleaned
            | "KeepCleaned" >> beam.Filter(isinstance, CleanedDocument).with_output_types(CleanedDocument)
            | "KeyByDedupKey" >> beam.Map(key_for_dedup, self.config)
            | "GroupByDedupKey" >> beam.GroupByKey()
            | "KeepSmallestId" >> beam.Map(keep_smallest_id)
        )
        documents = kept | "DropDuplicateCount" >> beam.Map(_first)
        stats = (
            cleaned | "CleanStats" >> beam.FlatMap(clean_stats),
            kept | "DedupStats" >> beam.FlatMap(dedup_stats),
        ) | "FlattenDocStats" >> beam.Flatten()
        return documents, stats


def _first(pair: tuple[CleanedDocument, int]) -> CleanedDocument:
    return pair[0]


def is_dead_letter(item: object) -> bool:
    return isinstance(item, DeadLetter)


def is_document(item: object) -> bool:
    return isinstance(item, Document)
