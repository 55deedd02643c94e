# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Beam stage of phase 1: aligned documents -> the ``names`` dataset (IRI, display label, kind) per split.

Every entity or relation IRI of a split's ``aligned/`` rows (mentions and triples of the sentences that
pass the filters, hence every IRI of ``uktp/``) with a KG display label gets one row in that split, so a
user can join IRIs to names without the KG. Only ``(split, IRI) -> (kind, label)`` pairs cross the first
shuffle (one per document and IRI, combined); the second groups a shard's rows, sorted by IRI.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from kgtext.corpus.records import NameRow
from kgtext.corpus.schemas import NAMES, MentionKind
from kgtext.corpus.shard_writer import DocRows, encode_doc_rows
from kgtext.corpus.sharding import shard_of, split_of
from kgtext.pipelines.records import AlignedRecord, GroupKey

ENTITY, RELATION = MentionKind.ENTITY.value, MentionKind.RELATION.value


def name_pairs(
    record: AlignedRecord, valid_fraction: float
) -> Iterator[tuple[tuple[str, str], tuple[str, str]]]:
    """``((split, iri), (kind, label))`` for every labelled IRI of the document's aligned rows."""
    labels = dict(record.labels)
    kinds: dict[str, str] = {}
    for sentence in record.doc.sentences:
        if not sentence.passes_filter:
            continue
        for mention in sentence.mentions:
            kinds.setdefault(mention.entity, RELATION if mention.kind == RELATION else ENTITY)
        for triple in sentence.triples:
            kinds[triple.relation] = RELATION
            kinds.setdefault(triple.head, ENTITY)
            if not triple.tail_is_literal:
                kinds.setdefault(triple.tail, ENTITY)
    split = split_of(record.doc.doc_id, valid_fraction)
    for iri in sorted(kinds):
        if iri in labels:
            yield (split, iri), (kinds[iri], labels[iri])


def to_name_shard(item: tuple[tuple[str, str], tuple[str, str]], num_shards: int) -> tuple[GroupKey, NameRow]:
    (split, iri), (kind, label) = item
    return (NAMES, split, shard_of(iri, num_shards)), NameRow(iri, label, kind)


def encode_name_shard(group: tuple[GroupKey, Iterable[NameRow]]) -> tuple[GroupKey, DocRows]:
    """A shard's names, sorted by IRI, as one row batch (the shard writer then merges nothing)."""
    key, rows = group
    return key, encode_doc_rows(NAMES, "", sorted(rows))


class NameRows(beam.PTransform[Any, Any]):
    """PCollection[AlignedRecord] -> PCollection[(GroupKey, DocRows)] of the ``names`` dataset."""

    def __init__(self, num_shards: int, valid_fraction: float) -> None:
        super().__init__()
        self.num_shards = num_shards
        self.valid_fraction = valid_fraction

    def expand(self, records: Any) -> Any:
        return (
            records
            | "NamePairs" >> beam.FlatMap(name_pairs, self.valid_fraction)
            # One label per IRI in the KG; where an IRI is both, "relation" > "entity" wins.
            | "OnePerIri" >> beam.CombinePerKey(max)
            | "ToNameShard" >> beam.Map(to_name_shard, self.num_shards)
            | "GroupNames" >> beam.GroupByKey()
            | "EncodeNames" >> beam.Map(encode_name_shard)
        )
