# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Plain-text linking, wired: the KG's names -> the surface-form index files (phase 0). Phase 1 looks each
cleaned document's words up in them in :class:`pipelines.kg_index.GatherFn`.

Phase 0 joins every entity's :class:`Names` with its KG degree (CombinePerKey over the triples), turns them
into :class:`aligners.lexicon_index.FormEntry` rows keyed by index shard, and writes one sorted Arrow file
per shard through FileSystems.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam

from aligners.language import stop_words
from aligners.lexicon_index import (
    FormEntry,
    encode_index_shard,
    forms_of,
    shard_of_hash,
)
from kg.records import Names, Triple
from pipelines.files import write_atomic
from pipelines.records import Stat
from pipelines.writers import join_path

logger = logging.getLogger(__name__)

INDEX_SHARDS = 8
MAX_WORDS = 8
"""Longest surface form, in words, that is indexed and looked up."""
MAX_UNSPACED_CHARS = 16
"""Longest span, in characters, looked up in languages written without spaces."""
MAX_ENTITIES_PER_FORM = 256
"""A form shared by more entities keeps the ones with the highest KG degree (the rest are counted)."""


def index_file(index_dir: str, shard: int, shards: int) -> str:
    return join_path(index_dir, f"forms-{shard:05d}-of-{shards:05d}.arrow")


def _degree_pairs(triple: Triple) -> Iterator[tuple[str, int]]:
    yield triple.head, 1
    if not triple.tail_is_literal:
        yield triple.tail, 1


def _key_names(names: Names) -> tuple[str, Names]:
    return names.iri, names


EntityForms = tuple[list[tuple[int, str, int, int]], int]
"""One named entity's form entries (plain tuples) and how many of its forms were left out."""


def _entity_forms(
    group: tuple[str, Mapping[str, Iterable[Any]]], min_chars: int, stops: frozenset[str]
) -> Iterator[EntityForms]:
    """Nothing for an IRI without names (it only has a degree)."""
    _, parts = group
    names = sorted(parts["names"])
    if names:
        entries, skipped = forms_of(names[0], sum(parts["degree"]), min_chars, MAX_WORDS, stops)
        yield [(e.hash, e.iri, e.source, e.prior) for e in entries], skipped


def _keyed_entries(forms: EntityForms, shards: int) -> Iterator[tuple[int, tuple[int, str, int, int]]]:
    for row in forms[0]:
        yield shard_of_hash(row[0], shards), row


def _entity_stats(forms: EntityForms) -> Iterator[Stat]:
    yield "lexicon.entities", 1
    if forms[1]:
        yield "lexicon.forms.skipped", forms[1]


def _write_shard(
    group: tuple[int, Iterable[tuple[int, str, int, int]]], index_dir: str, shards: int
) -> Iterator[Stat]:
    shard, rows = group
    entries = [FormEntry(*r) for r in rows]
    data, dropped = encode_index_shard(entries, MAX_ENTITIES_PER_FORM)
    write_atomic(index_file(index_dir, shard, shards), data)
    yield "lexicon.forms", len(entries) - dropped
    yield "lexicon.forms.capped", dropped


def _without_markers(group: tuple[int, Iterable[Any]]) -> tuple[int, list[Any]]:
    return group[0], [row for row in group[1] if row is not None]


class BuildLexiconIndex(beam.PTransform[Any, Any]):
    """``(names, triples)`` -> the index shard files under ``index_dir``; returns PCollection[Stat]."""

    def __init__(
        self, triples: Any, index_dir: str, min_chars: int, language: str, shards: int = INDEX_SHARDS
    ) -> None:
        super().__init__()
        self.triples = triples
        self.index_dir = index_dir
        self.min_chars = min_chars
        self.stops = stop_words(language)
        self.shards = shards

    def expand(self, names: Any) -> Any:
        degree = (
            self.triples
            | "DegreePairs" >> beam.FlatMap(_degree_pairs)
            | "SumDegree" >> beam.CombinePerKey(sum)
        )
        markers = names.pipeline | "EveryShard" >> beam.Create([(i, None) for i in range(self.shards)])
        joined = {"names": names | "KeyNames" >> beam.Map(_key_names), "degree": degree} | "JoinDegree" >> (
            beam.CoGroupByKey()
        )
        forms = joined | "EntityForms" >> beam.FlatMap(_entity_forms, self.min_chars, self.stops)
        entries = forms | "FormEntries" >> beam.FlatMap(_keyed_entries, self.shards)
        written = (
            (entries, markers)
            | "WithShardMarkers" >> beam.Flatten()
            | "GroupByIndexShard" >> beam.GroupByKey()
            | "DropMarkers" >> beam.Map(_without_markers)
            | "WriteIndexShard" >> beam.FlatMap(_write_shard, self.index_dir, self.shards)
        )
        return (
            written,
            forms | "EntityStats" >> beam.FlatMap(_entity_stats),
        ) | "IndexStats" >> beam.Flatten()
