"""Row records of the five task datasets, their unit kinds, and the counted outcomes of building them.

Each row's fields are exactly the columns of its schema in :mod:`kgtext.corpus.tasks.schemas` (in order), so
``row._asdict()`` goes straight to Arrow. Token spans are ``[start, end)`` indices into ``input_ids``.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

from kgtext.corpus.records import Span


class UnitKind(enum.StrEnum):
    """What a maskable unit is (``units.kind``); units of one row never overlap."""

    ENTITY = "entity"
    PHRASE = "phrase"
    WORD = "word"


class Unit(NamedTuple):
    """A maskable run of tokens: ``input_ids[start:end]``."""

    start: int
    end: int
    kind: UnitKind


class KmlmRow(NamedTuple):
    """``[CLS] sentence [SEP]`` with its units (every sentence token is in exactly one unit)."""

    doc_id: str
    position: int
    """The sentence index."""
    input_ids: list[int]
    num_tokens: int
    sentence_index: int
    units: list[Unit]


class UktpRow(NamedTuple):
    """``[CLS] head relation tail [SEP] sentence [SEP]`` for one aligned triple of one sentence."""

    doc_id: str
    position: int
    """``sentence_index * UKTP_TRIPLE_SLOTS + triple index``: unique within the document."""
    input_ids: list[int]
    num_tokens: int
    sentence_index: int
    segment_ids: list[int]
    """0 for [CLS] and the triple up to its [SEP], 1 for the sentence and the final [SEP]."""
    head_span: Span
    relation_span: Span
    tail_span: Span
    sentence_span: Span
    """The sentence tokens, without the final [SEP]."""
    units: list[Unit]
    """Units of the sentence part (for word masking); the triple is not in any unit."""
    head_mentions: list[Span]
    """Token spans of the head's mentions in the sentence (empty for a ``nosub`` triple)."""
    tail_mentions: list[Span]
    head: str
    relation: str
    tail: str
    """IRI, or the lexical form of a literal tail."""
    level: str
    """A :class:`kgtext.corpus.schemas.AlignmentLevel` value."""


class SrRow(NamedTuple):
    """``[CLS] paragraph [SEP]`` cut into segments in their original order; the trainer permutes them."""

    doc_id: str
    position: int
    """The paragraph's order among the document's SR rows."""
    input_ids: list[int]
    num_tokens: int
    paragraph_index: int
    segment_starts: list[int]
    """Token index where each segment begins (the first is 1, after [CLS]); the last ends at the [SEP]."""


class SdRow(NamedTuple):
    """``[CLS] first [SEP] second [SEP]`` and its distance class."""

    doc_id: str
    position: int
    """The first sentence's index in the document."""
    input_ids: list[int]
    num_tokens: int
    segment_ids: list[int]
    label: int
    """A :class:`SdLabel` value."""
    other_doc_id: str
    """Document of the second sentence (``doc_id`` for labels 0 and 1; may be ``""`` if unknown)."""


class DlmRow(NamedTuple):
    """One chunk of a document's token run; chunks of a document are consecutive in ``segment_index``."""

    doc_id: str
    position: int
    """Equal to ``segment_index``."""
    input_ids: list[int]
    num_tokens: int
    segment_index: int


class SdLabel(enum.IntEnum):
    """Sentence-distance classes (ERNIE 2.0 ids)."""

    ADJACENT = 0
    SAME_DOCUMENT = 1
    OTHER_DOCUMENT = 2


class Outcome(str, enum.Enum):
    """What building did with its input, counted per task (``Built.counts``) for the manifest."""

    ROW = "row"
    """A row was written."""
    TRUNCATED = "truncated"
    """A row was cut at a unit / sentence boundary to fit ``max_tokens`` (also counted as a row)."""
    TOO_LONG = "too_long"
    """Skipped: not even one unit (or the triple + sentence) fits ``max_tokens``."""
    FILTERED_SENTENCE = "filtered_sentence"
    """Skipped: the sentence failed the sentence-level filter (kmlm/uktp only)."""
    NO_LABEL = "no_label"
    """Skipped (uktp): no display label for the head, relation or tail IRI."""
    TOO_MANY_TRIPLES = "too_many_triples"
    """Skipped (uktp): triples beyond ``UKTP_TRIPLE_SLOTS`` in one sentence."""
    TOO_FEW_SENTENCES = "too_few_sentences"
    """Skipped (sr): a paragraph with fewer than ``SrConfig.min_sentences`` sentences."""
    CLASS_FALLBACK = "class_fallback"
    """(sd) the drawn class was impossible for this sentence; another feasible class was used."""
    NO_PAIR = "no_pair"
    """Skipped (sd): no class is feasible (single-sentence document and no negatives)."""
    EMPTY = "empty"
    """Skipped: nothing to encode (empty sentence or document)."""


class Built(NamedTuple):
    """Rows built from one input plus how often each :class:`Outcome` happened."""

    rows: list[Any]
    counts: dict[str, int]
    """``Outcome`` value -> count; absent keys are zero."""


def count(counts: dict[str, int], outcome: Outcome, n: int = 1) -> None:
    """Add ``n`` to ``counts[outcome]``."""
    counts[outcome.value] = counts.get(outcome.value, 0) + n
