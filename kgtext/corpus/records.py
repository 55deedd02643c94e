"""Records shared by every stage: dead letters and their closed list of reasons.

A dead letter is written for every *rejected* input record (malformed, unreadable, unsafe). Records that
are valid but filtered out (duplicates, short sentences) are only counted in the manifest statistics.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

EXCERPT_MAX_BYTES = 1024
"""Dead-letter excerpts are cut to this many UTF-8 bytes."""
PICKLE_PROTOCOL = 5
"""Protocol of every pickle kgtext writes between stages (intermediate parts, index values, run files)."""


class Reason(enum.StrEnum):
    """Why an input record was rejected. The value is what lands in ``dead_letters/*.jsonl``."""

    # Reading any file
    UNKNOWN_EXTENSION = "unknown_extension"
    READ_ERROR = "read_error"
    EMPTY_FILE = "empty_file"
    TRUNCATED_COMPRESSED = "truncated_compressed"
    INVALID_UTF8 = "invalid_utf8"
    # Knowledge graph
    BAD_IRI = "bad_iri"
    BAD_BLANK_NODE = "bad_blank_node"
    UNTERMINATED_LITERAL = "unterminated_literal"
    BAD_ESCAPE = "bad_escape"
    BAD_LITERAL = "bad_literal"
    WRONG_ARITY = "wrong_arity"
    SYNTAX_ERROR = "syntax_error"
    UNSAFE_XML = "unsafe_xml"
    REMOTE_CONTEXT = "remote_context"
    BAD_TSV_ROW = "bad_tsv_row"
    # Documents
    INVALID_JSON = "invalid_json"
    MISSING_FIELD = "missing_field"
    BAD_FIELD_TYPE = "bad_field_type"
    EMPTY_TEXT = "empty_text"
    BAD_LINK = "bad_link"
    TOO_LARGE = "too_large"
    DUPLICATE_ID = "duplicate_id"
    """A document whose id an earlier document (input order) already has, with different content."""


class DeadLetter(NamedTuple):
    """One rejected input record: ``{stage, file, line or byte_offset, reason, excerpt}``."""

    stage: str
    """Pipeline stage that rejected it, e.g. ``read_kg`` or ``read_documents``."""
    file: str
    """Input file (as given by the user, or the expanded glob match)."""
    line: int
    """1-based line number, or -1 when the record has no line (then ``byte_offset`` is set)."""
    byte_offset: int
    """Byte offset of the record in the (decompressed) file, or -1 when unknown."""
    reason: Reason
    excerpt: str
    """The offending text, at most :data:`EXCERPT_MAX_BYTES` UTF-8 bytes."""


def make_dead_letter(
    stage: str, file: str, reason: Reason, excerpt: str | bytes, *, line: int = -1, byte_offset: int = -1
) -> DeadLetter:
    """Build a :class:`DeadLetter`, decoding bytes leniently and cutting the excerpt to 1 KB."""
    if isinstance(excerpt, bytes):
        raw = excerpt[:EXCERPT_MAX_BYTES]
        text = raw.decode("utf-8", errors="backslashreplace")
    else:
        text = excerpt
    encoded = text.encode("utf-8")
    if len(encoded) > EXCERPT_MAX_BYTES:
        text = encoded[:EXCERPT_MAX_BYTES].decode("utf-8", errors="ignore")
    return DeadLetter(stage, file, line, byte_offset, reason, text)


class Mention(NamedTuple):
    """An entity (or literal) mention: ``[start, end)`` character offsets into the sentence text."""

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
