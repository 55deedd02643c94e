# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Our own sinks: Arrow shards, intermediate parts, dead letters, statistics, the tokenizer sample.

Beam's file sinks are not used (the DaskRunner leaves them empty). Each sink groups its records by
destination with GroupByKey, sorts them, encodes the bytes deterministically and writes them through
FileSystems to a temporary name that is then renamed. Every sink returns a PCollection of written
paths so the phase can end in one :class:`Finish` step (the DaskRunner computes only the graph of the
last transform applied).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam

from corpus.records import DeadLetter
from corpus.schemas import ALIGNED
from corpus.sharding import SPLITS, shard_file_name, shard_of, split_of
from pipelines.batches import batch_keyed_rows, encode_doc_rows, merge_doc_rows
from pipelines.files import write_atomic
from pipelines.records import (
    AlignedRecord,
    DocRows,
    GroupKey,
    KeyedRow,
    PartEntry,
    ShardKey,
    ShardWritten,
    Stat,
)
from pipelines.tasks import part_entry

logger = logging.getLogger(__name__)

PICKLE_PROTOCOL = 5


def join_path(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def shard_rel_path(key: ShardKey, num_shards: int) -> str:
    """``aligned/train/part-00001-of-00004.arrow``."""
    return f"{key.dataset}/{key.split}/{shard_file_name(key.shard, num_shards)}"


def aligned_rows(
    record: AlignedRecord, num_shards: int, valid_fraction: float
) -> Iterator[tuple[GroupKey, DocRows]]:
    """The ``aligned/`` rows of a document (its sentences that pass the sentence-level filters), as one batch."""
    doc_id = record.doc.doc_id
    key = (ALIGNED, split_of(doc_id, valid_fraction), shard_of(doc_id, num_shards))
    sentences = sorted((s for s in record.doc.sentences if s.passes_filter), key=lambda s: s.sentence_index)
    if sentences:
        yield key, encode_doc_rows(ALIGNED, doc_id, sentences)


def write_shard(
    group: tuple[GroupKey, Iterable[DocRows | KeyedRow | None]], out_dir: str, info_dir: str, num_shards: int
) -> ShardWritten:
    """Order a shard's documents by id (rows by position within each), encode, write, and record it.

    Items are per-document batches (:class:`DocRows`), single rows (:class:`KeyedRow`, batched here) or
    the ``None`` markers that make every shard exist.
    """
    key = ShardKey(*group[0])
    batches: list[DocRows] = []
    rows: list[KeyedRow] = []
    for item in group[1]:
        if isinstance(item, DocRows):
            batches.append(item)
        elif item is not None:
            rows.append(item)
    encoded = merge_doc_rows(key.dataset, batches + batch_keyed_rows(key.dataset, rows))
    rel = shard_rel_path(key, num_shards)
    write_atomic(join_path(out_dir, rel), encoded.data)
    written = ShardWritten(
        key.dataset,
        key.split,
        key.shard,
        rel,
        encoded.rows,
        len(encoded.data),
        encoded.tokens,
        encoded.sha256,
    )
    name = f"{key.dataset}.{key.split}.{key.shard:05d}.json"
    write_atomic(join_path(info_dir, name), json.dumps(written._asdict(), sort_keys=True).encode("utf-8"))
    return written


def all_shard_keys(datasets: Sequence[str], num_shards: int) -> list[tuple[GroupKey, None]]:
    """One empty marker per shard, so that every shard file exists even when no row lands in it."""
    return [((d, s, i), None) for d in datasets for s in SPLITS for i in range(num_shards)]


class WriteShards(beam.PTransform[Any, Any]):
    """``(GroupKey, DocRows | KeyedRow)`` -> one Arrow stream file per shard (empty ones too) -> PCollection[ShardWritten]."""

    def __init__(self, datasets: Sequence[str], num_shards: int, out_dir: str, info_dir: str) -> None:
        super().__init__()
        self.datasets = list(datasets)
        self.num_shards = num_shards
        self.out_dir = out_dir
        self.info_dir = info_dir

    def expand(self, rows: Any) -> Any:
        markers = rows.pipeline | "ShardMarkers" >> beam.Create(
            all_shard_keys(self.datasets, self.num_shards)
        )
        return (
            (rows, markers)
            | "WithMarkers" >> beam.Flatten()
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.Map(write_shard, self.out_dir, self.info_dir, self.num_shards)
        )


def part_of(record: AlignedRecord, num_parts: int) -> tuple[int, PartEntry]:
    return shard_of(record.doc.doc_id, num_parts), part_entry(record)


def write_part(group: tuple[int, Iterable[PartEntry]], work_dir: str, num_parts: int) -> str:
    """Intermediate aligned documents of one part, sorted by id, pickled (read back by phase 2)."""
    index, entries = group
    ordered = sorted(entries)
    path = join_path(work_dir, f"part-{index:05d}-of-{num_parts:05d}.pkl")
    write_atomic(path, pickle.dumps(ordered, protocol=PICKLE_PROTOCOL))
    return path


class WriteParts(beam.PTransform[Any, Any]):
    """PCollection[AlignedRecord] -> pickled parts under ``work_dir`` (the hand-over between phases)."""

    def __init__(self, work_dir: str, num_parts: int) -> None:
        super().__init__()
        self.work_dir = work_dir
        self.num_parts = num_parts

    def expand(self, records: Any) -> Any:
        return (
            records
            | "KeyByPart" >> beam.Map(part_of, self.num_parts)
            | "GroupByPart" >> beam.GroupByKey()
            | "WritePart" >> beam.Map(write_part, self.work_dir, self.num_parts)
        )


def _by_stage(letter: DeadLetter) -> tuple[str, DeadLetter]:
    return letter.stage, letter


def write_dead_letters(group: tuple[str, Iterable[DeadLetter]], out_dir: str) -> str:
    """``dead_letters/<stage>.jsonl``: one JSON object per rejected record, sorted by file and line."""
    stage, letters = group
    ordered = sorted(letters, key=lambda d: (d.file, d.line, d.byte_offset, d.reason, d.excerpt))
    text = "".join(json.dumps(d._asdict(), ensure_ascii=False, sort_keys=True) + "\n" for d in ordered)
    path = join_path(out_dir, "dead_letters", f"{stage}.jsonl")
    write_atomic(path, text.encode("utf-8"))
    return path


def dead_letter_stats(letter: DeadLetter) -> Iterator[Stat]:
    yield f"dead_letters.{letter.stage}", 1


class WriteDeadLetters(beam.PTransform[Any, Any]):
    """PCollection[DeadLetter] -> ``dead_letters/<stage>.jsonl`` files (stages without letters get none)."""

    def __init__(self, out_dir: str) -> None:
        super().__init__()
        self.out_dir = out_dir

    def expand(self, letters: Any) -> Any:
        return (
            letters
            | "KeyByStage" >> beam.Map(_by_stage)
            | "GroupByStage" >> beam.GroupByKey()
            | "WriteStage" >> beam.Map(write_dead_letters, self.out_dir)
        )


def _to_one_key(pair: Stat) -> tuple[str, Stat]:
    return "stats", pair


def write_stats(group: tuple[str, Iterable[Stat]], path: str) -> str:
    write_atomic(path, json.dumps(dict(sorted(group[1])), indent=1).encode("utf-8"))
    return path


class WriteStats(beam.PTransform[Any, Any]):
    """PCollection[Stat] -> summed per counter (CombinePerKey) -> one JSON file."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def expand(self, stats: Any) -> Any:
        return (
            stats
            | "SumCounters" >> beam.CombinePerKey(sum)
            | "OneKey" >> beam.Map(_to_one_key)
            | "GatherCounters" >> beam.GroupByKey()
            | "WriteCounters" >> beam.Map(write_stats, self.path)
        )


SAMPLE_BUCKETS = 16


def sentence_hash(doc_id: str, index: int) -> str:
    return hashlib.blake2b(f"{doc_id}\x00{index}".encode(), digest_size=8).hexdigest()


def sample_candidates(record: AlignedRecord) -> Iterator[tuple[int, tuple[str, str]]]:
    """``(bucket, (hash, text))`` for every non-blank sentence: the sample keeps the smallest hashes."""
    for sentence in record.doc.sentences:
        if sentence.text.strip():
            h = sentence_hash(record.doc.doc_id, sentence.sentence_index)
            yield int(h[:4], 16) % SAMPLE_BUCKETS, (h, sentence.text)


def smallest(group: tuple[Any, Iterable[tuple[str, str]]], n: int) -> list[tuple[str, str]]:
    return sorted(group[1])[:n]


def _to_sample_key(items: list[tuple[str, str]]) -> Iterator[tuple[str, tuple[str, str]]]:
    for item in items:
        yield "sample", item


def write_sample(group: tuple[str, Iterable[tuple[str, str]]], path: str, n: int) -> str:
    """The tokenizer sample: at most ``n`` sentences in hash order, one JSON string per line."""
    texts = [text for _, text in sorted(group[1])[:n]]
    write_atomic(path, "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts).encode("utf-8"))
    return path


class SampleSentences(beam.PTransform[Any, Any]):
    """PCollection[AlignedRecord] -> the ``n`` sentences with the smallest hashes, written to ``path``.

    Two levels (16 buckets, then one) bound the memory of any single group to ``16 * n`` sentences.
    """

    def __init__(self, path: str, n: int) -> None:
        super().__init__()
        self.path = path
        self.n = n

    def expand(self, records: Any) -> Any:
        return (
            records
            | "SampleCandidates" >> beam.FlatMap(sample_candidates)
            | "GroupByBucket" >> beam.GroupByKey()
            | "SmallestPerBucket" >> beam.Map(smallest, self.n)
            | "ToSampleKey" >> beam.FlatMap(_to_sample_key)
            | "GatherSample" >> beam.GroupByKey()
            | "WriteSample" >> beam.Map(write_sample, self.path, self.n)
        )


def _one(_: object) -> int:
    return 1


def _log_done(count: int, phase: str) -> int:
    logger.info("%s: %d outputs written", phase, count)
    return count


class Finish(beam.PTransform[Any, Any]):
    """Join every sink's output into one last step, so runners that compute only the last transform's
    graph (the DaskRunner) still run every sink. Applied to the pipeline: ``p | Finish(outputs, "phase 1")``."""

    def __init__(self, outputs: Sequence[Any], phase: str) -> None:
        super().__init__()
        self.outputs = list(outputs)
        self.phase = phase

    def expand(self, pbegin: Any) -> Any:
        return (
            [out | f"One{i}" >> beam.Map(_one) for i, out in enumerate(self.outputs)]
            | "AllOutputs" >> beam.Flatten()
            | "CountOutputs" >> beam.CombineGlobally(sum)
            | "Done" >> beam.Map(_log_done, self.phase)
        )
