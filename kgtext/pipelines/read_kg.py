# mypy: disable-error-code="no-untyped-call"
# (Beam's transforms are unannotated; the project's strict kg.* override makes mypy flag every call to them.)
"""Beam root transform: KG file patterns -> PCollections of triples, lexicon entries, dead letters and counts.

Uncompressed line-oriented files (N-Triples, N-Quads, TSV) are cut into byte ranges that workers parse
independently (a range owns the lines that start inside it); compressed files and rdflib-only syntaxes are
read whole, one file per element. Parsing is :func:`kgtext.kg.readers.read_kg_items`; every step emits one
output type and ``beam.Filter`` splits the union (no tagged outputs, side inputs or metrics).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO, NamedTuple

import apache_beam as beam
from apache_beam.coders import RowCoder
from apache_beam.coders.typecoders import registry
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import PBegin, PCollection

from kgtext.common.dead_letters import DeadLetter
from kgtext.corpus.stats import StatFamily, StatKey
from kgtext.kg.config import KgConfig
from kgtext.kg.lexicon import resolve_names
from kgtext.kg.readers import LINE_FORMATS, Compression, KgItem, compression_of, kg_format_of, read_kg_items
from kgtext.kg.records import LexiconEntry, LinesRead, Names, Triple
from kgtext.pipelines.progress import log_progress

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024
"""Byte-range size for splitting uncompressed line files across workers."""

for _record in (Triple, LexiconEntry, DeadLetter, Names):
    registry.register_coder(_record, RowCoder)


class FileRange(NamedTuple):
    """Lines of ``path`` that start in ``[start, end)``; ``end == -1`` means the whole file."""

    path: str
    start: int
    end: int


class KgCollections(NamedTuple):
    """What :class:`ReadKnowledgeGraph` produces."""

    triples: PCollection[Triple]
    lexicon: PCollection[LexiconEntry]
    dead_letters: PCollection[DeadLetter]
    stats: PCollection[tuple[str, int]]
    """``(counter, n)`` pairs (``kg.lines_read``, ``kg.triples``, ``kg.lexicon_entries``,
    ``kg.rejected.<reason>``) for the pipeline to sum with CombinePerKey."""


def plan_ranges(path: str, size: int, chunk_bytes: int) -> list[FileRange]:
    """Byte ranges of one file: several for a big uncompressed line file, else the whole file."""
    splittable = kg_format_of(path) in LINE_FORMATS and compression_of(path) is Compression.NONE
    if not splittable or size <= chunk_bytes:
        return [FileRange(path, 0, -1)]
    return [FileRange(path, start, min(start + chunk_bytes, size)) for start in range(0, size, chunk_bytes)]


def expand_patterns(patterns: Sequence[str], chunk_bytes: int) -> list[FileRange]:
    """Match the patterns (any Beam file system) and plan the ranges; ValueError for no match or unknown format."""
    ranges: list[FileRange] = []
    for result in FileSystems.match(list(patterns)):
        if not result.metadata_list:
            raise ValueError(f"KG pattern {result.pattern!r} matches no file")
        for meta in sorted(result.metadata_list, key=lambda m: m.path):
            ranges += plan_ranges(meta.path, meta.size_in_bytes, chunk_bytes)
    return ranges


def open_raw(path: str) -> BinaryIO:
    """Raw bytes through Beam's file systems (decompression stays in kg.readers)."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)  # type: ignore[no-any-return,unused-ignore]


def read_range(file_range: FileRange, config: KgConfig) -> Iterator[KgItem]:
    if file_range.end < 0:
        return read_kg_items(file_range.path, config, opener=open_raw)
    return read_kg_items(file_range.path, config, opener=open_raw, start=file_range.start, end=file_range.end)


def stat_counts(item: KgItem) -> Iterator[tuple[str, int]]:
    """One record -> its counter increments."""
    if isinstance(item, LinesRead):
        yield StatKey.KG_LINES_READ.value, item.lines
        if item.lost:
            yield StatKey.KG_LINES_LOST.value, item.lost
    elif isinstance(item, Triple):
        yield StatKey.KG_TRIPLES.value, 1
    elif isinstance(item, LexiconEntry):
        yield StatKey.KG_LEXICON_ENTRIES.value, 1
    else:
        yield StatFamily.KG_REJECTED.key(item.reason), 1


def read_range_with_progress(file_range: FileRange, config: KgConfig, total: int) -> Iterator[KgItem]:
    """:func:`read_range`, then one progress count (``read KG: 3 of 20 byte ranges (15%) ..., ETA``)."""
    yield from read_range(file_range, config)
    log_progress(file_range, "read KG", total, every=1, unit="byte ranges")


class ReadKnowledgeGraph(beam.PTransform):  # type: ignore[type-arg]
    """Pipeline root: ``pipeline | ReadKnowledgeGraph(["kg/*.nt.gz"], KgConfig())`` -> :class:`KgCollections`."""

    def __init__(
        self, patterns: Sequence[str], config: KgConfig, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> None:
        super().__init__()
        if not patterns:
            raise ValueError("patterns must name at least one KG file or glob")
        if chunk_bytes <= 0:
            raise ValueError(f"chunk_bytes must be > 0, got {chunk_bytes}")
        self.patterns = list(patterns)
        self.config = config
        self.chunk_bytes = chunk_bytes

    def expand(self, pbegin: PBegin) -> KgCollections:
        ranges = expand_patterns(self.patterns, self.chunk_bytes)
        logger.info("reading %d KG byte ranges from %d pattern(s)", len(ranges), len(self.patterns))
        items = (
            pbegin
            | "CreateRanges" >> beam.Create(ranges)
            | "SpreadRanges" >> beam.Reshuffle()
            | "ParseRanges" >> beam.FlatMap(read_range_with_progress, self.config, len(ranges))
        )
        return KgCollections(
            triples=items | "KeepTriples" >> beam.Filter(isinstance, Triple).with_output_types(Triple),
            lexicon=items
            | "KeepLexicon" >> beam.Filter(isinstance, LexiconEntry).with_output_types(LexiconEntry),
            dead_letters=items
            | "KeepDeadLetters" >> beam.Filter(isinstance, DeadLetter).with_output_types(DeadLetter),
            stats=items
            | "CountRecords" >> beam.FlatMap(stat_counts).with_output_types(tuple[str, int])
            | "SumKgCounts" >> beam.CombinePerKey(sum),
        )


def key_by_iri(entry: LexiconEntry) -> tuple[str, LexiconEntry]:
    return entry.iri, entry


def _resolve_group(group: tuple[str, Iterable[LexiconEntry]], languages: tuple[str, ...]) -> Names:
    iri, entries = group
    return resolve_names(iri, entries, languages)


class ResolveNames(beam.PTransform):  # type: ignore[type-arg]
    """PCollection[LexiconEntry] -> PCollection[Names]: group by IRI, then apply the language preference."""

    def __init__(self, languages: Sequence[str]) -> None:
        super().__init__()
        self.languages = tuple(languages)

    def expand(self, entries: PCollection[LexiconEntry]) -> PCollection[Names]:
        names: PCollection[Names] = (
            entries
            | "KeyByIri" >> beam.Map(key_by_iri).with_output_types(tuple[str, LexiconEntry])
            | "GroupByIri" >> beam.GroupByKey()
            | "Resolve" >> beam.Map(_resolve_group, self.languages).with_output_types(Names)
        )
        return names
