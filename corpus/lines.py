"""Binary streams -> lines, in bounded memory: a line longer than the limit is skipped, never held.

Every line-oriented reader (N-Triples, N-Quads, TSV, JSONL, and their ``.gz``/``.bz2`` forms) reads through
:func:`bounded_lines`, so a file without newlines (``truncate -s 2G x.nt``) or a small archive that expands
to one enormous line costs at most ``max_line_bytes`` of memory: the reader gets a :class:`LongLine` (the
first bytes, for a ``too_large`` dead letter, and the full length), and reading resumes at the next newline.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest line (bytes, newline excluded) a reader accepts by default: far above any real record."""

_SKIP_CHUNK = 1 << 20
_HEAD_BYTES = 256


class LongLine(NamedTuple):
    """A line above the limit, skipped: its first bytes and its full length in bytes (newline included)."""

    head: bytes
    length: int


def _skip_rest_of_line(stream: BinaryIO) -> int:
    """Read up to and including the next newline in bounded chunks; returns the bytes consumed."""
    consumed = 0
    while True:
        chunk = stream.readline(_SKIP_CHUNK)
        consumed += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return consumed


def read_line(stream: BinaryIO, max_bytes: int) -> bytes | LongLine:
    """The next line (``b""`` at the end of the stream), or a :class:`LongLine` when it exceeds ``max_bytes``."""
    line = stream.readline(max_bytes + 1)
    if len(line) <= max_bytes or line.endswith(b"\n"):
        return line
    return LongLine(line[:_HEAD_BYTES], len(line) + _skip_rest_of_line(stream))


def bounded_lines(
    stream: BinaryIO, max_bytes: int, *, position: int = 0, end: int | None = None
) -> Iterator[bytes | LongLine]:
    """Lines from the stream's current offset ``position``; with ``end``, only the lines that start before it."""
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be > 0, got {max_bytes}")
    while end is None or position < end:
        line = read_line(stream, max_bytes)
        if not line:
            return
        position += line.length if isinstance(line, LongLine) else len(line)
        yield line


def skip_to_line_start(stream: BinaryIO, start: int, end: int | None = None) -> int:
    """Position ``stream`` at the first line that starts at or after byte ``start``; returns that offset.

    The partial line before it (it belongs to the previous byte range) is skipped in bounded chunks and,
    with ``end``, no further than ``end``: a range inside one enormous line returns ``end`` at once
    instead of reading on to the end of the file.
    """
    if start == 0:
        return 0  # a fresh stream is at its start (and may not be seekable)
    stream.seek(start - 1)
    position = start - 1
    while end is None or position < end:
        budget = _SKIP_CHUNK if end is None else max(1, min(_SKIP_CHUNK, end - position))
        chunk = stream.readline(budget)
        position += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return position
    return position
