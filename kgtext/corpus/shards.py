"""Encode records into Arrow IPC stream shards, and read or verify them against the manifest.

A shard is one Arrow IPC *stream* file (``pyarrow.ipc.open_stream`` and ``datasets.Dataset.from_file``
read it). Encoding is deterministic: the same rows in the same order give the same bytes, so builds on
any runner can be compared byte for byte. Writing through a filesystem other than the local one is the
pipeline's job (it calls :func:`encode_shard` and stores the bytes with Beam's FileSystems).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.schemas import DATASETS

ROWS_PER_BATCH = 1024
"""Rows per Arrow record batch; fixed so the bytes of a shard depend only on its rows."""


class EncodedShard(NamedTuple):
    """The bytes of one shard and what the manifest records about it."""

    data: bytes
    rows: int
    tokens: int
    """Sum of ``num_tokens`` (0 for datasets without that column, e.g. ``aligned``)."""
    sha256: str


def to_row(record: Any) -> Any:
    """Turn a NamedTuple record (nested NamedTuples and tuples included) into Arrow-ready dicts/lists."""
    if isinstance(record, tuple) and hasattr(record, "_asdict"):
        return {key: to_row(value) for key, value in record._asdict().items()}
    if isinstance(record, (list, tuple)):
        if record and isinstance(record[0], (int, float, str, bool)):
            return list(record)  # Arrow lists are homogeneous: a list of primitives needs no visit per item
        return [to_row(value) for value in record]
    if isinstance(record, Mapping):
        return {key: to_row(value) for key, value in record.items()}
    return record


def schema_of(dataset: str) -> pa.Schema:
    """The Arrow schema of a dataset name, or ValueError listing the known names."""
    try:
        return DATASETS[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}") from None


def encode_shard(dataset: str, rows: Iterable[Any]) -> EncodedShard:
    """Encode rows (NamedTuples or mappings with the schema's fields) as an Arrow IPC stream."""
    schema = schema_of(dataset)
    names = schema.names
    pyrows = [{name: row[name] for name in names} for row in map(to_row, rows)]
    return encode_table(dataset, pa.Table.from_pylist(pyrows, schema=schema))


def write_compact(writer: pa.ipc.RecordBatchStreamWriter, table: pa.Table) -> None:
    """Write ``table`` in record batches of :data:`ROWS_PER_BATCH` rows, each a compact copy of its rows.

    A slice of a larger array can carry more of its buffers into the IPC body than its own rows need, so
    the bytes would depend on how the rows were held before; copying each batch (``take``) makes them
    depend only on the rows, whether a shard is written at once or streamed from a merge."""
    for start in range(0, table.num_rows, ROWS_PER_BATCH):
        part = table.slice(start, ROWS_PER_BATCH)
        for batch in part.take(pa.array(range(part.num_rows), pa.int64())).combine_chunks().to_batches():
            writer.write_batch(batch)


def encode_table(dataset: str, table: pa.Table) -> EncodedShard:
    """Encode a Table of the dataset's schema as an Arrow IPC stream (fixed batch size: stable bytes)."""
    schema = schema_of(dataset)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        write_compact(writer, table)
    data = sink.getvalue()
    return EncodedShard(data, table.num_rows, count_tokens(table), hashlib.sha256(data).hexdigest())


def count_tokens(table: pa.Table) -> int:
    """The sum of ``num_tokens`` over the rows (0 for a dataset without that column, e.g. ``aligned``)."""
    if "num_tokens" not in table.schema.names or not table.num_rows:
        return 0
    return int(pa.compute.sum(table.column("num_tokens")).as_py() or 0)


def write_local_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes to a temporary sibling, fsync, then rename into place (readers never see half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def sha256_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def read_shard(
    path: str | Path, dataset: str, *, expected_rows: int | None = None, validate: bool = True
) -> pa.Table:
    """Memory-map one shard and return it as a Table whose buffers point into the map (no copy).

    Checks the schema and, when given, the row count: an Arrow stream cut at a message boundary reads
    back without any error, so the manifest's count is the only way to see the truncation. With
    ``validate`` every buffer is checked (``Table.validate(full=True)``: offsets, lengths, UTF-8), so a
    corrupt shard is a :class:`CorpusError` here instead of a crash (a segfault) when a row is read.
    """
    path = str(path)
    try:
        source = pa.memory_map(path, "r")
        table = pa.ipc.open_stream(source).read_all()
    except FileNotFoundError:
        raise CorpusError(path, "shard file is missing") from None
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as err:
        raise CorpusError(path, f"not a readable Arrow stream ({err})") from None
    expected = schema_of(dataset)
    if not table.schema.equals(expected):
        raise CorpusError(path, f"schema differs from the {dataset!r} schema of this kgtext version")
    if expected_rows is not None and table.num_rows != expected_rows:
        raise CorpusError(
            path, f"has {table.num_rows} rows, manifest says {expected_rows} (truncated shard?)"
        )
    if validate:
        try:
            table.validate(full=True)
        except pa.ArrowException as err:
            first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise CorpusError(path, f"corrupt shard ({first_line})") from None
    return table


def check_token_ids(table: pa.Table, vocab_size: int, path: str) -> None:
    """Every ``input_ids`` value lies in ``[0, vocab_size)`` and ``num_tokens`` is each row's length."""
    if "input_ids" not in table.column_names:
        return
    ids = table.column("input_ids")
    values = pc.list_flatten(ids)
    if len(values):
        bounds = pc.min_max(values).as_py()
        low, high = bounds["min"], bounds["max"]
        if low < 0 or high >= vocab_size:
            bad = low if low < 0 else high
            raise CorpusError(
                path,
                f"corrupt shard: token id {bad} in input_ids is outside the vocabulary (size {vocab_size})",
            )
    if (
        "num_tokens" in table.column_names
        and table.num_rows
        and not pc.all(pc.equal(pc.list_value_length(ids), table.column("num_tokens"))).as_py()
    ):
        raise CorpusError(path, "corrupt shard: num_tokens differs from the length of input_ids")
