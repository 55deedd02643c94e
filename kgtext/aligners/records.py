"""Typed records of the aligner: raw documents with links, cleaned documents, and filter drop reasons.

Offsets are always Python ``str`` indices (Unicode code points), ``[start, end)``.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

PARAGRAPH_SEPARATOR = "\n\n"
"""Paragraphs of a :class:`CleanedDocument` are joined with this string; link offsets index the result."""


class DropReason(str, enum.Enum):
    """Why a valid document, link or sentence was filtered out (counted in the manifest, not dead-lettered)."""

    EMPTY_AFTER_CLEANING = "empty_after_cleaning"
    """Nothing but whitespace or control characters was left."""
    TOO_LONG = "too_long"
    """The document exceeds ``AlignerConfig.max_document_chars``."""
    DUPLICATE_DOCUMENT = "duplicate_document"
    """Another document has the same de-duplication key, or the same id and content (dropped by the pipeline)."""
    DUPLICATE_ID = "duplicate_id"
    """An earlier document (input order) has the same id and different content (also dead-lettered)."""
    DUPLICATE_PARAGRAPH = "duplicate_paragraph"
    """A paragraph identical to the one before it."""
    LINK_OUT_OF_RANGE = "link_out_of_range"
    """A link whose offsets fall outside the text or are empty."""
    LINK_OVERLAP = "link_overlap"
    """A link overlapping an earlier (or longer) link."""
    LINK_MISMATCH = "link_mismatch"
    """A link whose surface form is not at (or near) its offsets."""
    LINK_CROSSES_PARAGRAPH = "link_crosses_paragraph"
    """A link spanning a paragraph break."""
    LINK_IN_REMOVED_TEXT = "link_in_removed_text"
    """A link inside text the cleaning removed (a duplicate paragraph, control characters)."""
    SHORT_SENTENCE = "short_sentence"
    """A sentence below ``AlignerConfig.min_sentence_words`` (kept in the document, not in ``aligned/``)."""


class Link(NamedTuple):
    """A hyperlink-style annotation: ``text[start:end]`` names ``entity`` (a full IRI)."""

    start: int
    end: int
    entity: str


class Document(NamedTuple):
    """One input document, as read from JSONL, T-REx/REBEL JSON, plain text or Parquet."""

    id: str
    text: str
    title: str
    """Page title, or ``""``."""
    subject: str
    """IRI of the entity the document is about, or ``""``."""
    links: tuple[Link, ...]
    file: str
    """Input file the document came from (for error messages)."""
    line: int
    """1-based line of the record in ``file``, or -1 for whole-file formats."""
    link_drops: tuple[DropReason, ...] = ()
    """Links the reader dropped (e.g. unrepairable offset drift), one entry per link; counted from here
    (``clean_document`` does not copy them into ``CleanedDocument.dropped``)."""


class CleanedDocument(NamedTuple):
    """A document after cleaning: paragraphs in order, links re-based onto the cleaned text.

    Link offsets index :meth:`text` (paragraphs joined by :data:`PARAGRAPH_SEPARATOR`); every link lies
    inside one paragraph and ``text()[start:end]`` is the cleaned form of the original anchor text.
    """

    id: str
    title: str
    subject: str
    paragraphs: tuple[str, ...]
    links: tuple[Link, ...]
    dropped: tuple[DropReason, ...] = ()
    """What cleaning removed (duplicate paragraphs, unusable links), one entry per item."""

    def text(self) -> str:
        """The cleaned text, paragraphs joined by :data:`PARAGRAPH_SEPARATOR`."""
        return PARAGRAPH_SEPARATOR.join(self.paragraphs)
