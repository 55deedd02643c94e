# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Our own sinks: Arrow shards, intermediate parts, dead letters, statistics, the tokenizer sample.

Beam's file sinks are not used (the DaskRunner leaves them empty). Each sink groups its records by
destination with GroupByKey, sorts them, encodes the bytes deterministically and writes them through
FileSystems to a temporary name that is then renamed. Shard rows and the aligned documents handed to
phase 2 are the exception: the workers that built them spill them to run files (:class:`SpillRuns`) and
only the file names are grouped. Every sink returns a PCollection of written paths so the phase can end
in one :class:`Finish` step (the DaskRunner computes only the graph of the last transform applied).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from kgtext.common.dead_letters import DeadLetter
from kgtext.corpus.records import PICKLE_PROTOCOL
from kgtext.corpus.schemas import ALIGNED
from kgtext.corpus.shard_writer import (
    DocRows,
    MergedShard,
    PendingRows,
    encode_pending,
    encode_run,
    iter_run,
    pending_size,
    write_merged_runs,
)
from kgtext.corpus.sharding import SPLITS, shard_file_name, shard_of, split_of
from kgtext.corpus.stats import StatFamily
from kgtext.pipelines.files import write_atomic, write_atomic_with
from kgtext.pipelines.records import AlignedRecord, GroupKey, PartEntry, ShardKey, ShardWritten, Stat
from kgtext.pipelines.tasks import part_entry

logger = logging.getLogger(__name__)


