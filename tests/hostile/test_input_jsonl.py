"""The one JSONL reader and the JSON stream reader under hostile input (issue 25, cases 3, 4 and 6).

Lines end at ``\\n`` only (U+2028, U+2029, U+0085 are text inside a JSON string); a line above the limit,
bytes that are not UTF-8 and nesting too deep to parse are one-line errors naming ``file:line``; a FIFO,
a device or a directory is refused before a byte is read; a JSON array is read one element at a time.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

import kgtext.common.json_stream as json_stream
from kgtext.common.json_stream import Item, JsonStreamError, TooLarge, TrailingDataError, iter_json_items
from kgtext.common.jsonl import (
    JsonlError,
    LineError,
    LineProblem,
    has_lone_surrogate,
    iter_json_lines,
    loads_line,
    read_json_lines,
    split_lines,
)
from kgtext.common.lines import IrregularFileError, open_regular, regular_file_problem

SEPARATORS = ["\u2028", "\u2029", "\u0085", "\x1c", "\x0b", "\x0c"]
"""Characters ``str.splitlines`` splits at that JSON allows raw inside a string (or escaped: \\v, \\f)."""


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """A reader that blocks on a FIFO fails the test in 10 s instead of hanging the suite."""

    def fail(*_: object) -> None:
        raise TimeoutError("the reader blocked")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("sep", SEPARATORS)
def test_a_line_separator_inside_a_string_is_text(sep: str) -> None:
    data = (json.dumps({"t": f"a{sep}b"}, ensure_ascii=False) + "\n" + '{"t": "c"}\n').encode("utf-8")
    lines = list(iter_json_lines(io.BytesIO(data), "x.jsonl"))
    assert [(line.number, line.value["t"]) for line in lines] == [(1, f"a{sep}b"), (2, "c")]


def test_blank_lines_crlf_and_a_byte_order_mark() -> None:
    data = b'\xef\xbb\xbf{"a": 1}\r\n\r\n  \n{"a": 2}'
    assert [tuple(line) for line in iter_json_lines(io.BytesIO(data), "x.jsonl")] == [
        (1, {"a": 1}),
        (4, {"a": 2}),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": 1}\n{"a": \n', r"^x\.jsonl:2: not valid JSON \(Expecting value at character 8\)$"),
        (
            b'{"a": 1}\n{"a": "caf\xe9"}\n',
            r"^x\.jsonl:2: not UTF-8 \(invalid continuation byte at byte 11\)$",
        ),
        (b"[" * 200_000 + b"]" * 200_000 + b"\n", r"^x\.jsonl:1: not usable JSON \(nested too deeply\)$"),
        (
            b'{"a": 1}\n' + b"x" * 2_000_000 + b"\n",
            r"^x\.jsonl:2: a line of 2,000,001 bytes, more than the limit of 1,048,576$",
        ),
    ],
)
def test_a_bad_line_is_one_line_naming_file_and_line(data: bytes, message: str) -> None:
    with pytest.raises(JsonlError, match=message) as info:
        list(iter_json_lines(io.BytesIO(data), "x.jsonl", max_line_bytes=1 << 20))
    assert "\n" not in str(info.value)


def test_loads_line_names_the_problem() -> None:
    assert loads_line(b'"\\ud800x"') == "\ud800x"
    cases: list[tuple[bytes | str, LineProblem]] = [
        (b"\xff", LineProblem.NOT_UTF8),
        (b"{", LineProblem.NOT_JSON),
        ("[" * 100_000, LineProblem.TOO_DEEP),
    ]
    for raw, problem in cases:
        with pytest.raises(LineError) as info:
            loads_line(raw)
        assert info.value.problem is problem


def test_a_torn_last_line_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    data = b'{"step": 1}\n{"step": 2}\n{"step": 3, "lo'
    with caplog.at_level(logging.WARNING):
        lines = list(iter_json_lines(io.BytesIO(data), "run/metrics.jsonl", torn_tail=True))
    assert [line.value["step"] for line in lines] == [1, 2]
    assert "run/metrics.jsonl:3: skipped a torn last line" in caplog.text
    with pytest.raises(JsonlError, match=r"^run/metrics\.jsonl:3: not valid JSON"):
        list(iter_json_lines(io.BytesIO(data), "run/metrics.jsonl"))


def test_a_torn_line_in_the_middle_is_still_an_error() -> None:
    data = b'{"step": 1}\n{"step": 2, "lo\n{"step": 3}\n'
    with pytest.raises(JsonlError, match=r"^m\.jsonl:2: not valid JSON"):
        list(iter_json_lines(io.BytesIO(data), "m.jsonl", torn_tail=True))


def test_a_long_line_is_never_held() -> None:
    tracemalloc.start()
    try:
        stream = io.BytesIO(b'{"a": "' + b"x" * (64 << 20) + b'"}\n')
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        with pytest.raises(JsonlError, match="a line of 67,108,874 bytes"):
            list(iter_json_lines(stream, "big.jsonl", max_line_bytes=1 << 20))
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_split_lines_splits_at_newline_only() -> None:
    assert split_lines("a\u2028b\r\nc\x85d\n\ne\n") == ["a\u2028b", "c\x85d", "", "e"]
    assert split_lines("") == []


def test_lone_surrogates_are_found() -> None:
    assert has_lone_surrogate("x\ud800") and has_lone_surrogate("\udfff")
    assert not has_lone_surrogate("emoji \U0001f600 and \u2028")


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "docs.jsonl"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path)
    assert regular_file_problem(fifo) == (
        f"{fifo}: is a FIFO (named pipe), not a regular file; kgtext reads inputs from regular files only"
    )
    with pytest.raises(IrregularFileError, match="is a FIFO"):
        open_regular(fifo)
    with pytest.raises(IrregularFileError, match="is a FIFO"):
        list(read_json_lines(fifo))


@pytest.mark.parametrize(("target", "kind"), [("/dev/zero", "a character device"), ("DIR", "a directory")])
def test_a_device_or_directory_behind_a_symlink_is_refused(tmp_path: Path, target: str, kind: str) -> None:
    if target == "DIR":
        target = str(tmp_path)
    link = tmp_path / "docs.jsonl"
    link.symlink_to(target)
    assert (
        regular_file_problem(link)
        == f"{link}: is {kind}, not a regular file; kgtext reads inputs from regular files only"
    )
    with pytest.raises(IrregularFileError, match=kind):
        open_regular(link)


def test_a_regular_file_opens_and_a_missing_one_is_left_to_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    with open_regular(path) as handle:
        assert handle.read() == b'{"a": 1}\n'
    assert regular_file_problem(path) is None
    assert regular_file_problem(tmp_path / "missing") is None
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing")


# --- JSON arrays, streamed ----------------------------------------------------------------------------


def _items(data: bytes, limit: int = 1 << 20) -> list[object]:
    found: list[object] = []
    try:
        found.extend(iter_json_items(io.BytesIO(data), max_item_chars=limit))
    except (JsonStreamError, TrailingDataError) as err:
        found.append((type(err).__name__, getattr(err, "index", None), str(err)))
    return found


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_array_elements_across_every_read_boundary(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(json_stream, "CHUNK_BYTES", chunk)
    values = [{"i": i, "t": '\u2028é\\"]}' * (i % 7), "n": [1.5e3, None, True]} for i in range(60)] + [
        12345678,
        "s",
    ]
    data = json.dumps(values, ensure_ascii=False).encode("utf-8")
    assert [item.value for item in _items(data)] == values  # type: ignore[attr-defined]


def test_one_value_is_one_item_and_several_are_trailing_data() -> None:
    assert _items(b' {"a": 1} ') == [Item(0, {"a": 1})]
    assert _items(b'{"a": 1}\n{"a": 2}\n') == [
        Item(0, {"a": 1}),
        ("TrailingDataError", None, "more data after the first JSON value"),
    ]


@pytest.mark.parametrize(
    ("data", "index", "detail"),
    [
        (b"", 0, "no JSON value (the file is empty)"),
        (b'[{"a": 1}, {bad}]', 1, "not valid JSON (Expecting property name enclosed in double quotes)"),
        (b'[{"a": 1}', 1, "not valid JSON (the array is not closed)"),
        (b'[{"a": 1} {"b": 2}]', 1, "not valid JSON (expected ',' or ']', found '{')"),
        (b'[{"a": 1}] x', 1, "not valid JSON (data after the closing ']')"),
        (b'[{"a": 1}, ' + b"[" * 200_000 + b"]" * 200_000 + b"]", 1, "not usable JSON (nested too deeply)"),
    ],
)
def test_a_broken_array_keeps_what_came_before(data: bytes, index: int, detail: str) -> None:
    found = _items(data)
    assert found[-1] == ("JsonStreamError", index, detail)
    assert found[:-1] == [Item(0, {"a": 1})][:index]


def test_not_utf8_stops_with_its_element(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_stream, "CHUNK_BYTES", 4)
    found = _items(b'[{"a": 1}, {"b": "\xff"}]')
    assert found[0] == Item(0, {"a": 1})
    assert found[-1][:2] == ("JsonStreamError", 1)  # type: ignore[index]
    assert "not UTF-8" in found[-1][2]  # type: ignore[index]


def test_a_too_large_element_is_skipped_and_reading_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_stream, "CHUNK_BYTES", 16)
    big = {"text": 'x\\"]}[{' * 500, "list": [[1, 2], {"a": "]"}]}
    data = json.dumps([{"a": 1}, big, "y" * 300, 7]).encode()
    found = list(iter_json_items(io.BytesIO(data), max_item_chars=100))
    assert found[0] == Item(0, {"a": 1})
    for item, text in ((found[1], json.dumps(big)), (found[2], json.dumps("y" * 300))):
        assert isinstance(item.value, TooLarge) and item.value.length == len(text)
        assert len(item.value.head) > 100 and text.startswith(item.value.head)
    assert found[3] == Item(3, 7)


def test_a_huge_element_costs_a_chunk_not_its_size() -> None:
    data = b'[{"a": 1}, {"text": "' + b"x" * (48 << 20) + b'"}, {"b": 2}]'
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        found = _items(data, limit=4 << 20)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert [type(item.value).__name__ for item in found] == ["dict", "TooLarge", "dict"]  # type: ignore[attr-defined]
    assert peak < 40 << 20  # the limit (4 M characters, read twice over) and a chunk, not 48 MB
