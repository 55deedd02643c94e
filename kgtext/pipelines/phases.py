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


class BuildPaths(NamedTuple):
    """Where a build writes: the temporary corpus directory and its ``_work`` area."""

    root: str
    """The temporary corpus directory (moved onto ``--out`` at the end)."""

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
        return join_path(self.work, "lexicon")

    def kg_index(self, shards: int) -> IndexFiles:
        return IndexFiles(join_path(self.work, "kg_index"), shards)

    @property
    def sample(self) -> str:
        return join_path(self.work, "tokenizer_sample.jsonl")

    def stats(self, phase: int) -> str:
        return join_path(self.work, f"stats-phase{phase}.json")


class KgInputs(NamedTuple):
    files: Sequence[str]
    rejected: Sequence[DeadLetter]
    """Dead letters found before the pipeline (KG files with an unknown extension)."""
    index_shards: int
    """Shards of the facts and names index (:func:`kgtext.aligners.kg_index.shard_count`)."""


class PhaseOneInputs(NamedTuple):
    doc_files: Sequence[str]
    rejected: Sequence[DeadLetter]
    """Dead letters found before the pipeline (document files with an unknown extension)."""
    index_shards: int


def build_phase_zero(
    p: beam.Pipeline,
    kg_inputs: KgInputs,
    paths: BuildPaths,
    *,
    kg_config: KgConfig,
    min_chars: int,
    language: str,
    lexicon: LexiconLinking,
) -> None:
    """Wire phase 0 onto pipeline ``p``: the KG -> its index files (+ the surface-form index with ``lexicon``).

    A KG input that is not a regular file (FIFO, device) or has a name that is not UTF-8 is refused
    here, before anything reads it."""
    check_input_files(kg_inputs.files, "kg")
    kg = p | "ReadKG" >> ReadKnowledgeGraph(list(kg_inputs.files), kg_config)
    names = kg.lexicon | "ResolveNames" >> ResolveNames(kg_config.languages)
    written = kg.triples | "BuildKgIndex" >> BuildKgIndex(names, paths.kg_index(kg_inputs.index_shards))
    letters = (
        kg.dead_letters,
        p | "EarlyDeadLetters" >> beam.Create(list(kg_inputs.rejected)),
    ) | "AllDeadLetters" >> beam.Flatten()
    stats = [kg.stats, letters | "DeadLetterStats" >> beam.FlatMap(dead_letter_stats)]
    if lexicon is not LexiconLinking.OFF:
        stats.append(
            names
            | "BuildLexiconIndex"
            >> BuildLexiconIndex(
                kg.triples, paths.lexicon, min_chars, language, iri_shards=kg_inputs.index_shards
            )
        )
    outputs = [
        written,
        letters | "WriteDeadLetters" >> WriteDeadLetters(paths.root),
        tuple(stats) | "AllStats" >> beam.Flatten() | "WriteStats" >> WriteStats(paths.stats(0)),
    ]
    _ = p | "Finish" >> Finish(outputs, "phase 0")


def build_phase_one(
    p: beam.Pipeline,
    inputs: PhaseOneInputs,
    paths: BuildPaths,
    *,
    kg_config: KgConfig,
    aligner_config: AlignerConfig,
    num_shards: int,
    valid_fraction: float,
    sample_sentences: int,
    lexicon: LexiconLinking = LexiconLinking.OFF,
    fields: FieldMap = DEFAULT_FIELDS,
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES,
) -> None:
    """Wire phase 1 onto pipeline ``p`` (with ``lexicon``, plain-text candidates from phase 0's index).

    A document input that is not a regular file (FIFO, device) or has a name that is not UTF-8 is
    refused here, before anything reads it."""
    check_input_files(inputs.doc_files, "docs")
    items = p | "ReadDocuments" >> ReadDocuments(
        inputs.doc_files, kg_config.max_line_bytes, fields, max_doc_bytes
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
        | "ResolveDuplicateIds" >> ResolveDuplicateIds(inputs.doc_files)
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
        )
    joined = cleaned | "LookUpKg" >> beam.ParDo(GatherFn(paths.kg_index(inputs.index_shards), linking))
    records, align_stats = joined | "Align" >> Align(aligner_config)
    letters = (
        items | "KeepDocDeadLetters" >> beam.Filter(is_dead_letter).with_output_types(DeadLetter),
        id_letters,
        p | "EarlyDeadLetters" >> beam.Create(list(inputs.rejected)),
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
    if sample_sentences:  # 0: a given tokenizer is reused, nothing trains on a sample
        outputs.append(records | "SampleSentences" >> SampleSentences(paths.sample, sample_sentences))
    _ = p | "Finish" >> Finish(outputs, "phase 1")


def build_phase_two(
    p: beam.Pipeline,
    part_files: Sequence[str],
    paths: BuildPaths,
    *,
    tokenizer_path: str,
    tasks_config: TasksConfig,
    num_buckets: int,
    num_shards: int,
    valid_fraction: float,
    total_documents: int = 0,
) -> None:
    """Wire phase 2 onto pipeline ``p`` (``total_documents``, phase 1's kept count, for the progress ETA)."""
    records = (
        p
        | "CreateParts" >> beam.Create(list(part_files))
        | "SpreadParts" >> beam.Reshuffle()
        | "ReadParts" >> beam.FlatMap(read_part)
    )
    rows, stats = records | "BuildTasks" >> BuildTasks(
        tokenizer_path=tokenizer_path,
        config=tasks_config,
        num_buckets=num_buckets,
        num_shards=num_shards,
        valid_fraction=valid_fraction,
        total_documents=total_documents,
    )
    outputs = [
        rows | "WriteTasks" >> WriteShards(TASKS, num_shards, paths.root, paths.shard_info, paths.runs),
        stats | "WriteStats" >> WriteStats(paths.stats(2)),
    ]
    _ = p | "Finish" >> Finish(outputs, "phase 2")
