# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Plain-text linking, wired: the KG's names -> the surface-form index files (phase 0). Phase 1 looks each
cleaned document's words up in them in :class:`kgtext.pipelines.kg_index.GatherFn`.

Phase 0 gives every named entity its KG degree without a shuffle of per-triple records: the workers that
read the KG spill each triple's endpoints and each entity's :class:`Names` to run files partitioned by IRI
shard (:class:`kgtext.pipelines.writers.SpillRuns`; only the file names are grouped), and one step per IRI shard
counts the degrees and turns the shard's names into :class:`kgtext.aligners.lexicon_index.FormEntry` rows keyed
by index shard; those are grouped and written as one sorted Arrow file per index shard through
FileSystems. (A CombinePerKey + CoGroupByKey held ~470 bytes per KG triple in the in-process DirectRunner's
memory, docs/SCALING.md.)
"""

from __future__ import annotations

import logging
import pickle
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from kgtext.aligners.kg_index import shard_of
from kgtext.aligners.language import stop_words
from kgtext.aligners.lexicon_index import (
    FormEntry,
    encode_index_shard,
    forms_of,
    shard_of_hash,
)
from kgtext.corpus.records import PICKLE_PROTOCOL
from kgtext.corpus.stats import StatKey
from kgtext.kg.records import Names, Triple
from kgtext.pipelines.files import read_bytes, write_atomic
from kgtext.pipelines.records import Stat
from kgtext.pipelines.writers import SpillRuns, join_path

logger = logging.getLogger(__name__)

INDEX_SHARDS = 8

FormRow = tuple[Any, str, int, int, bool]
"""A :class:`FormEntry` as a plain tuple. Its hash is an unsigned 64-bit int, beyond the signed range of the
VarIntCoder that Beam (2.78+) picks for an ``int`` hint, so it is typed ``Any`` (a coder that holds any int)."""
EntityForms = tuple[list[FormRow], int]
"""One named entity's form entries (plain tuples) and how many of its forms were left out."""
MAX_WORDS = 8
"""Longest surface form, in words, that is indexed and looked up."""
MAX_UNSPACED_CHARS = 16
"""Longest span, in characters, looked up in languages written without spaces."""
MAX_ENTITIES_PER_FORM = 256
"""A form shared by more entities keeps the ones with the highest KG degree (the rest are counted)."""


def index_file(index_dir: str, shard: int, shards: int) -> str:
    return join_path(index_dir, f"forms-{shard:05d}-of-{shards:05d}.arrow")


DEGREE, NAMED, PREDICATE = "degree", "named", "predicate"
"""Run kinds: the IRI endpoints of triples (one value per endpoint), entities' Names, and the distinct IRIs triples
use as predicates (each once, after a ``Distinct`` that only ever holds the few distinct ones; their forms are
marked ``relation``)."""
LEXICON_SPILL_BYTES = 16 * 2**20
"""Estimated bytes buffered per spill (see :data:`kgtext.pipelines.kg_index.KG_SPILL_BYTES`)."""


def _spill_degree(triple: Triple, shards: int) -> Iterator[tuple[tuple[str, int], tuple[str, int]]]:
    yield (DEGREE, shard_of(triple.head, shards)), (triple.head, 60 + len(triple.head))
    if not triple.tail_is_literal:
        yield (DEGREE, shard_of(triple.tail, shards)), (triple.tail, 60 + len(triple.tail))


def _relation(triple: Triple) -> str:
    return triple.relation


def _spill_predicate(iri: str, shards: int) -> tuple[tuple[str, int], tuple[str, int]]:
    return (PREDICATE, shard_of(iri, shards)), (iri, 60 + len(iri))


def _spill_named(names: Names, shards: int) -> tuple[tuple[str, int], tuple[Names, int]]:
    size = 200 + len(names.iri) + len(names.label) + sum(len(a) + 50 for a in names.aliases)
    return (NAMED, shard_of(names.iri, shards)), (names, size)


def _encode_run(values: list[Any]) -> bytes:
    return pickle.dumps(values, protocol=PICKLE_PROTOCOL)


def _by_iri_shard(item: tuple[Any, str | None]) -> tuple[int, tuple[str, str] | None]:
    """``((kind, shard), run path or None)``: the key is typed ``Any`` because Beam (2.78+) infers the flattened
    spill runs' key as ``Tuple[Any, ...]`` and the markers' as ``Tuple[str, int]``."""
    (kind, shard), path = item
    return shard, (None if path is None else (kind, path))


