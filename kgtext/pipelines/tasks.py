# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Beam stages of phase 2: aligned documents -> sentence-distance negatives -> the five task datasets' rows.

Negatives for sentence distance come from other documents, chosen deterministically: documents are
placed in hash buckets of their id, and every document of bucket ``b`` draws its negative document
from bucket ``b + 1`` (with a generator seeded by (seed, document id)), joined by CoGroupByKey.
The task builders of :mod:`kgtext.corpus.tasks` (composed by :func:`kgtext.corpus.tasks.compose.compose_document`) run
in a DoFn that loads the tokenizer in ``setup``.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam

from kgtext.corpus.records import PICKLE_PROTOCOL
from kgtext.corpus.shard_writer import PendingRows
from kgtext.corpus.sharding import bucket_of, shard_of, split_of
from kgtext.corpus.tasks.compose import SD_SALT, Negatives, compose_document, draw_negative
from kgtext.corpus.tasks.config import TasksConfig
from kgtext.corpus.tasks.task import Task
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.pipelines.files import read_bytes
from kgtext.pipelines.progress import log_progress
from kgtext.pipelines.records import AlignedRecord, DocTasks, GroupKey, PartEntry, SdInput, Stat

logger = logging.getLogger(__name__)

TASKS = tuple(task.value for task in Task)
"""The dataset names as plain strings (what crosses the shuffles)."""


def part_entry(record: AlignedRecord) -> PartEntry:
    """An aligned document as it is stored in the intermediate parts and shuffled in phase 2."""
    texts = tuple(s.text for s in record.doc.sentences if s.text.strip())
    return record.doc.doc_id, pickle.dumps(record, protocol=PICKLE_PROTOCOL), texts


def read_part(path: str) -> Iterator[PartEntry]:
    """The aligned documents of one intermediate part written by phase 1 (still pickled one by one)."""
    entries: list[PartEntry] = pickle.loads(read_bytes(path))
    yield from entries


def to_bucket(entry: PartEntry, num_buckets: int) -> tuple[int, tuple[str, bytes]]:
    return bucket_of(entry[0], num_buckets, SD_SALT), (entry[0], entry[1])


def to_donor(entry: PartEntry, num_buckets: int) -> tuple[int, tuple[str, tuple[str, ...]]]:
    """Offer a document's sentences to the bucket before its own (so bucket b draws from b + 1)."""
    bucket = bucket_of(entry[0], num_buckets, SD_SALT)
    return (bucket - 1) % num_buckets, (entry[0], entry[2])


def draw_bucket_negatives(group: tuple[int, Mapping[str, Iterable[Any]]], seed: int) -> Iterator[SdInput]:
    """:func:`draw_negatives` over a joined bucket whose documents are still pickled."""
    bucket, parts = group
    docs = [pickle.loads(blob) for _, blob in parts["docs"]]
    return draw_negatives((bucket, {"docs": docs, "donors": parts["donors"]}), seed)


def draw_negatives(group: tuple[int, Mapping[str, Iterable[Any]]], seed: int) -> Iterator[SdInput]:
    """Each document of the bucket gets the sentences of one donor document (never itself)."""
    _, parts = group
    donors = sorted(parts["donors"])
    for record in sorted(parts["docs"], key=lambda r: r.doc.doc_id):
        texts, doc_ids = draw_negative(record.doc.doc_id, donors, seed)
        yield SdInput(record, texts, doc_ids)


def build_document_tasks(item: SdInput, tok: Tokenizer, config: TasksConfig) -> DocTasks:
    """Every row of the five tasks for one document (:func:`kgtext.corpus.tasks.compose.compose_document`).

    Task names become plain strings here: the rows cross a shuffle, where an exact ``str`` is coded fast.
    """
    record = item.record
    composed = compose_document(
        record.doc, dict(record.labels), Negatives(item.negatives, item.negative_doc_ids), tok, config
    )
    rows = tuple((task.value, row) for task, row in composed.rows)
    return DocTasks(record.doc.doc_id, rows, tuple(sorted(composed.counts.items())))


class BuildTaskRows(beam.DoFn):
    """SdInput -> DocTasks, with the tokenizer loaded once per process."""

    def __init__(self, tokenizer_path: str, config: TasksConfig) -> None:
        self.tokenizer_path = tokenizer_path
        self.config = config

    def setup(self) -> None:
        self.tok = Tokenizer.from_bytes(read_bytes(self.tokenizer_path))

    def process(self, item: SdInput) -> Iterator[DocTasks]:
        yield build_document_tasks(item, self.tok, self.config)


def task_rows(
    built: DocTasks, num_shards: int, valid_fraction: float
) -> Iterator[tuple[GroupKey, PendingRows]]:
    """Route a document's rows to their shards (split and shard by document id), in shard order per dataset
    (encoded later, a batch of documents at a time, by the worker that spills them)."""
    split = split_of(built.doc_id, valid_fraction)
    shard = shard_of(built.doc_id, num_shards)
    by_task: dict[str, list[tuple[int, int, Any]]] = {}
    for seq, (task, row) in enumerate(built.rows):
        by_task.setdefault(task, []).append((row.position, seq, row))
    for task in sorted(by_task):
        ordered = [row for _, _, row in sorted(by_task[task], key=lambda r: (r[0], r[1]))]
        yield (task, split, shard), PendingRows(task, built.doc_id, ordered)


def task_stats(built: DocTasks) -> Iterator[Stat]:
    yield from built.counts


class BuildTasks(beam.PTransform[Any, Any]):
    """PCollection[PartEntry] -> (PCollection[(GroupKey, PendingRows)], PCollection[Stat])."""

    def __init__(
        self,
        *,
        tokenizer_path: str,
        config: TasksConfig,
        num_buckets: int,
        num_shards: int,
        valid_fraction: float,
        total_documents: int = 0,
    ) -> None:
        super().__init__()
        self.total_documents = total_documents
        self.tokenizer_path = tokenizer_path
        self.config = config
        self.num_buckets = num_buckets
        self.num_shards = num_shards
        self.valid_fraction = valid_fraction

    def expand(self, records: Any) -> tuple[Any, Any]:
        built = (
            {
                "docs": records | "ToBucket" >> beam.Map(to_bucket, self.num_buckets),
                "donors": records | "ToDonorBucket" >> beam.Map(to_donor, self.num_buckets),
            }
            | "JoinBuckets" >> beam.CoGroupByKey()
            | "DrawNegatives" >> beam.FlatMap(draw_bucket_negatives, self.config.seed)
            | "BuildRows" >> beam.ParDo(BuildTaskRows(self.tokenizer_path, self.config))
            | "Progress" >> beam.Map(log_progress, "tasks", self.total_documents)
        )
        rows = built | "RouteRows" >> beam.FlatMap(task_rows, self.num_shards, self.valid_fraction)
        return rows, built | "TaskStats" >> beam.FlatMap(task_stats)