def join_path(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def shard_rel_path(key: ShardKey, num_shards: int) -> str:
    """``aligned/train/part-00001-of-00004.arrow``."""
    return f"{key.dataset}/{key.split}/{shard_file_name(key.shard, num_shards)}"


def aligned_rows(
    record: AlignedRecord, num_shards: int, valid_fraction: float
) -> Iterator[tuple[GroupKey, PendingRows]]:
    """The ``aligned/`` rows of a document (its sentences that pass the sentence-level filters), in order."""
    doc_id = record.doc.doc_id
    key = (ALIGNED, split_of(doc_id, valid_fraction), shard_of(doc_id, num_shards))
    sentences = sorted((s for s in record.doc.sentences if s.passes_filter), key=lambda s: s.sentence_index)
    if sentences:
        yield key, PendingRows(ALIGNED, doc_id, sentences)


SPILL_BYTES = 64 * 2**20
"""Bytes a :class:`SpillRuns` instance buffers (run values, and loose values at their estimated size) before
it writes them out as run files."""
PACK_BYTES = 4 * 2**20
"""Estimated bytes of loose values of one key that :class:`SpillRuns` packs together (:class:`Pack`)."""


class Pack:
    """Values a :class:`SpillRuns` converts in batches before it keeps them: :meth:`wants` says which, :meth:`pack`
    turns a list of them into ``(run value, size)`` pairs."""

    def wants(self, value: Any) -> bool:
        raise NotImplementedError

    def pack(self, values: list[Any]) -> list[tuple[Any, int]]:
        raise NotImplementedError


class PackShardRows(Pack):
    """Pending shard rows (:class:`PendingRows`) -> :class:`DocRows`, encoded a batch of documents at a time."""

    def wants(self, value: Any) -> bool:
        return isinstance(value, PendingRows)

    def pack(self, values: list[Any]) -> list[tuple[Any, int]]:
        return [(doc, len(doc.data)) for doc in encode_pending(values)]


RunKey = tuple[Any, ...]
"""What a run file belongs to (a :data:`GroupKey` for shard rows); its parts name the file."""


class SpillRuns(beam.DoFn):
    """``(key, (value, bytes))`` -> run files under ``runs_dir`` -> ``(key, run path)``.

    Data never waits in a shuffle: each worker buffers at most ``spill_bytes`` of values, then writes one run
    file per key it holds values for (``encode(values)``) and emits only its name. A name is emitted when its
    file's first value arrives: a runner commits a bundle's outputs only after ``finish_bundle`` (which
    writes what is left), and Beam 2.77's DaskRunner drops whatever ``finish_bundle`` itself emits
    (docs/SCALING.md). A retried bundle's files are never named downstream; they go with ``_work/``.

    With a :class:`Pack`, the values it wants wait loose per key until ``pack_bytes`` of them are there (or the
    buffer spills) and are then packed together: shard rows are converted to Arrow a batch of documents at a
    time (:func:`kgtext.corpus.shard_writer.encode_pending`), not one document at a time.
    """

    def __init__(
        self,
        runs_dir: str,
        encode: Callable[[list[Any]], bytes],
        suffix: str,
        spill_bytes: int = SPILL_BYTES,
        *,
        pack: Pack | None = None,
        pack_bytes: int = PACK_BYTES,
    ) -> None:
        self.runs_dir = runs_dir
        self.encode = encode
        self.suffix = suffix
        self.spill_bytes = spill_bytes
        self.pack = pack
        self.pack_bytes = pack_bytes
        self._buffer: dict[RunKey, list[Any]] = {}
        self._loose: dict[RunKey, tuple[list[Any], int]] = {}
        self._names: dict[RunKey, str] = {}
        self._size = 0

    def start_bundle(self) -> None:
        self._buffer, self._loose, self._names, self._size = {}, {}, {}, 0

    def process(self, item: tuple[RunKey, tuple[Any, int]]) -> Iterator[tuple[RunKey, str]]:
        key, (value, size) = item
        key = tuple(key)
        if key not in self._names:
            name = ".".join(f"{part:05d}" if isinstance(part, int) else str(part) for part in key)
            self._names[key] = join_path(self.runs_dir, f"{name}.{uuid.uuid4().hex}.{self.suffix}")
            yield key, self._names[key]
        self._size += size
        if self.pack is not None and self.pack.wants(value):
            loose, loose_size = self._loose.get(key, ([], 0))
            loose.append(value)
            self._loose[key] = (loose, loose_size + size)
            if loose_size + size >= self.pack_bytes:
                self._pack(key)
        else:
            self._buffer.setdefault(key, []).append(value)
        if self._size >= self.spill_bytes:
            self._spill()

    def finish_bundle(self) -> None:
        self._spill()

    def _pack(self, key: RunKey) -> None:
        """Replace ``key``'s loose values by their packed form (and the buffer's size by the packed sizes)."""
        assert self.pack is not None
        loose, loose_size = self._loose.pop(key)
        packed = self.pack.pack(loose)
        self._buffer.setdefault(key, []).extend(value for value, _ in packed)
        self._size += sum(size for _, size in packed) - loose_size

    def _spill(self) -> None:
        for key in list(self._loose):
            self._pack(key)
        for key, values in self._buffer.items():
            write_atomic(self._names[key], self.encode(values))
        self._buffer, self._loose, self._names, self._size = {}, {}, {}, 0


def _sized_rows(
    item: tuple[GroupKey, DocRows | PendingRows],
) -> Iterator[tuple[GroupKey, tuple[DocRows | PendingRows, int]]]:
    key, doc = item
    if doc.rows:
        size = pending_size(doc) if isinstance(doc, PendingRows) else len(doc.data)
        yield (key[0], key[1], key[2]), (doc, size)


def write_shard(
    group: tuple[GroupKey, Iterable[str | None]], out_dir: str, info_dir: str, num_shards: int
) -> ShardWritten:
    """Merge a shard's run files (documents by id, rows by position within each), write and record it.

    Items are run file paths (:class:`SpillRuns`) or the ``None`` markers that make every shard exist.
    """
    key = ShardKey(*group[0])
    paths = sorted(p for p in group[1] if p is not None)
    rel = shard_rel_path(key, num_shards)

    def fill(out: Any) -> MergedShard:
        handles = [FileSystems.open(p, compression_type="uncompressed") for p in paths]
        try:
            return write_merged_runs(key.dataset, [iter_run(h) for h in handles], out)
        finally:
            for handle in handles:
                handle.close()

    merged = write_atomic_with(join_path(out_dir, rel), fill)
    written = ShardWritten(
        key.dataset, key.split, key.shard, rel, merged.rows, merged.size, merged.tokens, merged.sha256
    )
    name = f"{key.dataset}.{key.split}.{key.shard:05d}.json"
    write_atomic(join_path(info_dir, name), json.dumps(written._asdict(), sort_keys=True).encode("utf-8"))
    return written


def all_shard_keys(datasets: Sequence[str], num_shards: int) -> list[tuple[GroupKey, None]]:
    """One empty marker per shard, so that every shard file exists even when no row lands in it."""
    return [((d, s, i), None) for d in datasets for s in SPLITS for i in range(num_shards)]


class WriteShards(beam.PTransform[Any, Any]):
    """``(GroupKey, DocRows)`` -> run files -> one Arrow stream file per shard (empty ones too) ->
    PCollection[ShardWritten]. Only run file names and shard markers cross the shuffle."""

    def __init__(
        self, datasets: Sequence[str], num_shards: int, out_dir: str, info_dir: str, runs_dir: str
    ) -> None:
        super().__init__()
        self.datasets = list(datasets)
        self.num_shards = num_shards
        self.out_dir = out_dir
        self.info_dir = info_dir
        self.runs_dir = runs_dir

    def expand(self, rows: Any) -> Any:
        markers = rows.pipeline | "ShardMarkers" >> beam.Create(
            all_shard_keys(self.datasets, self.num_shards)
        )
        runs = (
            rows
            | "SizeRows" >> beam.FlatMap(_sized_rows)
            | "SpillRows" >> beam.ParDo(SpillRuns(self.runs_dir, encode_run, "run", pack=PackShardRows()))
        )
        return (
            (runs, markers)
            | "WithMarkers" >> beam.Flatten()
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.Map(write_shard, self.out_dir, self.info_dir, self.num_shards)
        )


PART_LIST = "parts.json"
"""In the parts folder: the part files phase 1 committed (phase 2 reads these, never a glob)."""


def sized_entry(record: AlignedRecord) -> tuple[RunKey, tuple[PartEntry, int]]:
    entry = part_entry(record)
    return ("part",), (entry, len(entry[1]))


def encode_part(entries: list[PartEntry]) -> bytes:
    """One part file: aligned documents sorted by id, pickled (read back by :func:`kgtext.pipelines.tasks.read_part`)."""
    return pickle.dumps(sorted(entries), protocol=PICKLE_PROTOCOL)


def write_part_list(group: tuple[RunKey, Iterable[str]], work_dir: str) -> str:
    """The sorted names of the committed part files, as :data:`PART_LIST`."""
    path = join_path(work_dir, PART_LIST)
    write_atomic(path, json.dumps(sorted(group[1])).encode("utf-8"))
    return path


class WriteParts(beam.PTransform[Any, Any]):
    """PCollection[AlignedRecord] -> pickled part files under ``work_dir`` (the hand-over between phases),
    spilled by the workers that aligned them (:class:`SpillRuns`) and listed in :data:`PART_LIST`."""

    def __init__(self, work_dir: str) -> None:
        super().__init__()
        self.work_dir = work_dir

    def expand(self, records: Any) -> Any:
        return (
            records
            | "SizeEntries" >> beam.Map(sized_entry)
            | "SpillParts" >> beam.ParDo(SpillRuns(self.work_dir, encode_part, "pkl"))
            | "GroupPartNames" >> beam.GroupByKey()
            | "ListParts" >> beam.Map(write_part_list, self.work_dir)
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
    yield StatFamily.DEAD_LETTERS.key(letter.stage), 1


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