def shard_forms(
    group: tuple[int, Iterable[tuple[str, str] | None]], min_chars: int, stops: frozenset[str]
) -> Iterator[EntityForms]:
    """One IRI shard: count its IRIs' degrees from the degree runs, and the forms of every named entity
    (by IRI order; an IRI with several Names uses the smallest, as a join would)."""
    _, items = group
    runs = sorted(item for item in items if item is not None)
    degree: Counter[str] = Counter()
    predicates: set[str] = set()
    named: dict[str, list[Names]] = {}
    for kind, path in runs:
        values = pickle.loads(read_bytes(path))
        if kind == DEGREE:
            degree.update(values)
        elif kind == PREDICATE:
            predicates.update(values)
        else:
            for names in values:
                named.setdefault(names.iri, []).append(names)
    for iri in sorted(named):
        relation = iri in predicates
        entries, skipped = forms_of(
            min(named[iri]), degree[iri], min_chars, MAX_WORDS, stops, relation=relation
        )
        yield [(e.hash, e.iri, e.source, e.prior, e.relation) for e in entries], skipped


def _keyed_entries(forms: EntityForms, shards: int) -> Iterator[tuple[int, FormRow]]:
    for row in forms[0]:
        yield shard_of_hash(row[0], shards), row


def _entity_stats(forms: EntityForms) -> Iterator[Stat]:
    yield StatKey.LEXICON_ENTITIES.value, 1
    if forms[1]:
        yield StatKey.LEXICON_FORMS_SKIPPED.value, forms[1]


def _write_shard(group: tuple[int, Iterable[FormRow]], index_dir: str, shards: int) -> Iterator[Stat]:
    shard, rows = group
    entries = [FormEntry(*r) for r in rows]
    data, dropped = encode_index_shard(entries, MAX_ENTITIES_PER_FORM)
    write_atomic(index_file(index_dir, shard, shards), data)
    yield StatKey.LEXICON_FORMS.value, len(entries) - dropped
    yield StatKey.LEXICON_FORMS_CAPPED.value, dropped


def _without_markers(group: tuple[int, Iterable[Any]]) -> tuple[int, list[Any]]:
    return group[0], [row for row in group[1] if row is not None]


class BuildLexiconIndex(beam.PTransform[Any, Any]):
    """``(names, triples)`` -> the index shard files under ``index_dir``; returns PCollection[Stat]."""

    def __init__(
        self,
        triples: Any,
        index_dir: str,
        min_chars: int,
        language: str,
        shards: int = INDEX_SHARDS,
        iri_shards: int = INDEX_SHARDS,
    ) -> None:
        super().__init__()
        self.triples = triples
        self.index_dir = index_dir
        self.min_chars = min_chars
        self.stops = stop_words(language)
        self.shards = shards
        self.iri_shards = iri_shards
        """IRI shards of the degree count: one step holds one shard's degrees (follows the KG's size)."""

    def expand(self, names: Any) -> Any:
        runs = SpillRuns(
            join_path(self.index_dir, "runs"), _encode_run, "pickle", spill_bytes=LEXICON_SPILL_BYTES
        )
        iri_markers = names.pipeline | "EveryIriShard" >> beam.Create(
            [((kind, i), None) for kind in (DEGREE, NAMED, PREDICATE) for i in range(self.iri_shards)]
        )
        forms = (
            (
                self.triples
                | "KeyEndpoints" >> beam.FlatMap(_spill_degree, self.iri_shards)
                | "SpillDegreeRuns" >> beam.ParDo(runs),
                # A KG uses few distinct predicates: only those are spilled (not one value per triple).
                self.triples
                | "Predicates" >> beam.Map(_relation)
                | "DistinctPredicates" >> beam.Distinct()
                | "KeyPredicates" >> beam.Map(_spill_predicate, self.iri_shards)
                | "SpillPredicateRuns" >> beam.ParDo(runs),
                names
                | "KeyNamesByIri" >> beam.Map(_spill_named, self.iri_shards)
                | "SpillNamedRuns" >> beam.ParDo(runs),
                iri_markers,
            )
            | "WithIriMarkers" >> beam.Flatten()
            | "ByIriShard" >> beam.Map(_by_iri_shard)
            | "GroupRunsByIriShard" >> beam.GroupByKey()
            | "EntityForms" >> beam.FlatMap(shard_forms, self.min_chars, self.stops)
        )
        markers = names.pipeline | "EveryShard" >> beam.Create([(i, None) for i in range(self.shards)])
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
