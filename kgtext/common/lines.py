"""Binary streams -> lines, in bounded memory: a line longer than the limit is skipped, never held.

Every line-oriented reader (N-Triples, N-Quads, TSV, JSONL, and their ``.gz``/``.bz2`` forms) reads through
:func:`bounded_lines`, so a file without newlines (``truncate -s 2G x.nt``) or a small archive that expands
to one enormous line costs at most ``max_line_bytes`` of memory: the reader gets a :class:`LongLine` (the
first bytes, for a ``too_large`` dead letter, and the full length), and reading resumes at the next newline.
Lines end at ``b"\n"`` only (``str.splitlines`` would also split at U+2028, U+2029 and U+0085, which JSON
allows raw inside strings; :mod:`kgtext.common.jsonl` reads JSON Lines on top of this module).

Inputs are opened with :func:`open_regular`: a FIFO, a device (``/dev/zero``) or a directory is refused in
one line before a byte is read, so no reader waits forever for a writer or reads an endless stream.
"""

from __future__ import annotations

import os
import stat
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


class IrregularFileError(OSError):
    """An input that is not a regular file (FIFO, device, directory, socket); the message names it."""


def _kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def regular_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a local ``path`` cannot be read as an input file (``"... is a FIFO ..."``), or None when it is a
    regular file (symlinks followed). A path that does not exist is the caller's business: None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return f"{os.fspath(path)}: is {_kind(mode)}, not a regular file; kgtext reads inputs from regular files only"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a local regular file for binary reading; :class:`IrregularFileError` for anything else.

    The file is opened non-blocking and checked with ``fstat`` on the open descriptor, so a FIFO is refused
    without waiting for a writer, and a path swapped for a FIFO after a check cannot slip through.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise IrregularFileError(
                f"{os.fspath(path)}: is {_kind(mode)}, not a regular file; kgtext reads inputs from regular files only"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
