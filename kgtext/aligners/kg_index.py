"""The KG as look-up files: each entity's triples and each IRI's names, by key hash (pure).

Phase 0 of ``build-corpus`` writes them once (:mod:`kgtext.pipelines.kg_index`); phase 1 opens them memory-mapped
in each worker and answers a document's questions (:func:`kgtext.aligners.candidates.gather`) without any join.
The KG therefore never waits in a shuffle, and an entity that thousands of documents mention (a hot key) is
looked up by each of them wherever it runs instead of being grouped on one worker.

A shard file is one Arrow IPC file with one row per key, sorted by ``(hash, key)``: ``hash`` (uint64, the
:func:`kgtext.aligners.lexicon_index.key_hash` of the key), ``key`` (the IRI) and ``value`` (binary: the pickled
plain tuples of :func:`facts_value` or :func:`names_value`). Keys are spread over shards by
``hash % shards``; the shard count follows the KG's size (:func:`shard_count`).
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from kgtext.aligners.lexicon_index import key_hash, open_mapped_shards, shard_of_hash
from kgtext.corpus.records import PICKLE_PROTOCOL
from kgtext.kg.records import Names, Triple

BLOB_SCHEMA = pa.schema([("hash", pa.uint64()), ("key", pa.string()), ("value", pa.binary())])
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


def facts_value(facts: Iterable[PlainFact]) -> bytes:
    """One head's facts, distinct and sorted (the order :class:`Triple` sorts in, the head being fixed)."""
    return pickle.dumps(tuple(sorted(set(facts))), protocol=PICKLE_PROTOCOL)


def names_value(names: Iterable[Names]) -> bytes:
    """One IRI's names: the smallest when the KG gave several (as a join sorting them would pick)."""
    _, label, aliases = min(names)
    return pickle.dumps((label, tuple(aliases)), protocol=PICKLE_PROTOCOL)


def encode_blob_shard(values: Mapping[str, bytes]) -> bytes:
    """The shard file's bytes: one row per key, sorted by (hash, key)."""
    order = sorted((key_hash(key), key) for key in values)
    table = pa.table(
        [
            pa.array([h for h, _ in order], pa.uint64()),
            pa.array([k for _, k in order], pa.string()),
            pa.array([values[k] for _, k in order], pa.binary()),
        ],
        schema=BLOB_SCHEMA,
    )
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, BLOB_SCHEMA) as writer:
        writer.write_table(table, max_chunksize=max(1, len(order)))
    return sink.getvalue()


class BlobIndex:
    """Shard files, memory-mapped (pages come from the page cache, not the heap); vectorised look-ups."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.shards = len(paths)
        self._tables, self._hashes = open_mapped_shards(paths)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The value of each key the index holds (absent keys are left out)."""
        wanted = sorted(set(keys))
        found: dict[str, bytes] = {}
        if not wanted or not self.shards:
            return found
        hashes = np.fromiter((key_hash(k) for k in wanted), dtype=np.uint64, count=len(wanted))
        shard_of_key = hashes % np.uint64(self.shards)
        for shard in np.unique(shard_of_key).tolist():
            column = self._hashes[shard]
            if not len(column):
                continue
            mine = np.flatnonzero(shard_of_key == shard)
            lo = np.searchsorted(column, hashes[mine], side="left")
            hi = np.searchsorted(column, hashes[mine], side="right")
            table = self._tables[shard]
            key_col, value_col = table.column("key"), table.column("value")
            for i, start, end in zip(mine.tolist(), lo.tolist(), hi.tolist(), strict=True):
                for row in range(start, end):  # more than one row only on a 64-bit hash collision
                    if key_col[row].as_py() == wanted[i]:
                        found[wanted[i]] = value_col[row].as_py()
                        break
        return found


class KgIndex:
    """The facts and names shard files of one build (:class:`kgtext.aligners.candidates.KgLookup`)."""

    def __init__(self, fact_paths: Sequence[str], name_paths: Sequence[str]) -> None:
        self._facts = BlobIndex(fact_paths)
        self._names = BlobIndex(name_paths)

    def facts(self, iris: Iterable[str]) -> dict[str, tuple[Triple, ...]]:
        """Triples headed by each IRI that heads any, sorted."""
        return {
            iri: tuple(Triple(iri, *fact) for fact in pickle.loads(value))
            for iri, value in self._facts.get_many(iris).items()
        }

    def names(self, iris: Iterable[str]) -> dict[str, Names]:
        """Names of each IRI the KG names."""
        out: dict[str, Names] = {}
        for iri, value in self._names.get_many(iris).items():
            label, aliases = pickle.loads(value)
            out[iri] = Names(iri, label, tuple(aliases))
        return out
