# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Beam stage: AlignInput -> AlignedRecord with :class:`kgtext.aligners.align.Aligner` (spaCy loaded once per process).

The aligner is cached per process and per configuration, because runners differ in how often they call
``DoFn.setup`` (the DaskRunner calls it once per partition).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from kgtext.aligners.align import Aligner, document_stats
from kgtext.aligners.candidates import AlignInput
from kgtext.aligners.config import AlignerConfig
from kgtext.corpus.records import AlignedSentence
from kgtext.pipelines.progress import log_progress
from kgtext.pipelines.records import AlignedRecord, Stat

logger = logging.getLogger(__name__)

_ALIGNERS: dict[AlignerConfig, Aligner] = {}


def aligner_for(config: AlignerConfig) -> Aligner:
    """The process-wide aligner of a configuration (built on first use)."""
    aligner = _ALIGNERS.get(config)
    if aligner is None:
        aligner = _ALIGNERS[config] = Aligner(config)
    return aligner


def used_labels(record: AlignInput, sentences: tuple[AlignedSentence, ...]) -> tuple[tuple[str, str], ...]:
    """The display labels of the heads, relations and IRI tails of the aligned triples (for UKTP) and of
    the mentioned entities (for the ``names`` dataset)."""
    wanted: set[str] = set()
    for sentence in sentences:
        wanted.update(m.entity for m in sentence.mentions)
        for triple in sentence.triples:
            wanted.update((triple.head, triple.relation))
            if not triple.tail_is_literal:
                wanted.add(triple.tail)
    return tuple((iri, label) for iri, label in record.labels if iri in wanted)


class AlignDocuments(beam.DoFn):
    """One AlignInput -> one AlignedRecord (every sentence, filtered ones flagged)."""

    def __init__(self, config: AlignerConfig) -> None:
        self.config = config

    def setup(self) -> None:
        self.aligner = aligner_for(self.config)

    def process(self, item: AlignInput) -> Iterator[AlignedRecord]:
        aligned = self.aligner.align(
            item.doc, item.entities, item.triples, item.relations, item.relation_iris
        )
        yield AlignedRecord(aligned, used_labels(item, aligned.sentences))


def align_stats(record: AlignedRecord) -> Iterator[Stat]:
    """The aligner's per-document counters (``aligned.sentences``, ``aligned.mentions.<source>``, ...)."""
    for name, value in sorted(document_stats(record.doc).items()):
        if value:
            yield name, value


class Align(beam.PTransform[Any, Any]):
    """PCollection[AlignInput] -> (PCollection[AlignedRecord], PCollection[Stat])."""

    def __init__(self, config: AlignerConfig) -> None:
        super().__init__()
        self.config = config

    def expand(self, inputs: Any) -> tuple[Any, Any]:
        records = (
            inputs
            | "AlignDocument" >> beam.ParDo(AlignDocuments(self.config))
            | "Progress" >> beam.Map(log_progress, "align")
        )
        return records, records | "AlignStats" >> beam.FlatMap(align_stats)
