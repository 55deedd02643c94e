"""Dead letters: one record per rejected input record, and the closed list of reasons.

A dead letter is written for every *rejected* input record (malformed, unreadable, unsafe). Records that
are valid but filtered out (duplicates, short sentences) are only counted in the manifest statistics.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

EXCERPT_MAX_BYTES = 1024
"""Dead-letter excerpts are cut to this many UTF-8 bytes."""


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
