"""The KG as look-up files: each entity's triples and each IRI's names, by key hash (pure).

Phase 0 of ``build-corpus`` writes them once (:mod:`kgtext.pipelines.kg_index`); phase 1 opens them memory-mapped
in each worker and answers a document's questions (:func:`kgtext.aligners.candidates.gather`) without any join.
The KG therefore never waits in a shuffle, and an entity that thousands of documents mention (a hot key) is
looked up by each of them wherever it runs instead of being grouped on one worker.

A shard file is one Arrow IPC file with one row per key, sorted by ``(hash, key)``: ``hash`` (uint64, the
:func:`kgtext.aligners.lexicon_index.key_hash` of the key), ``key`` (the IRI) and typed value columns: a facts
shard (:data:`FACTS_SCHEMA`) holds the head's triples as a list of structs, a names shard (:data:`NAMES_SCHEMA`)
the label and aliases. Nothing is pickled: an index is a file users share (``kgtext index-kg``), and a file
of any other schema is refused when it is opened. Keys are spread over shards by ``hash % shards``; the shard
count follows the KG's size (:func:`shard_count`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from kgtext.aligners.lexicon_index import IndexFormatError as IndexFormatError  # re-exported
from kgtext.aligners.lexicon_index import key_hash, open_mapped_shards, shard_of_hash
from kgtext.kg.records import Names, Triple

FACT_TYPE = pa.struct(
    [
        pa.field("relation", pa.string(), nullable=False),
        pa.field("tail", pa.string(), nullable=False),
        pa.field("tail_is_literal", pa.bool_(), nullable=False),
        pa.field("datatype", pa.string(), nullable=False),
        pa.field("lang", pa.string(), nullable=False),
    ]
)
FACTS_SCHEMA = pa.schema(
    [
        pa.field("hash", pa.uint64(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("facts", pa.list_(pa.field("item", FACT_TYPE, nullable=False)), nullable=False),
    ]
)
"""A facts shard: one row per head IRI, its triples without the head, distinct and sorted."""
NAMES_SCHEMA = pa.schema(
    [
        pa.field("hash", pa.uint64(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("aliases", pa.list_(pa.field("item", pa.string(), nullable=False)), nullable=False),
    ]
)
"""A names shard: one row per IRI, its label and aliases."""
INPUT_BYTES_PER_SHARD = 64 * 1024 * 1024
"""KG input bytes per index shard: one shard is sorted and written in one worker's memory."""
MIN_SHARDS, MAX_SHARDS = 8, 4096

PlainFact = tuple[str, str, bool, str, str]
"""A triple without its head (the key): relation, tail, tail_is_literal, datatype, lang."""


