"""Per-document row batches: a document's rows of one dataset as one Arrow IPC blob, merged per shard.

Shuffling one element per row (a NamedTuple of nested NamedTuples, pickled by Beam's coder) cost more
than building the rows. Each document instead contributes one :class:`DocRows` per dataset: its rows,
in shard order, encoded as one Arrow IPC record batch message (no schema: the dataset names it) by the
worker that built them. That worker first holds them as :class:`PendingRows` and converts a batch of
documents at a time (:func:`encode_pending`): converting each document alone cost more than building its rows.
Rows are converted column by column (NamedTuples read positionally by Arrow where their fields are the
struct's), falling back to ``kgtext.corpus.shards.to_row`` otherwise.
The blobs never wait in a shuffle: the worker that built them spills them to *run files* (one per shard
and spill, sorted by document id: :func:`encode_run`), and only the run file names are grouped per shard.
The shard writer merges a shard's runs (:func:`write_merged_runs`: a k-way merge that holds one small
batch per run) into one stream with ``kgtext.corpus.shards.ROWS_PER_BATCH`` rows per record batch. The bytes
equal ``kgtext.corpus.shards.encode_shard`` of the same rows in the same order, and :func:`merge_doc_rows` (the
in-memory reference) of the same blobs (Arrow's IPC writer does not depend on how the columns were
chunked once they are combined; tests/pipelines compares whole builds byte for byte).
"""

from __future__ import annotations

import hashlib
import heapq
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, NamedTuple

import pyarrow as pa

from kgtext.corpus.shards import (
    ROWS_PER_BATCH,
    EncodedShard,
    count_tokens,
    encode_shard,
    encode_table,
    schema_of,
    to_row,
    write_compact,
)


class DocRows(NamedTuple):
    """The rows one document contributes to one shard, encoded by :func:`encode_doc_rows`."""

    doc_id: str
    rows: int
    data: bytes
    """One Arrow IPC record batch message (``RecordBatch.serialize``, no schema): the rows in shard order."""


def _struct_values(values: list[Any], type_: pa.DataType) -> list[Any] | None:
    """The struct values found in a column (directly or as list items); None if the column has none."""
    if pa.types.is_struct(type_):
        return values
    if pa.types.is_list(type_) and pa.types.is_struct(type_.value_type):
        return [item for value in values for item in value]
    return None


def _positional_ok(values: list[Any], type_: pa.DataType) -> bool:
    """Whether Arrow may read this column's structs positionally: NamedTuples whose fields are the struct's.

    Arrow converts a tuple to a struct by position, so a NamedTuple with the struct's field names in the
    struct's order gives the same array as the dict ``kgtext.corpus.shards.to_row`` would build.
    """
    if pa.types.is_list(type_) and not pa.types.is_struct(type_.value_type):
        return not pa.types.is_nested(type_.value_type)
    structs = _struct_values(values, type_)
    if structs is None:
        return not pa.types.is_nested(type_)
    struct_type = type_ if pa.types.is_struct(type_) else type_.value_type
    if any(pa.types.is_nested(field.type) for field in struct_type):
        return False
    names = tuple(field.name for field in struct_type)
    return all(getattr(kind, "_fields", None) == names for kind in {type(v) for v in structs})


def _rows_to_table(rows: Sequence[Any], schema: pa.Schema) -> pa.Table:
    """Rows -> a table; column by column when every row is a NamedTuple and every struct is positional."""
    if all(hasattr(row, "_fields") for row in rows):
        columns = [[getattr(row, field.name) for row in rows] for field in schema]
        if all(_positional_ok(values, field.type) for values, field in zip(columns, schema, strict=True)):
            arrays = [
                pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)
            ]
            return pa.Table.from_arrays(arrays, schema=schema)
    names = schema.names
    return pa.Table.from_pylist(
        [{name: row[name] for name in names} for row in map(to_row, rows)], schema=schema
    )


def encode_doc_rows(dataset: str, doc_id: str, rows: Sequence[Any]) -> DocRows:
    """One document's rows of ``dataset`` (already in shard order) -> :class:`DocRows` (one record batch)."""
    table = _rows_to_table(rows, schema_of(dataset)).combine_chunks()
    batches = table.to_batches()
    data = batches[0].serialize().to_pybytes() if batches else b""
    return DocRows(doc_id, table.num_rows, data)


class PendingRows(NamedTuple):
    """The rows one document contributes to one shard, not yet encoded: they wait in the spilling worker's
    buffer and are converted together with other documents' rows of the same shard (:func:`encode_pending`)."""

    dataset: str
    doc_id: str
    rows: Sequence[Any]
    """In shard order, as :func:`encode_doc_rows` takes them."""


PENDING_BYTES_PER_TOKEN = 96
"""What a task row takes in memory per token as Python objects (measured on the 1x bench corpus: 38 to 89
bytes per token, about 5x its Arrow bytes); the spill buffer counts pending rows at this rate."""
PENDING_BYTES_PER_ROW = 512
"""A pending row's fixed share (the NamedTuple, its strings and spans)."""
CHARS_PER_TOKEN = 4
"""A row without ``num_tokens`` (an aligned sentence) counts its text's characters over this as tokens."""


def pending_size(doc: PendingRows) -> int:
    """Rough bytes ``doc``'s rows take in memory (an estimate for the spill budget, not a measurement)."""
    tokens = 0
    for row in doc.rows:
        n = getattr(row, "num_tokens", None)
        tokens += n if isinstance(n, int) else len(getattr(row, "text", "")) // CHARS_PER_TOKEN
    return PENDING_BYTES_PER_ROW * len(doc.rows) + PENDING_BYTES_PER_TOKEN * tokens


