"""Task rows in one deterministic global order, read lazily from memory-mapped shards.

A :class:`TaskSource` walks the rows of one task split: every epoch visits the shards in a permuted order
and, inside a shard, the rows in a permuted order, both seeded by ``(seed, task, epoch[, shard])``. Only the
shard being read is opened (memory-mapped through :class:`kgtext.corpus.reader.CorpusReader`), so start-up does not
depend on the corpus size. Its position (:class:`SourcePosition`) is three ints, stored in checkpoints, so a
resumed run continues at once without replaying batches.

:class:`BucketedBatches` turns a source into global batches with little padding: it reads a window of
``bucket_batches`` batches, sorts the window by length, cuts it into batches and visits them in a seeded
order; its state holds the pending batches of the window.

Rows a task cannot train on are skipped as they are read, and counted (``TaskSource.dropped``): SR rows with
a single segment (:func:`usable_rows`), which have nothing to reorder; the skip depends on the row only, so
batches stay full and a resumed run skips the same rows.

DLM streams live in :mod:`kgtext.model.data.dlm`; collation into tensors in :mod:`kgtext.model.data.collate`.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.manifest import ShardInfo
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.records import Span
from kgtext.corpus.tasks.task import Task

_OPEN_SHARDS = 4
"""Memory-mapped shards kept open per source (a bucketing window can straddle a shard boundary)."""
MIN_SR_SEGMENTS = 2
"""SR rows need this many segments: one segment has nothing to reorder (its only class is 0)."""
FILTERED_TASKS: tuple[Task, ...] = (Task.SR,)
"""Tasks that skip some of their rows (:func:`usable_rows`)."""


def stable_seed(*parts: int | str) -> list[int]:
    """A numpy seed sequence from ints and strings (strings by crc32: stable across processes)."""
    return [p if isinstance(p, int) else zlib.crc32(p.encode("utf-8")) for p in parts]


class SourcePosition(NamedTuple):
    """Where a source stands in its global order."""

    epoch: int
    shard_cursor: int
    """Index into the epoch's shard order."""
    row_cursor: int
    """Index into the current shard's row order."""


class RowRef(NamedTuple):
    """One row of a task split, with what dynamic masking is seeded by."""

    shard: int
    """Index of the shard in the manifest's list."""
    row: int
    """Row index inside the shard."""
    epoch: int
    row_index: int
    """Global row index in the split (manifest order), unique per row: seeds the row's masking."""
    num_tokens: int


COLUMNS: dict[Task, list[str]] = {
    Task.KMLM: ["input_ids", "units"],
    Task.UKTP: ["input_ids", "segment_ids", "relation_span", "units"],
    Task.SR: ["input_ids", "segment_starts"],
    Task.SD: ["input_ids", "segment_ids", "label"],
}
"""Columns each NLU task's collator reads."""


class NluRow(NamedTuple):
    """One NLU row as the collator reads it: numpy views of its columns, never a dict of Python lists.

    Fields a task's schema lacks are None (``label``: -1).
    """

    input_ids: np.ndarray
    """(T,) int32 token ids."""
    segment_ids: np.ndarray | None = None
    """(T,) segment ids (uktp, sd)."""
    units: np.ndarray | None = None
    """(U, 2) int32 ``[start, end)`` token spans of the maskable units (kmlm, uktp)."""
    relation_span: Span | None = None
    """Token span of the relation (uktp)."""
    segment_starts: np.ndarray | None = None
    """(S,) int32 token index where each sentence segment starts (sr)."""
    label: int = -1
    """The sentence-distance class (sd)."""


