"""Arrow schemas of every dataset in a corpus directory, and the corpus format version.

The column tables in ``docs/FORMATS.md`` describe exactly these schemas (a test keeps them in step).
A change to any schema here or in :mod:`kgtext.corpus.tasks.schemas` must bump :data:`FORMAT_VERSION`.
"""

from __future__ import annotations

import enum

import pyarrow as pa

from kgtext.corpus.tasks.schemas import TASK_SCHEMAS

FORMAT_VERSION = 5
"""Version of the corpus directory layout and of every schema. Readers refuse newer versions."""


class MentionSource(enum.StrEnum):
    """How a mention was found (``aligned.mentions.source``)."""

    LINK = "link"
    LABEL = "label"
    ALIAS = "alias"
    SUBJECT = "subject"
    """A sentence-initial pronoun (or short form) referring to the given document subject."""
    TOPIC = "topic"
    """A sentence-initial pronoun referring to the inferred topic of a document without a subject."""
    DATE = "date"
    NUMBER = "number"


class MentionKind(enum.StrEnum):
    """What a mention names (``aligned.mentions.kind``)."""

    ENTITY = "entity"
    RELATION = "relation"
    """A KG property (an IRI some triple uses as its predicate, or named as a property), e.g. the word
    "leader" for ``dbo:leader``; found when the KG names its properties like entities."""
    LITERAL = "literal"
    """A date or number: ``entity`` is an N-Triples literal term."""


class AlignmentLevel(str, enum.Enum):
    """How strongly a triple is aligned to a sentence (``aligned.triples.level``)."""

    SPO = "spo"
    """Head, tail and a label or alias of the relation all occur in the sentence."""
    ALLENT = "allent"
    """Head and tail occur in the sentence (the ERNIE 3.0 distant-supervision rule)."""
    NOSUB = "nosub"
    """The tail occurs in the sentence and the head is the document subject."""


MENTION_TYPE = pa.struct(
    [
        pa.field("start", pa.int32(), nullable=False),
        pa.field("end", pa.int32(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("confidence", pa.float32(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
    ]
)
ALIGNED_TRIPLE_TYPE = pa.struct(
    [
        pa.field("head", pa.string(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
        pa.field("tail", pa.string(), nullable=False),
        pa.field("tail_is_literal", pa.bool_(), nullable=False),
        pa.field("level", pa.string(), nullable=False),
    ]
)
SPAN_TYPE = pa.struct(
    [pa.field("start", pa.int32(), nullable=False), pa.field("end", pa.int32(), nullable=False)]
)

ALIGNED_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("paragraph_index", pa.int32(), nullable=False),
        pa.field("sentence_index", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("mentions", pa.list_(pa.field("item", MENTION_TYPE, nullable=False)), nullable=False),
        pa.field("triples", pa.list_(pa.field("item", ALIGNED_TRIPLE_TYPE, nullable=False)), nullable=False),
        pa.field("phrases", pa.list_(pa.field("item", SPAN_TYPE, nullable=False)), nullable=False),
    ]
)
"""One row per sentence that passed the sentence-level filters."""

NAMES_SCHEMA = pa.schema(
    [
        pa.field("iri", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
    ]
)
"""One row per entity or relation IRI that occurs in the split's ``aligned/`` rows (mentions and triples,
hence every IRI of ``uktp/``) and has a display label in the KG: ``kind`` is ``entity`` or ``relation``."""

ALIGNED = "aligned"
NAMES = "names"
DATASETS: dict[str, pa.Schema] = {ALIGNED: ALIGNED_SCHEMA, **TASK_SCHEMAS, NAMES: NAMES_SCHEMA}
"""Every dataset a corpus directory holds, in the order ``kgtext inspect`` lists them."""

SORT_KEYS: dict[str, tuple[str, str]] = {ALIGNED: ("doc_id", "sentence_index")}
SORT_KEYS.update({name: ("doc_id", "position") for name in TASK_SCHEMAS})
SORT_KEYS[NAMES] = ("iri", "kind")
"""Rows are sorted within a shard by these two columns: (document id, position in the document); names
by IRI."""
