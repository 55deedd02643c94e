"""Records of the corpus contract: aligned documents, their sentences, mentions and triples, and name rows.

Dead letters (rejected input records) are the common floor's: :mod:`kgtext.common.dead_letters`.
"""

from __future__ import annotations

from typing import NamedTuple

PICKLE_PROTOCOL = 5
"""Protocol of every pickle kgtext writes between stages (intermediate parts, index values, run files)."""


class Mention(NamedTuple):
    """A mention of an entity, a relation or a literal: ``[start, end)`` character offsets into the sentence
    text."""

    start: int
    end: int
    entity: str
    """A full IRI, or an N-Triples literal term (``"1932-03-15"^^<...#date>``) for dates and numbers."""
    source: str
    """A :class:`kgtext.corpus.schemas.MentionSource` value."""
    confidence: float = 1.0
    """How sure the linker is that the span names ``entity``, in ``[0, 1]`` (see docs/ALIGNMENT.md): 1 for
    a link, a literal or a given subject's own name; lower for a name shared by several candidates or found
    only through the KG lexicon without KG support in the document."""
    kind: str = "entity"
    """A :class:`kgtext.corpus.schemas.MentionKind` value: entity, relation (a KG property) or literal."""


class AlignedTriple(NamedTuple):
    """A KG triple aligned to a sentence. IRIs end to end; a literal tail is its lexical form."""

    head: str
    relation: str
    tail: str
    tail_is_literal: bool
    level: str
    """A :class:`kgtext.corpus.schemas.AlignmentLevel` value."""


class Span(NamedTuple):
    """A ``[start, end)`` span (characters or tokens, as the owning field says)."""

    start: int
    end: int


class AlignedSentence(NamedTuple):
    """One sentence of a cleaned document with its mentions and aligned triples (an ``aligned/`` row).

    ``passes_filter`` is False for sentences the sentence-level filters (minimum words) remove: those are
    not written to ``aligned/``, ``kmlm/`` or ``uktp/`` but stay in the document for ``sr/``, ``sd/``, ``dlm/``.
    """

    doc_id: str
    paragraph_index: int
    sentence_index: int
    """Position in the cleaned document, counted before any sentence-level filter."""
    text: str
    mentions: tuple[Mention, ...]
    triples: tuple[AlignedTriple, ...]
    phrases: tuple[Span, ...]
    """Phrase spans (character offsets) for knowledge masking, e.g. spaCy noun chunks; may be empty."""
    passes_filter: bool


class AlignedDocument(NamedTuple):
    """A cleaned, split and aligned document: every sentence in order, filtered ones included."""

    doc_id: str
    title: str
    subject: str
    """IRI of the entity the document is about, or ``""``."""
    sentences: tuple[AlignedSentence, ...]
    below_threshold: int = 0
    """Mentions dropped because their confidence was below ``AlignerConfig.min_mention_confidence``."""


class NameRow(NamedTuple):
    """One row of the ``names`` dataset: an IRI of the aligned rows and its display label."""

    iri: str
    label: str
    kind: str
    """``entity`` or ``relation`` (``relation`` when an IRI is used as both)."""
