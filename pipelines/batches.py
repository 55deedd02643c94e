"""Per-document row batches: a document's rows of one dataset as one Arrow IPC blob, merged per shard.

Shuffling one element per row (a NamedTuple of nested NamedTuples, pickled by Beam's coder) cost more
than building the rows. Each document instead contributes one :class:`DocRows` per dataset: its rows,
in shard order, already converted and encoded as one Arrow IPC record batch message (no schema: the
dataset names it) by the worker that built them.
Rows are converted column by column (NamedTuples read positionally by Arrow where their fields are the
struct's), falling back to ``corpus.shards.to_row`` otherwise.
The shard writer sorts the blobs by document id, concatenates them and writes one stream with
``corpus.shards.ROWS_PER_BATCH`` rows per record batch. The bytes equal ``corpus.shards.encode_shard``
of the same rows in the same order (Arrow's IPC writer does not depend on how the columns were chunked
once they are combined; tests/pipelines compares whole builds byte for byte).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from corpus.shards import EncodedShard, encode_shard, encode_table, schema_of, to_row
from pipelines.records import DocRows, KeyedRow


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
    struct's order gives the same array as the dict ``corpus.shards.to_row`` would build.
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
    batches = [pa.ipc.read_record_batch(pa.py_buffer(b.data), schema) for b in ordered]
    table = pa.Table.from_batches(batches, schema=schema).combine_chunks()
    return encode_table(dataset, table)
