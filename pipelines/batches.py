"""Per-document row batches: a document's rows of one dataset as one Arrow IPC blob, merged per shard.

Shuffling one element per row (a NamedTuple of nested NamedTuples, pickled by Beam's coder) cost more
than building the rows. Each document instead contributes one :class:`DocRows` per dataset: its rows,
in shard order, already converted and encoded as an Arrow IPC stream by the worker that built them.
The shard writer sorts the blobs by document id, concatenates them and writes one stream with
``corpus.shards.ROWS_PER_BATCH`` rows per record batch. The bytes equal ``corpus.shards.encode_shard``
of the same rows in the same order (Arrow's IPC writer does not depend on how the columns were chunked
once they are combined; tests/pipelines compares whole builds byte for byte).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.shards import ROWS_PER_BATCH, EncodedShard, encode_shard, schema_of, to_row
from pipelines.records import DocRows, KeyedRow


def encode_doc_rows(dataset: str, doc_id: str, rows: Sequence[Any]) -> DocRows:
    """One document's rows of ``dataset`` (already in shard order) -> :class:`DocRows`."""
    schema = schema_of(dataset)
    names = schema.names
    table = pa.Table.from_pylist(
        [{name: row[name] for name in names} for row in map(to_row, rows)], schema=schema
    )
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table)
    return DocRows(doc_id, len(rows), sink.getvalue())


def batch_keyed_rows(dataset: str, rows: Iterable[KeyedRow]) -> list[DocRows]:
    """Per-row :class:`KeyedRow` items -> one :class:`DocRows` per document (rows sorted by position, sequence)."""
    by_doc: dict[str, list[KeyedRow]] = {}
    for row in rows:
        by_doc.setdefault(row.doc_id, []).append(row)
    return [
        encode_doc_rows(dataset, doc_id, [r.row for r in sorted(items, key=lambda r: (r.position, r.seq))])
        for doc_id, items in by_doc.items()
    ]


def merge_doc_rows(dataset: str, batches: Iterable[DocRows]) -> EncodedShard:
    """Documents' row blobs -> one shard, ordered by document id (same bytes as ``encode_shard`` of the rows)."""
    ordered = sorted((b for b in batches if b.rows), key=lambda b: (b.doc_id, b.data))
    if not ordered:
        return encode_shard(dataset, [])
    schema = schema_of(dataset)
    table = pa.concat_tables([pa.ipc.open_stream(b.data).read_all() for b in ordered]).combine_chunks()
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table, max_chunksize=ROWS_PER_BATCH)
    data = sink.getvalue()
    tokens = int(pc.sum(table.column("num_tokens")).as_py() or 0) if "num_tokens" in schema.names else 0
    return EncodedShard(data, table.num_rows, tokens, hashlib.sha256(data).hexdigest())
