"""Records that travel between the stages of ``build-corpus`` (joins, alignment input, shard bookkeeping).

They hold records of kg/, aligners/ and corpus/ and are encoded by Beam's pickling coder: several carry
``Names | None`` or nested tuples of NamedTuples, which ``RowCoder`` cannot describe (a documented
deviation from the house style's RowCoder rule; the coder is deterministic enough for values, and every
grouping key here is a plain string or int). On the hot shuffles (the joins, the aligned documents,
the shard rows) the records travel as plain tuples of primitives or as bytes instead, which that coder
encodes without pickling (docs/PIPELINE.md, "What crosses the shuffles").
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

from aligners.records import CleanedDocument
from corpus.records import AlignedDocument
from kg.records import Names, Triple

Stat = tuple[str, int]
"""``(dotted counter name, increment)``: summed with CombinePerKey into the manifest statistics."""


class SeedRequest(NamedTuple):
    """A document asks for the facts of one of its seed entities (a link target or its subject)."""

    doc_id: str
    is_subject: bool


class SeedFacts(NamedTuple):
    """What the KG says about one seed entity of one document."""

    doc_id: str
    iri: str
    is_subject: bool
    names: Names | None
    """None when the KG has no name for the entity."""
    triples: tuple[Triple, ...]
    """Triples whose head is the entity, sorted."""


class NameRole(str, enum.Enum):
    """Why a document needs the names of an IRI found in its seeds' triples."""

    NEIGHBOUR = "neighbour"
    """A one-hop neighbour of the document subject: a candidate entity."""
    RELATION = "relation"
    """A relation of a seed triple: its names find relation mentions (``spo``) and label UKTP rows."""
    TAIL = "tail"
    """The tail of a linked entity's triple: only its label is needed (UKTP)."""


class NameRequest(NamedTuple):
    doc_id: str
    role: str
    """A :class:`NameRole` value."""


class NameGrant(NamedTuple):
    """The names of one requested IRI, delivered to the requesting document."""

    doc_id: str
    role: str
    names: Names


class AlignInput(NamedTuple):
    """A cleaned document joined with everything the aligner needs."""

    doc: CleanedDocument
    entities: tuple[Names, ...]
    triples: tuple[Triple, ...]
    relations: tuple[Names, ...]
    labels: tuple[tuple[str, str], ...]
    """IRI -> display label of every known entity and relation of the document, sorted by IRI."""


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


class KeyedRow(NamedTuple):
    """A row with its order key inside the shard: (document id, position, sequence within the document)."""

    doc_id: str
    position: int
    seq: int
    row: Any


class DocRows(NamedTuple):
    """The rows one document contributes to one shard, encoded by :func:`pipelines.batches.encode_doc_rows`."""

    doc_id: str
    rows: int
    data: bytes
    """One Arrow IPC record batch message (``RecordBatch.serialize``, no schema): the rows in shard order."""


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
