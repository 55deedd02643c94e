"""Document inputs under hostile input (issue 25, cases 3, 4 and 6), below the Beam pipeline.

A lone surrogate in any string field is a counted dead letter (not a crash inside Beam); U+2028 and its
kin are text; every format is read in bounded memory with ``max_doc_bytes`` per record (``too_large``
dead letters); a FIFO, ``/dev/zero`` or a directory is refused (a dead letter, and before a phase runs a
one-line error); dead letters holding line separators read back.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kgtext.aligners.document_objects import LONE_SURROGATE
from kgtext.aligners.documents import DocFormat, parse_document_line, read_documents
from kgtext.aligners.records import Document, DropReason
from kgtext.common.dead_letters import DeadLetter, Reason, make_dead_letter
from kgtext.pipelines.documents import length_stats, read_document_file, screen_length
from kgtext.pipelines.files import InputError
from kgtext.pipelines.rejections import read_dead_letters
from kgtext.pipelines.report import check_input_files, file_sha256
from kgtext.pipelines.writers import write_dead_letters

GOOD = {"id": "d1", "text": "Alan Bean flew to the Moon."}


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    def fail(*_: object) -> None:
        raise TimeoutError("the reader blocked")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _line(obj: object) -> Document | DeadLetter:
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return parse_document_line(data, file="in.jsonl", line_no=3, fmt=DocFormat.JSONL)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": "\ud800x", "text": "t"}, "id"),
        ({"id": "a", "text": "caf\udce9"}, "text"),
        ({"id": "a", "text": "t", "title": "\udfff"}, "title"),
        ({"id": "a", "text": "t", "subject": "e:\ud83d"}, "subject"),
        ({"id": "a", "text": "Rome", "links": [{"start": 0, "end": 4, "entity": "e:\ud800"}]}, "links"),
        ({"docid": "\ud800", "text": "t", "entities": []}, "id"),
    ],
)
def test_a_lone_surrogate_is_a_dead_letter_naming_the_field(record: dict[str, object], field: str) -> None:
    letter = _line(record)  # json.dumps escapes it as \ud800, as a hostile file would
    assert isinstance(letter, DeadLetter)
    assert (letter.reason, letter.line) == (LONE_SURROGATE, 3)
    assert letter.excerpt.startswith(f"{field} holds a lone surrogate")
    assert "\\ud" in letter.excerpt  # kept as an escape: the excerpt itself is valid UTF-8
    letter.excerpt.encode("utf-8")
    json.dumps(letter._asdict(), ensure_ascii=False).encode("utf-8")


def test_a_surrogate_pair_escape_is_a_normal_character() -> None:
    doc = _line(b'{"id": "a", "text": "smile \\ud83d\\ude00"}')
    assert isinstance(doc, Document) and doc.text == "smile \U0001f600"


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\u0085"])
def test_line_separators_inside_a_record_are_text(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "d.jsonl"
    records = [{"id": "a", "text": f"One{sep}two."}, {"id": f"b{sep}", "text": "Three."}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    docs = list(read_documents(str(path)))
    assert [(d.id, d.text, d.line) for d in docs if isinstance(d, Document)] == [
        ("a", f"One{sep}two.", 1),
        (f"b{sep}", "Three.", 2),
    ]


def test_nesting_too_deep_is_an_invalid_json_dead_letter() -> None:
    letter = _line(b"[" * 200_000 + b"]" * 200_000)
    assert isinstance(letter, DeadLetter) and letter.reason == Reason.INVALID_JSON
    assert letter.excerpt.startswith("not usable JSON (nested too deeply)")


# --- bounds ----------------------------------------------------------------------------------------------


def _peak(fn: object) -> tuple[list[Document | DeadLetter], int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        items = list(fn())  # type: ignore[operator]
        return items, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_a_txt_above_the_limit_is_too_large_and_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(1 << 30)  # 1 GiB, sparse: reading it whole would take a second and a gigabyte
    items, peak = _peak(lambda: read_documents(str(path), max_doc_bytes=1 << 20))
    [letter] = items
    assert isinstance(letter, DeadLetter) and (letter.reason, letter.line) == (Reason.TOO_LARGE, -1)
    assert letter.excerpt.startswith("text file of 1,073,741,824 bytes exceeds max_doc_bytes=1,048,576")
    assert peak < 4 << 20


def test_a_txt_within_the_limit_is_one_document(tmp_path: Path) -> None:
    path = tmp_path / "essay.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "One\u2028two.".encode())
    [doc] = read_documents(str(path), max_doc_bytes=64)
    assert isinstance(doc, Document) and doc.text == "One\u2028two."


def test_a_jsonl_line_above_max_doc_bytes_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    big = {"id": "big", "text": "x" * 5000}
    path.write_text("\n".join(json.dumps(r) for r in (GOOD, big, GOOD | {"id": "d2"})) + "\n")
    items = list(read_documents(str(path), max_doc_bytes=1000))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Document", 1),
        ("DeadLetter", 2),
        ("Document", 3),
    ]
    assert items[1].reason == Reason.TOO_LARGE  # type: ignore[union-attr]
    assert "exceeds max_doc_bytes=1000" in items[1].excerpt  # type: ignore[union-attr]


def test_a_gzip_bomb_line_is_too_large_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(b'{"id": "b", "text": "')
        chunk = b"a" * (1 << 20)
        for _ in range(64):  # 64 MiB expanded, ~64 KB on disk
            handle.write(chunk)
        handle.write(b'"}\n' + json.dumps(GOOD).encode() + b"\n")
    items, peak = _peak(lambda: read_documents(str(path), max_doc_bytes=1 << 20))
    assert [(type(i).__name__, i.line) for i in items] == [("DeadLetter", 1), ("Document", 2)]
    assert items[0].reason == Reason.TOO_LARGE  # type: ignore[union-attr]
    assert peak < 16 << 20


def test_a_json_array_is_streamed_and_a_large_record_skipped(tmp_path: Path) -> None:
    path = tmp_path / "trex.json"
    records = [GOOD, {"id": "big", "text": "y" * (8 << 20)}, GOOD | {"id": "d2"}]
    path.write_text(json.dumps(records), encoding="utf-8")
    items, peak = _peak(lambda: read_documents(str(path), max_doc_bytes=1 << 20))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Document", 1),
        ("DeadLetter", 2),
        ("Document", 3),
    ]
    assert items[1].reason == Reason.TOO_LARGE  # type: ignore[union-attr]
    size = len(json.dumps(records[1]))
    assert items[1].excerpt.startswith(f"record of {size:,} characters exceeds max_doc_bytes=1,048,576")  # type: ignore[union-attr]
    assert peak < 8 << 20


def test_a_json_file_of_one_record_or_an_array_of_one_has_no_line(tmp_path: Path) -> None:
    for text in (json.dumps({"text": "Only one."}), json.dumps([{"text": "Only one."}])):
        path = tmp_path / "one.json"
        path.write_text(text, encoding="utf-8")
        [doc] = read_documents(str(path))
        assert isinstance(doc, Document) and (doc.id, doc.line) == (str(path), -1)


def test_a_broken_json_array_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"id": "a", "text": "Fine."}, {"id": "b", "text": ', encoding="utf-8")
    doc, letter = read_documents(str(path))
    assert isinstance(doc, Document) and doc.id == "a"
    assert isinstance(letter, DeadLetter) and (letter.reason, letter.line) == (Reason.INVALID_JSON, 2)
    assert letter.excerpt.startswith("record 2: not valid JSON")


def test_a_parquet_text_above_the_limit_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["Fine.", "z" * 5000]}), path)
    doc, letter = read_documents(str(path), max_doc_bytes=1000)
    assert isinstance(doc, Document)
    assert isinstance(letter, DeadLetter) and (letter.reason, letter.line) == (Reason.TOO_LARGE, 2)


def _irregular(tmp_path: Path, kind: str, name: str) -> Path:
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    return path


@pytest.mark.parametrize("kind", ["fifo", "zero", "dir"])
@pytest.mark.parametrize("name", ["d.jsonl", "d.jsonl.gz", "d.json", "d.txt", "d.parquet"])
def test_what_is_not_a_regular_file_is_one_read_error(tmp_path: Path, kind: str, name: str) -> None:
    path = _irregular(tmp_path, kind, name)
    for items in (list(read_documents(str(path))), list(read_document_file(str(path)))):
        [letter] = items
        assert isinstance(letter, DeadLetter) and letter.reason == Reason.READ_ERROR
        assert letter.excerpt.startswith(f"{path}: is ") and "not a regular file" in letter.excerpt


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_phase_refuses_an_irregular_input_in_one_line(tmp_path: Path, kind: str) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(GOOD) + "\n")
    bad = _irregular(tmp_path, kind, "bad.jsonl")
    check_input_files([str(good), "gs://bucket/remote.jsonl"], "docs")
    with pytest.raises(InputError, match=rf"^--docs {bad}: is a .*, not a regular file") as info:
        check_input_files([str(good), str(bad)], "docs")
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match=rf"^{bad}: is a"):
        file_sha256(str(bad))  # the manifest's hashing never re-opens (or waits on) such a file
    assert file_sha256(str(good))[0] == good.stat().st_size


def test_a_file_name_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    name = os.fsdecode(b"d\xff.jsonl")  # "d\udcff.jsonl": what os.listdir and Beam's glob return
    (tmp_path / name).write_text(json.dumps(GOOD) + "\n")
    with pytest.raises(InputError, match=r"^--docs .*/d\\xff\.jsonl: the file name is not valid UTF-8"):
        check_input_files([str(tmp_path / name)], "docs")


def test_a_document_too_long_for_the_cleaner_leaves_before_any_shuffle() -> None:
    short = Document("a", "x" * 10, "", "", (), "f", 1)
    long = short._replace(text="x" * 11)
    assert screen_length(short, 10) is short
    assert screen_length(long, 10) is DropReason.TOO_LONG
    assert list(length_stats(DropReason.TOO_LONG)) == [("documents.dropped.too_long", 1)]
    assert list(length_stats(short)) == []


def test_dead_letters_with_line_separators_read_back(tmp_path: Path) -> None:
    letters = [
        make_dead_letter(
            "read_documents", "d.jsonl", Reason.MISSING_FIELD, '\'text\': {"id": "a\u2028b"}', line=1
        ),
        make_dead_letter("read_documents", "d.jsonl", Reason.INVALID_JSON, '{"x\u0085\u2029', line=2),
        make_dead_letter("read_kg", "kg.nt", Reason.SYNTAX_ERROR, '<a> <b> "c\u2028d" x .', line=7),
    ]
    for stage in ("read_documents", "read_kg"):
        write_dead_letters((stage, [d for d in letters if d.stage == stage]), str(tmp_path))
    assert read_dead_letters(str(tmp_path)) == letters
