# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""The two Beam pipelines of ``build-corpus``.

Phase 0: the KG -> its look-up files (each entity's triples and names; with plain-text linking, the
surface-form index), the KG's dead letters and statistics.
Phase 1: documents -> clean, de-duplicate, look up in the KG index, align -> ``aligned/`` shards,
intermediate parts (aligned documents for phase 2), the tokenizer sample, dead letters and statistics.
Phase 2 (after the tokenizer is trained on the sample): intermediate parts -> the five task datasets'
shards and their statistics. Each phase ends in one :class:`~pipelines.writers.Finish` step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import apache_beam as beam

from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.documents import DEFAULT_FIELDS, DEFAULT_MAX_DOC_BYTES, FieldMap
from kgtext.aligners.records import Document
from kgtext.common.dead_letters import DeadLetter
from kgtext.corpus.schemas import ALIGNED, NAMES
from kgtext.corpus.tasks.config import TasksConfig
from kgtext.kg.config import KgConfig
from kgtext.pipelines.align import Align
from kgtext.pipelines.config import LexiconLinking
from kgtext.pipelines.documents import (
    CleanAndDeduplicate,
    ReadDocuments,
    ResolveDuplicateIds,
    is_dead_letter,
    is_document,
    length_stats,
    read_stats,
    screen_length,
)
from kgtext.pipelines.kg_index import BuildKgIndex, GatherFn, IndexFiles, Lexicon
from kgtext.pipelines.lexicon import (
    INDEX_SHARDS,
    MAX_UNSPACED_CHARS,
    MAX_WORDS,
    BuildLexiconIndex,
    index_file,
)
from kgtext.pipelines.names import NameRows
from kgtext.pipelines.read_kg import ReadKnowledgeGraph, ResolveNames
from kgtext.pipelines.report import check_input_files
from kgtext.pipelines.tasks import TASKS, BuildTasks, read_part
from kgtext.pipelines.writers import (
    Finish,
    SampleSentences,
    WriteDeadLetters,
    WriteParts,
    WriteShards,
    WriteStats,
    aligned_rows,
    dead_letter_stats,
    join_path,
)

KG_INDEX_DIR, LEXICON_DIR = "kg_index", "lexicon"
"""The folders of phase 0's look-up files (in a build's ``_work`` area or a ``kgtext index-kg`` folder)."""


class BuildPaths(NamedTuple):
    """Where a build writes: the temporary corpus directory and its ``_work`` area."""

    root: str
    """The temporary corpus directory (moved onto ``--out`` at the end)."""
    index_root: str = ""
    """Where the KG's look-up files are (``kg_index/``, ``lexicon/``): a ``kgtext index-kg`` folder, or ""
    for the build's own ``_work`` area (phase 0 writes them there)."""

    @property
    def work(self) -> str:
        return join_path(self.root, "_work")

    @property
    def parts(self) -> str:
        return join_path(self.work, "aligned_docs")

    @property
    def shard_info(self) -> str:
        return join_path(self.work, "shards")

    @property
    def runs(self) -> str:
        """Sorted run files of shard rows, merged into the shards (:class:`kgtext.pipelines.writers.WriteShards`)."""
        return join_path(self.work, "runs")

    @property
    def lexicon(self) -> str:
        return join_path(self.index_root or self.work, LEXICON_DIR)

    def kg_index(self, shards: int) -> IndexFiles:
        return IndexFiles(join_path(self.index_root or self.work, KG_INDEX_DIR), shards)

    @property
    def sample(self) -> str:
        return join_path(self.work, "tokenizer_sample.jsonl")

    def stats(self, phase: int) -> str:
        return join_path(self.work, f"stats-phase{phase}.json")