def encode_pending(docs: Sequence[PendingRows]) -> list[DocRows]:
    """Pending rows -> one :class:`DocRows` per document, in the given order.

    The rows of each dataset are converted to Arrow as one table and cut into one record batch per
    document, so Arrow's per-call costs (one array per column, the positional check) are paid once per
    batch rather than once per document. A blob may hold a few more bytes than :func:`encode_doc_rows`'s (a cut keeps its
    batch's buffer offsets); it decodes to the same rows, so merged shards are the same bytes.
    """
    out: dict[int, DocRows] = {}
    by_dataset: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        by_dataset.setdefault(doc.dataset, []).append(i)
    for dataset, indices in by_dataset.items():
        rows = [row for i in indices for row in docs[i].rows]
        batches = _rows_to_table(rows, schema_of(dataset)).combine_chunks().to_batches() if rows else []
        start = 0
        for i in indices:
            n = len(docs[i].rows)
            data = batches[0].slice(start, n).serialize().to_pybytes() if n else b""
            out[i] = DocRows(docs[i].doc_id, n, data)
            start += n
    return [out[i] for i in range(len(docs))]


def merge_doc_rows(dataset: str, batches: Iterable[DocRows]) -> EncodedShard:
    """Documents' row blobs -> one shard, ordered by document id (same bytes as ``encode_shard`` of the rows)."""
    ordered = sorted((b for b in batches if b.rows), key=lambda b: (b.doc_id, b.data))
    if not ordered:
        return encode_shard(dataset, [])
    schema = schema_of(dataset)
    batches = [pa.ipc.read_record_batch(pa.py_buffer(b.data), schema) for b in ordered]
    table = pa.Table.from_batches(batches, schema=schema).combine_chunks()
    return encode_table(dataset, table)


RUN_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("rows", pa.int64(), nullable=False),
        pa.field("data", pa.binary(), nullable=False),
    ]
)
"""A run file: :class:`DocRows` of one shard, sorted by ``(doc_id, data)``, as an Arrow IPC stream."""
RUN_DOCS_PER_BATCH = 16
"""Documents per record batch of a run file: what the merge holds per run at a time (~16 x 35 KB)."""


def _order(doc: DocRows) -> tuple[str, bytes]:
    return doc.doc_id, doc.data


def encode_run(docs: Iterable[DocRows]) -> bytes:
    """A run file's bytes: the documents with rows, sorted by :func:`_order`."""
    ordered = sorted((d for d in docs if d.rows), key=_order)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, RUN_SCHEMA) as writer:
        for start in range(0, len(ordered), RUN_DOCS_PER_BATCH):
            part = ordered[start : start + RUN_DOCS_PER_BATCH]
            writer.write_batch(
                pa.record_batch(
                    [
                        pa.array([d.doc_id for d in part], pa.string()),
                        pa.array([d.rows for d in part], pa.int64()),
                        pa.array([d.data for d in part], pa.binary()),
                    ],
                    schema=RUN_SCHEMA,
                )
            )
    return sink.getvalue()


def iter_run(handle: IO[bytes]) -> Iterator[DocRows]:
    """The documents of one run file, one record batch in memory at a time."""
    for batch in pa.ipc.open_stream(handle):
        for doc_id, rows, data in zip(
            batch.column(0).to_pylist(), batch.column(1).to_pylist(), batch.column(2).to_pylist(), strict=True
        ):
            yield DocRows(doc_id, rows, data)


class _Tee(io.RawIOBase):
    """A writable stream that hashes and counts what passes through it to ``handle``."""

    def __init__(self, handle: IO[bytes]) -> None:
        super().__init__()
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.digest.update(chunk)
        self.size += len(chunk)
        self.handle.write(chunk)
        return len(chunk)


class MergedShard(NamedTuple):
    """What :func:`write_merged_runs` wrote (the bytes themselves are in the file)."""

    rows: int
    size: int
    tokens: int
    sha256: str


def write_merged_runs(dataset: str, runs: Sequence[Iterator[DocRows]], out: IO[bytes]) -> MergedShard:
    """Merge sorted runs of one shard into its Arrow IPC stream on ``out``; the same bytes as
    :func:`merge_doc_rows` of all their documents, holding one batch per run and < 2 output batches."""
    schema = schema_of(dataset)
    tee = _Tee(out)
    rows = tokens = 0
    pending: list[pa.RecordBatch] = []
    buffered = 0
    with pa.ipc.new_stream(tee, schema) as writer:

        def flush(limit: int) -> None:
            nonlocal pending, buffered, rows, tokens
            table = pa.Table.from_batches(pending, schema=schema).combine_chunks()
            full = table.num_rows if limit == 0 else table.num_rows - table.num_rows % limit
            head = table.slice(0, full)
            write_compact(writer, head)
            rows += head.num_rows
            tokens += count_tokens(head)
            rest = table.slice(full)
            pending = rest.to_batches() if rest.num_rows else []
            buffered = rest.num_rows

        for doc in heapq.merge(*runs, key=_order):
            pending.append(pa.ipc.read_record_batch(pa.py_buffer(doc.data), schema))
            buffered += doc.rows
            if buffered >= ROWS_PER_BATCH:
                flush(ROWS_PER_BATCH)
        if pending:
            flush(0)
    return MergedShard(rows, tee.size, tokens, tee.digest.hexdigest())
