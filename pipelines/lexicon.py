# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Plain-text linking, wired: the KG's names -> the surface-form index files (phase 0), and each cleaned
document -> seed requests for the KG entities its words may name (phase 1).

Phase 0 joins every entity's :class:`Names` with its KG degree (CombinePerKey over the triples), turns them
into :class:`aligners.lexicon_index.FormEntry` rows keyed by index shard, and writes one sorted Arrow file
per shard through FileSystems. Phase 1's :class:`FindCandidates` opens the files memory-mapped in
``DoFn.setup`` (once per worker process) and emits ``(IRI, SeedRequest)`` pairs that join the links' and
subject's requests in :class:`pipelines.join.JoinCandidates`. Nothing but small records crosses a shuffle.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam

from aligners.language import language_for, stop_words
from aligners.lexicon_index import (
    FormEntry,
    LexiconIndex,
    document_candidates,
    encode_index_shard,
    forms_of,
    shard_of_hash,
)
from aligners.records import CleanedDocument
from kg.records import Names, Triple
from pipelines.files import read_bytes, write_atomic
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


class FindCandidatesFn(beam.DoFn):
    """Cleaned document -> ``(IRI, SeedRequest)`` for each KG entity its words may name (not its links or
    subject, which are requested already; documents with links only with ``linked_too``). The index is
    opened once per worker in :meth:`setup`."""

    def __init__(
        self, index_dir: str, shards: int, language: str, max_candidates: int, *, linked_too: bool = False
    ) -> None:
        self.linked_too = linked_too
        self.index_dir = index_dir
        self.shards = shards
        self.spaced = language_for(language).spaced
        self.max_candidates = max_candidates
        self._index: LexiconIndex | None = None
        self._local: tempfile.TemporaryDirectory[str] | None = None

    def setup(self) -> None:
        paths = [index_file(self.index_dir, i, self.shards) for i in range(self.shards)]
        if all("://" not in p for p in paths):
            self._index = LexiconIndex(paths)
            return
        # Remote index: copy the files to local disk once per worker so they can be memory-mapped.
        self._local = tempfile.TemporaryDirectory(prefix="kgtext-lexicon-")
        local = []
        for path in paths:
            target = os.path.join(self._local.name, os.path.basename(path))
            with open(target, "wb") as handle:
                handle.write(read_bytes(path))
            local.append(target)
        self._index = LexiconIndex(local)

    def teardown(self) -> None:
        if self._local is not None:
            self._local.cleanup()

    def process(self, doc: CleanedDocument) -> Iterator[tuple[str, tuple[str, bool]]]:
        """Plain tuples, like the other seed requests (see ``pipelines.join``)."""
        assert self._index is not None
        if doc.links and not self.linked_too:
            return
        known = {link.entity for link in doc.links} | ({doc.subject} if doc.subject else set())
        words = MAX_WORDS if self.spaced else MAX_UNSPACED_CHARS
        candidates, over = document_candidates(
            doc.text(), self._index, words, spaced=self.spaced, limit=self.max_candidates
        )
        if over:
            logger.warning("%s: %d lexicon candidates over max_candidates were skipped", doc.id, over)
        for candidate in candidates:
            if candidate.iri not in known:
                yield candidate.iri, (doc.id, False)