@dataclass(frozen=True, kw_only=True)
class PhaseZero:
    """What phase 0 reads and how: the KG files -> the look-up files under ``paths``."""

    paths: BuildPaths
    kg_files: Sequence[str]
    rejected: Sequence[DeadLetter]
    """Dead letters found before the pipeline (KG files with an unknown extension)."""
    index_shards: int
    """Shards of the facts and names index (:func:`kgtext.aligners.kg_index.shard_count`)."""
    kg: KgConfig
    aligner: AlignerConfig
    """Its language and ``min_name_chars`` shape the surface-form index."""
    linking: LexiconLinking


@dataclass(frozen=True, kw_only=True)
class PhaseOne:
    """What phase 1 reads and how: the documents, aligned against phase 0's look-up files."""

    paths: BuildPaths
    doc_files: Sequence[str]
    rejected: Sequence[DeadLetter]
    """Dead letters found before the pipeline (document files with an unknown extension)."""
    index_shards: int
    kg: KgConfig
    """Its ``max_line_bytes`` bounds a line of a document file too."""
    aligner: AlignerConfig
    num_shards: int
    valid_fraction: float
    sample_sentences: int
    """Sentences sampled for the tokenizer (0: a given tokenizer is reused, nothing is sampled)."""
    linking: LexiconLinking = LexiconLinking.OFF
    fields: FieldMap = DEFAULT_FIELDS
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES


@dataclass(frozen=True, kw_only=True)
class PhaseTwo:
    """What phase 2 reads and how: phase 1's parts -> the five task datasets."""

    paths: BuildPaths
    part_files: Sequence[str]
    tokenizer_path: str
    tasks: TasksConfig
    num_buckets: int
    num_shards: int
    valid_fraction: float
    total_documents: int = 0
    """Phase 1's kept documents, for the progress ETA."""


def build_phase_zero(p: beam.Pipeline, phase: PhaseZero) -> None:
    """Wire phase 0 onto pipeline ``p``: the KG -> its index files (+ the surface-form index with ``lexicon``).

    A KG input that is not a regular file (FIFO, device) or has a name that is not UTF-8 is refused
    here, before anything reads it."""
    paths = phase.paths
    check_input_files(phase.kg_files, "kg")
    kg = p | "ReadKG" >> ReadKnowledgeGraph(list(phase.kg_files), phase.kg)
    names = kg.lexicon | "ResolveNames" >> ResolveNames(phase.kg.languages)
    written = kg.triples | "BuildKgIndex" >> BuildKgIndex(names, paths.kg_index(phase.index_shards))
    letters = (
        kg.dead_letters,
        p | "EarlyDeadLetters" >> beam.Create(list(phase.rejected)),
    ) | "AllDeadLetters" >> beam.Flatten()
    stats = [kg.stats, letters | "DeadLetterStats" >> beam.FlatMap(dead_letter_stats)]
    if phase.linking is not LexiconLinking.OFF:
        stats.append(
            names
            | "BuildLexiconIndex"
            >> BuildLexiconIndex(
                kg.triples,
                paths.lexicon,
                phase.aligner.min_name_chars,
                phase.aligner.language,
                iri_shards=phase.index_shards,
            )
        )
    outputs = [
        written,
        letters | "WriteDeadLetters" >> WriteDeadLetters(paths.root),
        tuple(stats) | "AllStats" >> beam.Flatten() | "WriteStats" >> WriteStats(paths.stats(0)),
    ]
    _ = p | "Finish" >> Finish(outputs, "phase 0")


