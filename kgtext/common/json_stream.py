"""A JSON file (one array of records, or one record) -> its records one at a time, in bounded memory.

``json.loads(file.read())`` holds the whole file, its text and every parsed record at once (a T-REx
``.json`` of 1 GB, or ``/dev/zero`` behind a ``.json`` name, exhausts memory). :func:`iter_json_items`
decodes the stream incrementally: each element of a top-level array is parsed with the C decoder
(``raw_decode``) as soon as it is complete in the buffer, so memory is one element plus one read chunk.
An element above ``max_item_chars`` is skipped by a small scanner that tracks strings and brackets without
keeping the text, and reported as :class:`TooLarge`; reading resumes at the next element.

A problem that leaves no way to find the next element (a syntax error, bytes that are not UTF-8, nesting
deeper than the recursion limit) ends the stream with :class:`JsonStreamError` after the elements before
it. A file whose top level is not an array yields its one value (``index`` 0); :class:`TrailingDataError` says
that more values follow it (one record per line under a ``.json`` name: read it as JSON Lines).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

from kgtext.common.jsonl import LineProblem

CHUNK_BYTES = 1 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_IN_STRING = re.compile(r'["\\]')
_OUTSIDE = re.compile(r'["\[\]{},]')
_SCALAR_END = re.compile(r"[,\]} \t\n\r]")
_DECODER = json.JSONDecoder()
_NEAR_END = 16
"""A decoding error this close to the end of the buffer may only mean that the element continues."""


class TooLarge(NamedTuple):
    """An element above the limit, skipped: its first characters and its length in characters."""

    head: str
    length: int


class Item(NamedTuple):
    """One top-level element (``position`` from 0) or the file's single non-array value (position 0)."""

    position: int
    value: Any | TooLarge


class JsonStreamError(ValueError):
    """The stream stops being readable JSON at element ``index``; the message says why (one line)."""

    def __init__(self, index: int, detail: str, problem: LineProblem = LineProblem.NOT_JSON) -> None:
        super().__init__(detail)
        self.index = index
        self.problem = problem


class TrailingDataError(ValueError):
    """A top-level value is followed by more data: the file holds several values (one per line?)."""


class _Buffer:
    """Decoded text of a byte stream, read on demand; ``pos`` is the next unread character."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.pos = 0
        self.eof = False

    def more(self, at_least: int = 0) -> bool:
        """Append at least ``at_least`` more bytes' worth (dropping what was consumed); False at the end."""
        if self.eof:
            return False
        data = self.stream.read(max(CHUNK_BYTES, at_least))
        try:
            decoded = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as err:
            raise JsonStreamError(-1, f"not UTF-8 ({err.reason})", LineProblem.NOT_UTF8) from None
        self.text = self.text[self.pos :] + decoded
        self.pos = 0
        self.eof = not data
        return True

    def peek(self) -> str:
        """The next non-whitespace character (consuming the whitespace), ``""`` at the end."""
        while True:
            match = _WHITESPACE.match(self.text, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def skip_value(self) -> int:
        """Skip the value at ``pos`` without keeping it (strings, brackets and scalars tracked across
        reads); returns its length in characters. Stops before a ``,``/``]`` that closes it."""
        depth, length, in_string = 0, 0, False
        scalar = self.text[self.pos] not in '"[{'
        while True:
            if self.pos >= len(self.text):
                if not self.more():
                    return length
                continue
            pattern = _IN_STRING if in_string else (_SCALAR_END if scalar else _OUTSIDE)
            match = pattern.search(self.text, self.pos)
            end = match.start() if match else len(self.text)
            length += end - self.pos
            self.pos = end
            if match is None:
                continue
            char = match.group()
            if scalar:
                return length
            self.pos += 1
            length += 1
            if in_string:
                if char == "\\":
                    if self.pos >= len(self.text):
                        self.more()
                    self.pos += 1  # the escaped character
                    length += 1
                    continue
                in_string = False
            elif char == '"':
                in_string = True
                continue
            elif char in "[{":
                depth += 1
                continue
            elif char in "]}":
                depth -= 1
            elif char == ",":
                continue
            if depth == 0:
                return length


def _incomplete(err: json.JSONDecodeError, buffer: _Buffer) -> bool:
    """Whether a decoding error may only mean that the element has not been read to its end yet."""
    return not buffer.eof and (
        err.pos >= len(buffer.text) - _NEAR_END or err.msg.startswith("Unterminated string")
    )


def _next_value(buffer: _Buffer, index: int, max_item_chars: int) -> Any | TooLarge:
    """Decode the value at ``buffer.pos`` (reading more as needed), or skip it when it is too large."""
    while True:
        try:
            value, end = _DECODER.raw_decode(buffer.text, buffer.pos)
        except json.JSONDecodeError as err:
            if not _incomplete(err, buffer):
                raise JsonStreamError(index, f"not valid JSON ({err.msg})") from None
        except RecursionError:
            raise JsonStreamError(
                index, "not usable JSON (nested too deeply)", LineProblem.TOO_DEEP
            ) from None
        else:
            if end < len(buffer.text) or buffer.eof:  # a number ending at the buffer's end may go on
                start, buffer.pos = buffer.pos, end
                if end - start > max_item_chars:
                    return TooLarge(buffer.text[start : start + 256], end - start)
                return value
        pending = len(buffer.text) - buffer.pos
        if pending > max_item_chars:
            head = buffer.text[buffer.pos : buffer.pos + 256]
            return TooLarge(head, buffer.skip_value())
        buffer.more(pending)  # doubles the buffer: an element read in k reads is parsed k times at most


def iter_json_items(stream: BinaryIO, *, max_item_chars: int) -> Iterator[Item]:
    """The elements of a top-level JSON array in ``stream`` (or its one non-array value), one at a time."""
    if max_item_chars <= 0:
        raise ValueError(f"max_item_chars must be > 0, got {max_item_chars}")
    buffer = _Buffer(stream)
    count = 0
    try:
        for item in _items(buffer, max_item_chars):
            count += 1
            yield item
    except JsonStreamError as err:
        if err.index >= 0:
            raise
        raise JsonStreamError(count, str(err), err.problem) from None


def _items(buffer: _Buffer, max_item_chars: int) -> Iterator[Item]:
    first = buffer.peek()
    if first == "":
        raise JsonStreamError(0, "no JSON value (the file is empty)")
    if first != "[":
        yield Item(0, _next_value(buffer, 0, max_item_chars))
        if buffer.peek() != "":
            raise TrailingDataError("more data after the first JSON value")
        return
    buffer.pos += 1
    index = 0
    if buffer.peek() == "]":
        buffer.pos += 1
    else:
        while True:
            if buffer.peek() == "":
                raise JsonStreamError(index, "not valid JSON (the array is not closed)")
            yield Item(index, _next_value(buffer, index, max_item_chars))
            index += 1
            separator = buffer.peek()
            buffer.pos += 1
            if separator == "]":
                break
            if separator == "":
                raise JsonStreamError(index, "not valid JSON (the array is not closed)")
            if separator != ",":
                raise JsonStreamError(index, f"not valid JSON (expected ',' or ']', found {separator!r})")
    if buffer.peek() != "":
        raise JsonStreamError(index, "not valid JSON (data after the closing ']')")
