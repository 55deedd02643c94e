"""JSON Lines bytes -> ``(line number, value)``: the one JSONL reader of kgtext, bounded, split at ``\\n`` only.

Why not ``text.splitlines()``: it also splits at U+2028, U+2029, U+0085, ``\\x1c``-``\\x1e``, ``\\v`` and
``\\f``, which JSON allows raw inside strings (web text, cp1252 mis-decoded as latin-1), so one such
character turns a valid record into two invalid halves. Lines here end at ``b"\\n"`` only (a ``\\r``
before it is JSON whitespace), are read with :func:`kgtext.common.lines.bounded_lines` (a line above the limit is
refused without being held), and every problem is one line naming ``file:line``:

- :func:`read_json_lines` / :func:`iter_json_lines`: every value of a file or stream (blank lines skipped, a
  UTF-8 byte-order mark on line 1 ignored); :class:`JsonlError` at the first bad line. With ``torn_tail`` a
  last line without its newline that does not decode (an append cut short by a full disk or a kill) is
  skipped with a WARNING naming the file instead.
- :func:`loads_line`: one line -> its value, or :class:`LineError` with a :class:`LineProblem` (for
  readers that turn bad lines into dead letters instead of stopping).
- :func:`split_lines`: text lines of an already-read small text, split at ``\\n`` only.
- :func:`has_lone_surrogate`: whether a decoded string holds a lone surrogate (a ``"\\ud800"`` escape),
  which no UTF-8 writer (Arrow, SentencePiece, ``json.dumps(ensure_ascii=False)``) can encode.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import re
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

from kgtext.common.lines import DEFAULT_MAX_LINE_BYTES, LongLine, bounded_lines, open_regular

logger = logging.getLogger(__name__)

UTF8_BOM = b"\xef\xbb\xbf"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class LineProblem(enum.StrEnum):
    """Why one line is not a usable JSON value."""

    TOO_LONG = "too_long"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    """Nested deeper than Python's recursion limit (``[[[[...`` 200,000 deep)."""


class LineError(ValueError):
    """One line that is not a usable JSON value: its :class:`LineProblem` and a one-line description."""

    def __init__(self, problem: LineProblem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem


class JsonlError(ValueError):
    """A JSONL file that cannot be read; the message is one line starting with ``file:line:``."""


class JsonLine(NamedTuple):
    """One non-blank line of a JSONL file: its 1-based number and its decoded value."""

    number: int
    value: Any


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a code point U+D800..U+DFFF (only a JSON ``\\uXXXX`` escape makes one)."""
    return _LONE_SURROGATE.search(text) is not None


def loads_line(raw: bytes | str) -> Any:
    """The JSON value of one line; :class:`LineError` when it is not UTF-8, not JSON or nested too deeply."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise LineError(
                LineProblem.NOT_UTF8, f"not UTF-8 ({err.reason} at byte {err.start + 1})"
            ) from None
    else:
        text = raw
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise LineError(
            LineProblem.NOT_JSON, f"not valid JSON ({err.msg} at character {err.pos + 1})"
        ) from None
    except RecursionError:
        raise LineError(LineProblem.TOO_DEEP, "not usable JSON (nested too deeply)") from None


def iter_json_lines(
    stream: BinaryIO,
    name: str,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    torn_tail: bool = False,
) -> Iterator[JsonLine]:
    """Every non-blank line of a binary JSONL ``stream`` (``name`` for messages), decoded, in order.

    A line above ``max_line_bytes`` or one that does not decode is a :class:`JsonlError` naming
    ``name:line``. With ``torn_tail``, a last line that lacks its newline and does not decode is skipped
    with a WARNING (the records before it are kept).
    """
    for number, line in enumerate(bounded_lines(stream, max_line_bytes), start=1):
        if isinstance(line, LongLine):
            raise JsonlError(
                f"{name}:{number}: a line of {line.length:,} bytes, more than the limit of {max_line_bytes:,}"
            )
        if number == 1 and line.startswith(UTF8_BOM):
            line = line[len(UTF8_BOM) :]
        if not line.strip():
            continue
        try:
            value = loads_line(line)
        except LineError as err:
            if torn_tail and not line.endswith(b"\n"):
                logger.warning(
                    "%s:%d: skipped a torn last line (%d bytes without a newline, %s): an append was cut "
                    "short (full disk, kill); the records before it are kept",
                    name,
                    number,
                    len(line),
                    err,
                )
                return
            raise JsonlError(f"{name}:{number}: {err}") from None
        yield JsonLine(number, value)


def read_json_lines(
    path: str | os.PathLike[str], *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, torn_tail: bool = False
) -> Iterator[JsonLine]:
    """Every non-blank line of the local JSONL file ``path`` (see :func:`iter_json_lines`); a path that is
    not a regular file is refused (:class:`kgtext.common.lines.IrregularFileError`, an OSError naming it)."""
    with open_regular(path) as stream:
        yield from iter_json_lines(
            stream, os.fspath(path), max_line_bytes=max_line_bytes, torn_tail=torn_tail
        )


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` split at ``"\\n"`` only (one ``"\\r"`` before it removed; no empty last line
    for a text that ends with a newline): the safe replacement of ``text.splitlines()`` for file contents."""
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return [line.removesuffix("\r") for line in lines]
