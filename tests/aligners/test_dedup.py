"""Duplicate document ids: the first record in input order is kept, whatever order the records arrive in."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from kgtext.aligners.dedup import resolve_duplicate_ids
from kgtext.aligners.documents import read_documents
from kgtext.aligners.records import Document
from tests.pipelines.conftest import REDOCRED


def _real_documents() -> list[Document]:
    docs = [d for d in read_documents(str(REDOCRED / "docs.jsonl")) if isinstance(d, Document)]
    return docs[:3]


def test_first_in_input_order_wins_in_any_arrival_order() -> None:
    first, second, third = _real_documents()
    same_id = [
        second._replace(id=first.id, file="b.jsonl", line=7),
        first._replace(file="a.jsonl", line=2),
        third._replace(id=first.id, file="a.jsonl", line=9),
    ]
    rank = {"a.jsonl": 0, "b.jsonl": 1}
    for arrival in itertools.permutations(same_id):
        result = resolve_duplicate_ids(arrival, rank)
        assert (result.kept.file, result.kept.line, result.kept.text) == ("a.jsonl", 2, first.text)
        assert result.identical == 0
        assert [(d.file, d.line, d.reason) for d in result.conflicts] == [
            ("a.jsonl", 9, "duplicate_id"),
            ("b.jsonl", 7, "duplicate_id"),
        ]
        assert result.conflicts[0].excerpt.startswith(f"id {first.id!r} was already read from a.jsonl:2")


def test_file_order_beats_line_order() -> None:
    first, second, _ = _real_documents()
    late_file = first._replace(file="z.jsonl", line=1)
    early_file = second._replace(id=first.id, file="a.jsonl", line=500)
    result = resolve_duplicate_ids([late_file, early_file], {"z.jsonl": 0, "a.jsonl": 1})
    assert result.kept == late_file
    assert [d.line for d in result.conflicts] == [500]


def test_identical_copies_are_counted_not_dead_lettered() -> None:
    first, _, _ = _real_documents()
    copy = first._replace(file="copy.jsonl", line=3)
    result = resolve_duplicate_ids([copy, first], {first.file: 0, "copy.jsonl": 1})
    assert result.kept == first
    assert result.identical == 1
    assert result.conflicts == ()


def test_a_bom_at_the_start_of_a_jsonl_file_costs_no_record(tmp_path: Path) -> None:
    lines = (REDOCRED / "docs.jsonl").read_bytes().splitlines(keepends=True)[:2]
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"".join(lines))
    got = list(read_documents(str(path)))
    assert [type(d).__name__ for d in got] == ["Document", "Document"]
    assert got[0].id == json.loads(lines[0])["id"]