def shard_count(kg_bytes: int) -> int:
    """Index shards for a KG of ``kg_bytes`` input bytes (at least 8, ~64 MiB of input each)."""
    return max(MIN_SHARDS, min(MAX_SHARDS, -(-kg_bytes // INPUT_BYTES_PER_SHARD)))


def shard_of(key: str, shards: int) -> int:
    return shard_of_hash(key_hash(key), shards)


def facts_value(facts: Iterable[PlainFact]) -> tuple[PlainFact, ...]:
    """One head's facts, distinct and sorted (the order :class:`Triple` sorts in, the head being fixed)."""
    return tuple(sorted(set(facts)))


def names_value(names: Iterable[Names]) -> tuple[str, tuple[str, ...]]:
    """One IRI's names: the smallest when the KG gave several (as a join sorting them would pick)."""
    _, label, aliases = min(names)
    return label, tuple(aliases)


def _order(keys: Iterable[str]) -> list[tuple[int, str]]:
    return sorted((key_hash(key), key) for key in keys)


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(1, table.num_rows))
    return sink.getvalue()


def encode_facts_shard(values: Mapping[str, Sequence[PlainFact]]) -> bytes:
    """A facts shard file's bytes: one row per head, sorted by (hash, key); typed columns only."""
    order = _order(values)
    fields = FACT_TYPE.names
    facts = [[dict(zip(fields, fact, strict=True)) for fact in values[k]] for _, k in order]
    table = pa.table(
        [
            pa.array([h for h, _ in order], pa.uint64()),
            pa.array([k for _, k in order], pa.string()),
            pa.array(facts, FACTS_SCHEMA.field("facts").type),
        ],
        schema=FACTS_SCHEMA,
    )
    return _ipc_bytes(table)


def encode_names_shard(values: Mapping[str, tuple[str, Sequence[str]]]) -> bytes:
    """A names shard file's bytes: one row per IRI, sorted by (hash, key); typed columns only."""
    order = _order(values)
    table = pa.table(
        [
            pa.array([h for h, _ in order], pa.uint64()),
            pa.array([k for _, k in order], pa.string()),
            pa.array([values[k][0] for _, k in order], pa.string()),
            pa.array([list(values[k][1]) for _, k in order], NAMES_SCHEMA.field("aliases").type),
        ],
        schema=NAMES_SCHEMA,
    )
    return _ipc_bytes(table)


class RowIndex:
    """Shard files of one schema, memory-mapped (pages come from the page cache, not the heap); vectorised
    look-ups. A file of any other schema is refused: the files are read as typed columns, never unpickled."""

    def __init__(self, paths: Sequence[str], schema: pa.Schema) -> None:
        self.shards = len(paths)
        self._tables, self._hashes = open_mapped_shards(paths, schema)
        # Each column as its one chunk when it has one (indexing an Array skips the chunk search).
        self._columns: list[dict[str, pa.Array | pa.ChunkedArray]] = [
            {
                name: col.chunk(0) if col.num_chunks == 1 else col
                for name, col in zip(t.column_names, t.columns, strict=True)
            }
            for t in self._tables
        ]

    def lookup(self, keys: Iterable[str], columns: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """``key -> (value of each of columns)`` for each key the index holds (absent keys are left out).

        Rows are read one by one from each shard's columns (a document asks for a few rows per shard, where
        one ``take`` per shard costs more than the rows it saves)."""
        wanted = sorted(set(keys))
        out: dict[str, tuple[Any, ...]] = {}
        if not wanted or not self.shards:
            return out
        hashes = np.fromiter((key_hash(k) for k in wanted), dtype=np.uint64, count=len(wanted))
        shard_of_key = hashes % np.uint64(self.shards)
        for shard in np.unique(shard_of_key).tolist():
            column = self._hashes[shard]
            if not len(column):
                continue
            mine = np.flatnonzero(shard_of_key == shard)
            lo = np.searchsorted(column, hashes[mine], side="left")
            hi = np.searchsorted(column, hashes[mine], side="right")
            key_col = self._columns[shard]["key"]
            value_cols = [self._columns[shard][name] for name in columns]
            for i, start, end in zip(mine.tolist(), lo.tolist(), hi.tolist(), strict=True):
                for row in range(start, end):  # more than one row only on a 64-bit hash collision
                    if key_col[row].as_py() == wanted[i]:
                        out[wanted[i]] = tuple(col[row].as_py() for col in value_cols)
                        break
        return out


class KgIndex:
    """The facts and names shard files of one build (:class:`kgtext.aligners.candidates.KgLookup`)."""

    def __init__(self, fact_paths: Sequence[str], name_paths: Sequence[str]) -> None:
        self._facts = RowIndex(fact_paths, FACTS_SCHEMA)
        self._names = RowIndex(name_paths, NAMES_SCHEMA)

    def facts(self, iris: Iterable[str]) -> dict[str, tuple[Triple, ...]]:
        """Triples headed by each IRI that heads any, sorted."""
        return {
            iri: tuple(
                Triple(iri, f["relation"], f["tail"], f["tail_is_literal"], f["datatype"], f["lang"])
                for f in facts
            )
            for iri, (facts,) in self._facts.lookup(iris, ("facts",)).items()
        }

    def names(self, iris: Iterable[str]) -> dict[str, Names]:
        """Names of each IRI the KG names."""
        return {
            iri: Names(iri, label, tuple(aliases))
            for iri, (label, aliases) in self._names.lookup(iris, ("label", "aliases")).items()
        }
