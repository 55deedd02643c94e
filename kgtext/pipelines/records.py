"""Records that travel between the stages of ``build-corpus`` (joins, alignment input, shard bookkeeping).

They hold records of kg/, aligners/ and corpus/ and are encoded by Beam's pickling coder: several carry
``Names | None`` or nested tuples of NamedTuples, which ``RowCoder`` cannot describe (a documented
deviation from the house style's RowCoder rule; the coder is deterministic enough for values, and every
grouping key here is a plain string or int). On the hot shuffles (the joins, the aligned documents,
the shard rows) the records travel as plain tuples of primitives or as bytes instead, which that coder
encodes without pickling (docs/PIPELINE.md, "What crosses the shuffles").
"""

from __future__ import annotations

from typing import Any, NamedTuple

from kgtext.corpus.records import AlignedDocument

Stat = tuple[str, int]
"""``(dotted counter name, increment)``: summed with CombinePerKey into the manifest statistics."""


class AlignedRecord(NamedTuple):
    """An aligned document and the display labels of the IRIs in its aligned triples (for UKTP)."""

    doc: AlignedDocument
    labels: tuple[tuple[str, str], ...]


PartEntry = tuple[str, bytes, tuple[str, ...]]
"""One aligned document in an intermediate part: ``(document id, pickled AlignedRecord, its non-blank
sentence texts)``. A plain tuple of primitives, so Beam's FastPrimitivesCoder moves it through the
phase-1 part grouping and the phase-2 bucket join without unpickling and re-pickling the document; the
texts are what the document offers as sentence-distance negatives."""


class SdInput(NamedTuple):
    """An aligned document with its deterministically drawn sentence-distance negatives."""

    record: AlignedRecord
    negatives: tuple[str, ...]
    negative_doc_ids: tuple[str, ...]


class ShardKey(NamedTuple):
    """Where a row goes: one shard of one dataset split."""

    dataset: str
    split: str
    shard: int


GroupKey = tuple[str, str, int]
"""A :class:`ShardKey` as a plain tuple while it is a grouping key (Beam's deterministic tuple coder)."""


class DocTasks(NamedTuple):
    """Every task row built from one document, and the builders' outcome counts."""

    doc_id: str
    rows: tuple[tuple[str, Any], ...]
    """``(dataset, row)`` in the builders' order."""
    counts: tuple[Stat, ...]


class ShardWritten(NamedTuple):
    """One shard file written (what the manifest records about it)."""

    dataset: str
    split: str
    shard: int
    path: str
    """Relative to the corpus directory."""
    rows: int
    bytes: int
    tokens: int
    sha256: str