def build_phase_one(p: beam.Pipeline, phase: PhaseOne) -> None:
    """Wire phase 1 onto pipeline ``p`` (with ``lexicon``, plain-text candidates from phase 0's index).

    A document input that is not a regular file (FIFO, device) or has a name that is not UTF-8 is
    refused here, before anything reads it."""
    paths, aligner_config, lexicon = phase.paths, phase.aligner, phase.linking
    num_shards, valid_fraction = phase.num_shards, phase.valid_fraction
    check_input_files(phase.doc_files, "docs")
    items = p | "ReadDocuments" >> ReadDocuments(
        phase.doc_files, phase.kg.max_line_bytes, phase.fields, phase.max_doc_bytes
    )
    # Documents the cleaner would drop as too long leave here, before the duplicate-id grouping holds them.
    screened = (
        items
        | "KeepDocuments" >> beam.Filter(is_document).with_output_types(Document)
        | "ScreenLength" >> beam.Map(screen_length, aligner_config.max_document_chars)
    )
    docs, id_letters, id_stats = (
        screened
        | "KeepShortEnough" >> beam.Filter(is_document).with_output_types(Document)
        | "ResolveDuplicateIds" >> ResolveDuplicateIds(phase.doc_files)
    )
    cleaned, doc_stats = docs | "CleanAndDeduplicate" >> CleanAndDeduplicate(aligner_config)
    linking = None
    if lexicon is not LexiconLinking.OFF:
        linking = Lexicon(
            paths=[index_file(paths.lexicon, i, INDEX_SHARDS) for i in range(INDEX_SHARDS)],
            language=aligner_config.language,
            max_words=MAX_WORDS,
            max_unspaced_chars=MAX_UNSPACED_CHARS,
            max_candidates=aligner_config.max_candidates,
            linked_too=lexicon is LexiconLinking.ALL,
            max_candidates_per_name=aligner_config.max_candidates_per_name,
        )
    joined = cleaned | "LookUpKg" >> beam.ParDo(GatherFn(paths.kg_index(phase.index_shards), linking))
    records, align_stats = joined | "Align" >> Align(aligner_config)
    letters = (
        items | "KeepDocDeadLetters" >> beam.Filter(is_dead_letter).with_output_types(DeadLetter),
        id_letters,
        p | "EarlyDeadLetters" >> beam.Create(list(phase.rejected)),
    ) | "AllDeadLetters" >> beam.Flatten()
    stats = (
        items | "ReadStats" >> beam.FlatMap(read_stats),
        screened | "LengthStats" >> beam.FlatMap(length_stats),
        id_stats,
        doc_stats,
        align_stats,
        letters | "DeadLetterStats" >> beam.FlatMap(dead_letter_stats),
    ) | "AllStats" >> beam.Flatten()
    rows = (
        records | "AlignedRows" >> beam.FlatMap(aligned_rows, num_shards, valid_fraction),
        records | "NameRows" >> NameRows(num_shards, valid_fraction),
    ) | "AllPhaseOneRows" >> beam.Flatten()
    outputs = [
        rows
        | "WriteAligned"
        >> WriteShards([ALIGNED, NAMES], num_shards, paths.root, paths.shard_info, paths.runs),
        records | "WriteParts" >> WriteParts(paths.parts),
        letters | "WriteDeadLetters" >> WriteDeadLetters(paths.root),
        stats | "WriteStats" >> WriteStats(paths.stats(1)),
    ]
    if phase.sample_sentences:  # 0: a given tokenizer is reused, nothing trains on a sample
        outputs.append(records | "SampleSentences" >> SampleSentences(paths.sample, phase.sample_sentences))
    _ = p | "Finish" >> Finish(outputs, "phase 1")


def build_phase_two(p: beam.Pipeline, phase: PhaseTwo) -> None:
    """Wire phase 2 onto pipeline ``p``."""
    records = (
        p
        | "CreateParts" >> beam.Create(list(phase.part_files))
        | "SpreadParts" >> beam.Reshuffle()
        | "ReadParts" >> beam.FlatMap(read_part)
    )
    paths = phase.paths
    rows, stats = records | "BuildTasks" >> BuildTasks(
        tokenizer_path=phase.tokenizer_path,
        config=phase.tasks,
        num_buckets=phase.num_buckets,
        num_shards=phase.num_shards,
        valid_fraction=phase.valid_fraction,
        total_documents=phase.total_documents,
    )
    outputs = [
        rows | "WriteTasks" >> WriteShards(TASKS, phase.num_shards, paths.root, paths.shard_info, paths.runs),
        stats | "WriteStats" >> WriteStats(paths.stats(2)),
    ]
    _ = p | "Finish" >> Finish(outputs, "phase 2")