def _lists(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """(offsets rebased to 0, flat values) of a list column."""
    array = column.combine_chunks()
    offsets = array.offsets.to_numpy()
    return offsets - offsets[0], array.flatten()


def _spans(values: pa.Array) -> np.ndarray:
    """(N, 2) int32 ``[start, end)`` of a struct array with ``start`` and ``end`` fields."""
    return np.stack([values.field("start").to_numpy(), values.field("end").to_numpy()], axis=1)


def nlu_rows(table: pa.Table) -> list[NluRow]:
    """The rows of ``table`` (any subset of an NLU task's columns, ``input_ids`` included) as NluRows."""
    names = set(table.column_names)
    n = table.num_rows
    id_offsets, id_values = _lists(table.column("input_ids"))
    ids = id_values.to_numpy()
    columns: dict[str, list[Any]] = {}
    if "segment_ids" in names:
        seg_offsets, seg_values = _lists(table.column("segment_ids"))
        segs = seg_values.to_numpy()
        columns["segment_ids"] = [segs[seg_offsets[r] : seg_offsets[r + 1]] for r in range(n)]
    if "units" in names:
        unit_offsets, unit_values = _lists(table.column("units"))
        bounds = _spans(unit_values)
        columns["units"] = [bounds[unit_offsets[r] : unit_offsets[r + 1]] for r in range(n)]
    if "relation_span" in names:
        rel = _spans(table.column("relation_span").combine_chunks())
        columns["relation_span"] = [Span(int(a), int(b)) for a, b in rel]
    if "segment_starts" in names:
        start_offsets, start_values = _lists(table.column("segment_starts"))
        starts = start_values.to_numpy()
        columns["segment_starts"] = [starts[start_offsets[r] : start_offsets[r + 1]] for r in range(n)]
    if "label" in names:
        columns["label"] = [int(v) for v in table.column("label").to_numpy()]
    return [
        NluRow(ids[id_offsets[r] : id_offsets[r + 1]], **{k: v[r] for k, v in columns.items()})
        for r in range(n)
    ]


def usable_rows(task: Task, table: pa.Table) -> np.ndarray | None:
    """(N,) bool: the rows of ``table`` that ``task`` can train on, or None when every row can.

    SR rows need at least :data:`MIN_SR_SEGMENTS` segments; every other task uses every row.
    """
    if task not in FILTERED_TASKS:
        return None
    offsets, _ = _lists(table.column("segment_starts"))
    usable: np.ndarray = np.diff(offsets) >= MIN_SR_SEGMENTS
    return usable


class ShardCache:
    """Open (memory-mapped) shards of one task split, least recently used first out."""

    def __init__(self, reader: CorpusReader, task: str, shards: list[ShardInfo]) -> None:
        self.reader = reader
        self.task = task
        self.shards = shards
        self._open: OrderedDict[int, tuple[pa.Table, np.ndarray]] = OrderedDict()
        self._usable: dict[int, np.ndarray | None] = {}

    def get(self, shard: int) -> tuple[pa.Table, np.ndarray]:
        """The shard's table and its ``num_tokens`` column as a numpy view."""
        if shard in self._open:
            self._open.move_to_end(shard)
            return self._open[shard]
        table = self.reader.open_shard(self.task, self.shards[shard])
        lengths = table.column("num_tokens").to_numpy()
        self._open[shard] = (table, lengths)
        if len(self._open) > _OPEN_SHARDS:
            self._open.popitem(last=False)
        return table, lengths

    def usable(self, shard: int) -> np.ndarray | None:
        """:func:`usable_rows` of the shard (kept for the run: one bool per row)."""
        if shard not in self._usable:
            self._usable[shard] = usable_rows(Task(self.task), self.get(shard)[0])
        return self._usable[shard]

    def rows(self, refs: list[RowRef], task: str) -> list[NluRow]:
        """The given rows of an NLU task as :class:`NluRow` views (grouped per shard, in ``refs`` order)."""
        out: list[NluRow | None] = [None] * len(refs)
        by_shard: dict[int, list[int]] = {}
        for i, ref in enumerate(refs):
            by_shard.setdefault(ref.shard, []).append(i)
        for shard, positions in by_shard.items():
            table, _ = self.get(shard)
            taken = table.select(COLUMNS[Task(task)]).take(pa.array([refs[i].row for i in positions]))
            for i, row in zip(positions, nlu_rows(taken), strict=True):
                out[i] = row
        return [row for row in out if row is not None]


class TaskSource:
    """The rows of one task split in a deterministic, epoch-reshuffled global order."""

    def __init__(
        self, reader: CorpusReader, task: str, split: str, seed: int, *, shuffle: bool = True
    ) -> None:
        self.task = task
        self.split = split
        self.root = reader.root
        self.seed = seed
        self.shuffle = shuffle
        self.shard_infos = reader.shards(task, split)
        if not self.shard_infos or sum(s.rows for s in self.shard_infos) == 0:
            raise ValueError(f"{task}/{split} has no rows")
        self.cache = ShardCache(reader, task, self.shard_infos)
        self.offsets = np.concatenate([[0], np.cumsum([s.rows for s in self.shard_infos])]).astype(np.int64)
        self.position = SourcePosition(0, 0, 0)
        self.dropped = 0
        """Rows skipped by :meth:`take` since this source was built (the same rows again every epoch)."""

    @property
    def num_rows(self) -> int:
        return int(self.offsets[-1])

    def shard_order(self, epoch: int) -> np.ndarray:
        n = len(self.shard_infos)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng(stable_seed(self.seed, self.task, "shards", epoch)).permutation(n)

    def row_order(self, epoch: int, shard: int) -> np.ndarray:
        n = self.shard_infos[shard].rows
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng(stable_seed(self.seed, self.task, "rows", epoch, shard)).permutation(n)

    def take(self, count: int) -> list[RowRef]:
        """The next ``count`` usable rows of the global order (wrapping into new epochs); advances the position.

        Rows that :func:`usable_rows` rejects are skipped and counted in :attr:`dropped`.
        """
        refs: list[RowRef] = []
        epoch, shard_cursor, row_cursor = self.position
        # Rows scanned since the last usable one: with a usable row in every epoch there are fewer than two
        # epochs' worth of them, so more means the split has none.
        idle = 0
        while len(refs) < count:
            order = self.shard_order(epoch)
            if shard_cursor >= len(order):
                epoch, shard_cursor, row_cursor = epoch + 1, 0, 0
                continue
            shard = int(order[shard_cursor])
            rows = self.row_order(epoch, shard)
            _, lengths = self.cache.get(shard) if len(rows) else (None, np.zeros(0))
            chunk = rows[row_cursor : row_cursor + count - len(refs)]
            row_cursor += len(chunk)
            usable = self.cache.usable(shard) if len(rows) else None
            if usable is not None:
                kept = chunk[usable[chunk]]
                self.dropped += len(chunk) - len(kept)
                idle = 0 if len(kept) else idle + len(chunk)
                if idle > 2 * self.num_rows:
                    raise CorpusError(
                        str(self.root),
                        f"no {self.task}/{self.split} row can be trained on (an sr row needs >= "
                        f"{MIN_SR_SEGMENTS} segments; --set data.{self.task}_weight=0 disables the task)",
                    )
                chunk = kept
            base = int(self.offsets[shard])
            refs += [RowRef(shard, int(r), epoch, base + int(r), int(lengths[r])) for r in chunk]
            if row_cursor >= len(rows):
                shard_cursor, row_cursor = shard_cursor + 1, 0
        self.position = SourcePosition(epoch, shard_cursor, row_cursor)
        return refs


class BucketedBatches:
    """Global batches of one task, length-bucketed inside windows of ``bucket_batches`` batches.

    A window is ``batch_size * bucket_batches`` rows: the rows left over from the previous window (when the
    batch size changed under progressive learning, so no row is skipped) plus fresh rows from the source,
    sorted by length, cut into batches and visited in a seeded order. The pending batches are part of the
    state (a few ints per row), so a resumed run continues inside the window.
    """

    def __init__(self, source: TaskSource, bucket_batches: int) -> None:
        self.source = source
        self.bucket_batches = bucket_batches
        self.window_index = -1
        self.batch_size = 0
        self.pending: list[list[RowRef]] = []

    def _build_window(self, batch_size: int) -> None:
        leftover = [ref for batch in self.pending for ref in batch]
        refs = leftover + self.source.take(max(0, batch_size * self.bucket_batches - len(leftover)))
        # Stable sort by length, then a seeded visiting order of the equal-size batches.
        refs.sort(key=lambda r: (r.num_tokens, r.epoch, r.row_index))
        batches = [refs[i : i + batch_size] for i in range(0, len(refs) - batch_size + 1, batch_size)]
        tail = refs[len(batches) * batch_size :]
        self.window_index += 1
        rng = np.random.default_rng(
            stable_seed(self.source.seed, self.source.task, "window", self.window_index)
        )
        self.pending = [batches[i] for i in rng.permutation(len(batches))] + ([tail] if tail else [])
        self.batch_size = batch_size

    def next_batch(self, batch_size: int) -> list[RowRef]:
        """The next global batch of ``batch_size`` rows (the window is re-cut when the size changes)."""
        if batch_size != self.batch_size or not self.pending or len(self.pending[0]) != batch_size:
            self._build_window(batch_size)
        return self.pending.pop(0)

    def state_dict(self) -> dict[str, Any]:
        """Plain ints: the source position, the window number and the pending batches' rows."""
        return {
            "source": list(self.source.position),
            "window_index": self.window_index,
            "batch_size": self.batch_size,
            "pending": [[list(ref) for ref in batch] for batch in self.pending],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.source.position = SourcePosition(*(int(x) for x in state["source"]))
        self.window_index = int(state["window_index"])
        self.batch_size = int(state["batch_size"])
        self.pending = [[RowRef(*(int(x) for x in ref)) for ref in batch] for batch in state["pending"]]
