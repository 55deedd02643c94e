# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Beam stages for documents: read files -> Document | DeadLetter, clean, and drop duplicates.

Every step emits one record type (a union where a step can reject input) and ``beam.Filter`` splits it;
counts are computed as data (``Stat`` pairs) and summed later with CombinePerKey.

Memory: files are streamed (local files by :func:`kgtext.aligners.documents.read_documents`, which refuses what
is not a regular file; remote ones through FileSystems, copied in chunks where a format needs a local
file), a record above ``max_doc_bytes`` is a ``too_large`` dead letter, and a document longer than
``AlignerConfig.max_document_chars`` is dropped (``too_long``) right after reading, in the same fused step,
before any shuffle would hold it (:func:`screen_length`).
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

from kgtext.aligners.clean import clean_document, cleaning_stats, dedup_key
from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.dedup import IdResolution, resolve_duplicate_ids
from kgtext.aligners.documents import (
    DEFAULT_FIELDS,
    DEFAULT_MAX_DOC_BYTES,
    STAGE,
    DocFormat,
    FieldMap,
    document_format_of,
    parse_jsonl_stream,
    read_documents,
)
from kgtext.aligners.language import language_for
from kgtext.aligners.records import CleanedDocument, Document, DropReason
from kgtext.common.dead_letters import DeadLetter, Reason, make_dead_letter
from kgtext.common.lines import DEFAULT_MAX_LINE_BYTES
from kgtext.corpus.stats import StatFamily, StatKey
from kgtext.pipelines.records import Stat

logger = logging.getLogger(__name__)


COPY_CHUNK_BYTES = 1 << 20


def _read_remote(
    path: str, fmt: DocFormat, max_line_bytes: int, fields: FieldMap, max_doc_bytes: int
) -> Iterator[Document | DeadLetter]:
    """A remote file: JSONL streamed through FileSystems; whole-file formats (aligners' readers need a
    local file) copied to a temporary file in chunks first."""
    if fmt in (DocFormat.JSONL, DocFormat.JSONL_GZ):
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            yield from parse_jsonl_stream(
                raw,
                file=path,
                fmt=fmt,
                max_line_bytes=max_line_bytes,
                fields=fields,
                max_doc_bytes=max_doc_bytes,
            )
        return
    with tempfile.TemporaryDirectory(prefix="kgtext-doc-") as tmp:
        local = os.path.join(tmp, os.path.basename(path))
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as src:
            with open(local, "wb") as dst:
                while chunk := src.read(COPY_CHUNK_BYTES):
                    dst.write(chunk)
        local_items = read_documents(
            local, max_line_bytes=max_line_bytes, fields=fields, max_doc_bytes=max_doc_bytes
        )
        for item in local_items:
            yield item._replace(file=path)


def read_document_file(
    path: str,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    fields: FieldMap = DEFAULT_FIELDS,
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES,
) -> Iterator[Document | DeadLetter]:
    """Every document (or dead letter) of one file, in bounded memory; an unknown extension, a path that is
    not a regular file (FIFO, device, directory) or an unreadable file is one dead letter."""
    try:
        fmt = document_format_of(path)
    except ValueError as err:
        yield make_dead_letter(STAGE, path, Reason.UNKNOWN_EXTENSION, str(err))
        return
    if "://" not in path:
        yield from read_documents(
            path, max_line_bytes=max_line_bytes, fields=fields, max_doc_bytes=max_doc_bytes
        )
        return
    try:
        yield from _read_remote(path, fmt, max_line_bytes, fields, max_doc_bytes)
    except OSError as err:
        yield make_dead_letter(STAGE, path, Reason.READ_ERROR, str(err))


def screen_length(doc: Document, max_chars: int) -> Document | DropReason:
    """``too_long`` for a document the cleaner would drop anyway (``AlignerConfig.max_document_chars``):
    dropped as soon as it is read, so no shuffle (the duplicate-id grouping) ever holds it."""
    return DropReason.TOO_LONG if len(doc.text) > max_chars else doc


def length_stats(item: Document | DropReason) -> Iterator[Stat]:
    if isinstance(item, DropReason):
        yield StatFamily.DOCUMENTS_DROPPED.key(item.value), 1


def read_stats(item: Document | DeadLetter) -> Iterator[Stat]:
    """``documents.read`` for a document, ``documents.rejected.<reason>`` for a dead letter."""
    if isinstance(item, DeadLetter):
        yield StatFamily.DOCUMENTS_REJECTED.key(item.reason), 1
    else:
        yield StatKey.DOCUMENTS_READ.value, 1
        yield StatKey.DOCUMENTS_WITH_LINKS.value, int(bool(item.links))
        yield StatKey.DOCUMENTS_WITH_SUBJECT.value, int(bool(item.subject))
        for reason in item.link_drops:
            yield StatFamily.LINKS_DROPPED.key(reason.value), 1


def clean(doc: Document, config: AlignerConfig) -> CleanedDocument | DropReason:
    return clean_document(doc, config)


def clean_stats(result: CleanedDocument | DropReason) -> Iterator[Stat]:
    yield from sorted(cleaning_stats(result).items())


def key_for_dedup(doc: CleanedDocument, config: AlignerConfig) -> tuple[str, CleanedDocument]:
    return dedup_key(doc, language=language_for(config.language), n_sentences=config.dedup_sentences), doc


def keep_smallest_id(group: tuple[str, Iterable[CleanedDocument]]) -> tuple[CleanedDocument, int]:
    """The document with the smallest id among documents sharing a de-duplication key, and the drop count."""
    docs = sorted(group[1], key=lambda d: d.id)
    return docs[0], len(docs) - 1


def dedup_stats(kept: tuple[CleanedDocument, int]) -> Iterator[Stat]:
    yield StatKey.DOCUMENTS_KEPT.value, 1
    if kept[1]:
        yield StatFamily.DOCUMENTS_DROPPED.key(DropReason.DUPLICATE_DOCUMENT.value), kept[1]


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
        yield StatFamily.DOCUMENTS_DROPPED.key(DropReason.DUPLICATE_DOCUMENT.value), resolution.identical
    if resolution.conflicts:
        yield StatFamily.DOCUMENTS_DROPPED.key(DropReason.DUPLICATE_ID.value), len(resolution.conflicts)


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
        max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES,
    ) -> None:
        super().__init__()
        self.files = list(files)
        self.max_line_bytes = max_line_bytes
        self.fields = fields
        self.max_doc_bytes = max_doc_bytes

    def expand(self, pbegin: beam.pvalue.PBegin) -> Any:
        return (
            pbegin
            | "CreateFiles" >> beam.Create(self.files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles"
            >> beam.FlatMap(read_document_file, self.max_line_bytes, self.fields, self.max_doc_bytes)
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
