"""Document readers: formats, T-REx/REBEL conversion with offset-drift repair, and every bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kgtext.aligners.documents import (
    DocFormat,
    FieldMap,
    document_format_of,
    document_from_object,
    parse_document_line,
    read_documents,
)
from kgtext.aligners.records import Document, DropReason, Link
from kgtext.common.dead_letters import DeadLetter

WD = "http://www.wikidata.org/entity/"


def _parse(obj: object) -> Document | DeadLetter:
    line = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return parse_document_line(line, file="in.jsonl", line_no=7, fmt=DocFormat.JSONL)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("a/b.jsonl", DocFormat.JSONL),
        ("b.JSONL.GZ", DocFormat.JSONL_GZ),
        ("c.json", DocFormat.JSON),
        ("d.txt", DocFormat.TXT),
        ("e.parquet", DocFormat.PARQUET),
    ],
)
def test_format_by_extension(path: str, fmt: DocFormat) -> None:
    assert document_format_of(path) is fmt


def test_unknown_extension_names_the_file() -> None:
    with pytest.raises(ValueError, match="docs/x.csv"):
        document_format_of("docs/x.csv")


def test_jsonl_record() -> None:
    doc = _parse(
        {
            "id": "d1",
            "text": "Alan Bean flew.",
            "title": "T",
            "links": [{"start": 0, "end": 9, "entity": "e:AB"}],
        }
    )
    assert doc == Document("d1", "Alan Bean flew.", "T", "", (Link(0, 9, "e:AB"),), "in.jsonl", 7)


def test_numeric_id_is_a_string() -> None:
    doc = _parse({"id": 12, "text": "x"})
    assert isinstance(doc, Document) and doc.id == "12"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"id": "x", "text": ', "invalid_json"),
        (b'{"id": "x", "text": "caf\xe9"}', "invalid_utf8"),
        ({"id": "x"}, "missing_field"),
        ({"id": "x", "text": 5}, "bad_field_type"),
        ({"id": "x", "text": "t", "title": ["no"]}, "bad_field_type"),
        ({"id": "x", "text": ""}, "empty_text"),
        ({"id": "x", "text": " \n\t "}, "empty_text"),
        ({"id": "x", "text": "t", "links": {"start": 0}}, "bad_link"),
        ({"id": "x", "text": "t", "links": [{"start": "0", "end": 1, "entity": "e"}]}, "bad_link"),
        ({"id": "x", "text": "t", "links": [{"start": 0, "end": 1}]}, "bad_link"),
        (["not", "an", "object"], "bad_field_type"),
        (b'{"id": "x", "text": "t", "title": 3, "note": "\\ud800"}', "bad_field_type"),
    ],
)
def test_bad_lines_become_dead_letters(line: object, reason: str) -> None:
    result = _parse(line)
    assert isinstance(result, DeadLetter)
    assert (result.stage, result.file, result.line, result.reason) == (
        "read_documents",
        "in.jsonl",
        7,
        reason,
    )


def test_a_record_without_an_id_gets_file_and_line() -> None:
    assert _parse({"text": "no id"}) == Document("in.jsonl:7", "no id", "", "", (), "in.jsonl", 7)
    assert _parse({"id": None, "text": "null id"}).id == "in.jsonl:7"  # type: ignore[union-attr]
    single = document_from_object({"text": "t"}, file="one.json", line=-1)
    assert isinstance(single, Document) and single.id == "one.json"


def test_a_missing_text_names_the_record_fields_and_the_longest_text(fixtures: Path) -> None:
    line = (fixtures / "tekgen" / "mojibake.jsonl").read_bytes().splitlines()[0]
    letter = parse_document_line(line, file="train.jsonl", line_no=1, fmt=DocFormat.JSONL)
    assert isinstance(letter, DeadLetter) and letter.reason == "missing_field"
    assert letter.excerpt.startswith(
        "'text' (the record has 'id', 'sub_label', 'rel_label', 'obj_label', 'sent', 'sub', 'rel', 'obj'; "
        "longest text in 'sent'): {"
    )


def test_a_field_map_reads_tekgen_records(fixtures: Path) -> None:
    """TEKGEN (Text2KGBench): the text is ``sent``, the subject a bare Wikidata id in ``sub``."""
    fields = FieldMap(text="sent", subject="sub", title="sub_label", entity_prefix=WD)
    docs = list(read_documents(str(fixtures / "tekgen" / "mojibake.jsonl"), fields=fields))
    assert [(d.id, d.title, d.subject, d.line) for d in docs] == [  # type: ignore[union-attr]
        ("ont_1_movie_train_1", "Urusei Yatsura 2: Beautiful Dreamer", WD + "Q1582185", 1),
        ("ont_1_movie_train_4", "Evangelion: 3.0 You Can (Not) Redo", WD + "Q182206", 2),
        ("ont_1_movie_train_7", "A Letter to Momo", WD + "Q559417", 3),
    ]
    assert docs[0].text.endswith("directed by Mamoru Oshii.")  # type: ignore[union-attr]


def test_a_field_map_applies_to_parquet_and_prefixes_bare_link_ids(tmp_path: Path) -> None:
    table = pa.table(
        {
            "body": ["Douglas Adams wrote it.", "Plain text."],
            "links_": [[{"start": 0, "end": 13, "entity": "Q42"}], []],
            "about": ["Q42", "http://example.org/full"],
        }
    )
    pq.write_table(table, tmp_path / "news.parquet")
    fields = FieldMap(text="body", links="links_", subject="about", entity_prefix=WD)
    docs = list(read_documents(str(tmp_path / "news.parquet"), fields=fields))
    path = str(tmp_path / "news.parquet")
    assert docs == [
        Document(f"{path}:1", "Douglas Adams wrote it.", "", WD + "Q42", (Link(0, 13, WD + "Q42"),), path, 1),
        Document(f"{path}:2", "Plain text.", "", "http://example.org/full", (), path, 2),
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": ""}, "field names must not be empty"),
        ({"text": "id"}, "field names must differ"),
    ],
)
def test_a_bad_field_map_is_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FieldMap(**fields)


def test_link_surface_drift_is_repaired_or_dropped() -> None:
    text = "In Paris and Rome."
    links = [
        {"start": 5, "end": 10, "entity": "e:P", "surface": "Paris"},  # +2 drift -> repaired
        {"start": 0, "end": 2, "entity": "e:X", "surface": "Berlin"},  # not in text -> dropped
        {"start": 40, "end": 44, "entity": "e:R"},  # out of range, no surface -> kept for clean_document
    ]
    doc = _parse({"id": "d", "text": text, "links": links})
    assert isinstance(doc, Document)
    assert doc.links == (Link(3, 8, "e:P"), Link(40, 44, "e:R"))
    assert doc.link_drops == (DropReason.LINK_MISMATCH,)


def test_rebel_record_with_offset_drift(fixtures: Path) -> None:
    docs = list(read_documents(str(fixtures / "rebel_sample" / "sample.jsonl")))
    assert [d.id for d in docs] == [
        "30113940",
        "30113992",
        "30114533",
        "30120180",
        "29554103",
        "29719567",
        "29539622",
    ]
    gneiss = docs[4]
    assert isinstance(gneiss, Document)
    assert (gneiss.title, gneiss.subject, gneiss.line) == ("Gneiss Point", WD + "Q2562911", 5)
    # Upstream boundaries are [42, 54] (+2 drift); the reader moves them onto "Marble Point".
    assert gneiss.links[0] == Link(40, 52, WD + "Q2604787")
    assert all(gneiss.text[k.start : k.end] for k in gneiss.links)
    assert gneiss.text[40:52] == "Marble Point"
    # Dates and numbers are not links; the page's own mention is.
    assert Link(0, 12, WD + "Q2562911") in gneiss.links


def test_jsonl_gz_and_truncated_gz(tmp_path: Path) -> None:
    good = tmp_path / "d.jsonl.gz"
    good.write_bytes(gzip.compress(b'{"id": "a", "text": "one"}\n\n{"id": "b", "text": "two"}\n'))
    assert [(d.id, d.line) for d in read_documents(str(good)) if isinstance(d, Document)] == [
        ("a", 1),
        ("b", 3),
    ]
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(good.read_bytes()[:-12])
    results = list(read_documents(str(cut)))
    assert isinstance(results[-1], DeadLetter) and results[-1].reason == "truncated_compressed"


def test_txt_is_one_document(tmp_path: Path) -> None:
    path = tmp_path / "essay-1.txt"
    path.write_text("First paragraph.\n\nSecond one.", encoding="utf-8")
    assert list(read_documents(str(path))) == [
        Document("essay-1", "First paragraph.\n\nSecond one.", "", "", (), str(path), -1)
    ]


@pytest.mark.parametrize(
    ("content", "reason"), [(b"\xff\xfe bad", "invalid_utf8"), (b" \n \x0b", "empty_text")]
)
def test_bad_txt(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    [result] = list(read_documents(str(path)))
    assert isinstance(result, DeadLetter) and result.reason == reason


def test_json_array_of_trex_records(tmp_path: Path, fixtures: Path) -> None:
    lines = (fixtures / "rebel_sample" / "sample.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    path = tmp_path / "trex.json"
    path.write_text("[" + ",".join(lines) + "]", encoding="utf-8")
    docs = list(read_documents(str(path)))
    assert [(d.id, d.line) for d in docs if isinstance(d, Document)] == [("30113940", 1), ("30113992", 2)]


def test_json_with_one_record_per_line_and_broken_json(tmp_path: Path, fixtures: Path) -> None:
    lines = (fixtures / "rebel_sample" / "sample.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    path = tmp_path / "trex.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert [(d.id, d.line) for d in read_documents(str(path)) if isinstance(d, Document)] == [
        ("30113940", 1),
        ("30113992", 2),
    ]
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "a", "text": ', encoding="utf-8")
    [result] = list(read_documents(str(broken)))
    assert isinstance(result, DeadLetter) and result.reason == "invalid_json"


def test_parquet_with_jsonl_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    table = pa.table(
        {
            "id": ["p1", "p2"],
            "text": ["Rome is old.", ""],
            "subject": ["e:Rome", None],
            "links": [[{"start": 0, "end": 4, "entity": "e:Rome"}], []],
        }
    )
    pq.write_table(table, path)
    first, second = list(read_documents(str(path)))
    assert first == Document("p1", "Rome is old.", "", "e:Rome", (Link(0, 4, "e:Rome"),), str(path), 1)
    assert isinstance(second, DeadLetter) and second.reason == "empty_text"


def test_unreadable_parquet_is_a_dead_letter(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    [result] = list(read_documents(str(path)))
    assert isinstance(result, DeadLetter) and result.reason == "read_error"
