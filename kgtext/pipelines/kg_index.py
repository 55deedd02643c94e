# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""The KG as look-up files (phase 0), and each document's look-ups in them (phase 1), wired.

Phase 0: every triple (keyed by its head's index shard) and every entity's :class:`Names` (keyed by its
IRI's shard) are spilled by the worker that read them into run files (:class:`SpillRuns`); only the run
files' names are grouped, and one step per shard reads its runs and writes the sorted shard file
(:func:`kgtext.aligners.kg_index.encode_facts_shard`, :func:`~kgtext.aligners.kg_index.encode_names_shard`). Phase 1's :class:`GatherFn` opens the files memory-mapped
in ``DoFn.setup`` (once per worker process) together with the surface-form index when plain-text linking
is on, and turns each cleaned document into its :class:`~aligners.candidates.AlignInput` with
:func:`kgtext.aligners.candidates.gather`: no KG triple, name or document waits in a shuffle, and a hot entity
is looked up where each of its documents is, not grouped on one worker.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import apache_beam as beam

from kgtext.aligners.candidates import AlignInput, gather
from kgtext.aligners.kg_index import (
    KgIndex,
    encode_facts_shard,
    encode_names_shard,
    facts_value,
    names_value,
    shard_of,
)
from kgtext.aligners.language import language_for
from kgtext.aligners.lexicon_index import FoundCandidates, LexiconIndex, find_candidates
from kgtext.aligners.records import CleanedDocument
from kgtext.corpus.records import PICKLE_PROTOCOL
from kgtext.kg.records import Names, Triple
from kgtext.pipelines.files import read_bytes, write_atomic
from kgtext.pipelines.writers import SpillRuns, join_path

logger = logging.getLogger(__name__)

FACTS, NAMES = "facts", "names"
KG_SPILL_BYTES = 16 * 2**20
"""Estimated bytes of buffered facts/names per spill: the estimate counts ~175 B per value while the Python
objects take ~430 B, so 16 MiB keeps a worker's real buffer near 40 MiB (measured, docs/SCALING.md)."""


class IndexFiles(NamedTuple):
    """Where one build's KG index lives, and how many shards each kind has."""

    root: str
    shards: int

    def path(self, kind: str, shard: int) -> str:
        return join_path(self.root, f"{kind}-{shard:05d}-of-{self.shards:05d}.arrow")

    def paths(self, kind: str) -> list[str]:
        return [self.path(kind, i) for i in range(self.shards)]

    @property
    def runs(self) -> str:
        return join_path(self.root, "runs")


def _spill_fact(triple: Triple, shards: int) -> tuple[tuple[str, int], tuple[tuple[Any, ...], int]]:
    fact = (triple.head, tuple(triple[1:]))
    size = 64 + len(triple.head) + len(triple.relation) + len(triple.tail) + len(triple.datatype)
    return (FACTS, shard_of(triple.head, shards)), (fact, size)


def _spill_names(names: Names, shards: int) -> tuple[tuple[str, int], tuple[tuple[Any, ...], int]]:
    size = 64 + len(names.iri) + len(names.label) + sum(len(a) + 8 for a in names.aliases)
    return (NAMES, shard_of(names.iri, shards)), (tuple(names), size)


def _encode_run(values: list[tuple[Any, ...]]) -> bytes:
    return pickle.dumps(values, protocol=PICKLE_PROTOCOL)


def write_index_shard(group: tuple[tuple[str, int], Iterable[str | None]], files: IndexFiles) -> str:
    """Read one shard's run files (``None`` items are the markers that make every shard exist) and write it."""
    (kind, shard), runs = group
    values: dict[str, Any] = {}
    for path in sorted(p for p in runs if p is not None):
        for item in pickle.loads(read_bytes(path)):
            if kind == FACTS:
                values.setdefault(item[0], []).append(item[1])
            else:
                values.setdefault(item[0], []).append(Names._make(item))
    target = files.path(kind, shard)
    if kind == FACTS:
        data = encode_facts_shard({key: facts_value(items) for key, items in values.items()})
    else:
        data = encode_names_shard({key: names_value(items) for key, items in values.items()})
    write_atomic(target, data)
    return target


class BuildKgIndex(beam.PTransform[Any, Any]):
    """``(triples, names)`` -> the facts and names shard files; returns PCollection[written path]."""

    def __init__(self, names: Any, files: IndexFiles) -> None:
        super().__init__()
        self.names = names
        self.files = files

    def expand(self, triples: Any) -> Any:
        shards = self.files.shards
        markers = triples.pipeline | "EveryShard" >> beam.Create(
            [((kind, i), None) for kind in (FACTS, NAMES) for i in range(shards)]
        )
        runs = SpillRuns(self.files.runs, _encode_run, "pickle", spill_bytes=KG_SPILL_BYTES)
        return (
            (
                triples
                | "KeyFactsByShard" >> beam.Map(_spill_fact, shards)
                | "SpillFactRuns" >> beam.ParDo(runs),
                self.names
                | "KeyNamesByShard" >> beam.Map(_spill_names, shards)
                | "SpillNameRuns" >> beam.ParDo(runs),
                markers,
            )
            | "WithIndexMarkers" >> beam.Flatten()
            | "GroupRunsByShard" >> beam.GroupByKey()
            | "WriteIndexShard" >> beam.Map(write_index_shard, self.files)
        )


def local_copies(paths: Sequence[str]) -> tuple[list[str], tempfile.TemporaryDirectory[str] | None]:
    """Local paths for memory-mapping: the paths themselves, or copies of remote files in a temporary folder."""
    if all("://" not in p for p in paths):
        return list(paths), None
    folder = tempfile.TemporaryDirectory(prefix="kgtext-index-")
    local = []
    for path in paths:
        target = os.path.join(folder.name, os.path.basename(path))
        with open(target, "wb") as handle:
            handle.write(read_bytes(path))
        local.append(target)
    return local, folder


class Lexicon(NamedTuple):
    """Plain-text linking in :class:`GatherFn`: the surface-form index and how candidates are found."""

    paths: Sequence[str]
    language: str
    max_words: int
    max_unspaced_chars: int
    max_candidates: int
    linked_too: bool
    """Look up documents that have links too (``--lexicon-linking all``)."""
    max_candidates_per_name: int = 0
    """Entities kept per surface form that names several (0: all; :func:`kgtext.aligners.candidates.keep_per_form`)."""


class GatherFn(beam.DoFn):
    """Cleaned document -> :class:`AlignInput`: its links, subject and (with ``lexicon``) plain-text candidates
    looked up in the KG index. The index files are opened once per worker in :meth:`setup`."""

    def __init__(self, files: IndexFiles, lexicon: Lexicon | None) -> None:
        self.files = files
        self.lexicon = lexicon
        self._kg: KgIndex | None = None
        self._forms: LexiconIndex | None = None
        self._copies: list[tempfile.TemporaryDirectory[str]] = []
        self._max_units = 0
        self._spaced = True

    def _open(self, paths: Sequence[str]) -> list[str]:
        local, folder = local_copies(paths)
        if folder is not None:
            self._copies.append(folder)
        return local

    def setup(self) -> None:
        self._kg = KgIndex(self._open(self.files.paths(FACTS)), self._open(self.files.paths(NAMES)))
        if self.lexicon is not None:
            self._forms = LexiconIndex(self._open(self.lexicon.paths))
            self._spaced = language_for(self.lexicon.language).spaced
            self._max_units = self.lexicon.max_words if self._spaced else self.lexicon.max_unspaced_chars

    def teardown(self) -> None:
        for folder in self._copies:
            folder.cleanup()

    def _candidates(self, doc: CleanedDocument) -> FoundCandidates | None:
        lexicon = self.lexicon
        if lexicon is None or self._forms is None or (doc.links and not lexicon.linked_too):
            return None
        found = find_candidates(
            doc.text(), self._forms, self._max_units, spaced=self._spaced, limit=lexicon.max_candidates
        )
        if found.skipped:
            logger.warning(
                "%s: %d lexicon candidates over max_candidates were skipped", doc.id, found.skipped
            )
        return found

    def process(self, doc: CleanedDocument) -> Iterator[AlignInput]:
        assert self._kg is not None
        found = self._candidates(doc)
        if found is None:
            yield gather(doc, (), self._kg)
            return
        iris = [c.iri for c in found.candidates]
        relations = [c.iri for c in found.candidates if c.relation]
        per_form = self.lexicon.max_candidates_per_name if self.lexicon is not None else 0
        yield gather(doc, iris, self._kg, relations, found=found, per_form=per_form)
