"""The reliability cases of issue 11 end to end through ``kgtext build-corpus``: duplicate ids, BOMs,
broken Turtle, huge lines; each gives a clear error or counted dead letters, never a silent loss."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow as pa
import pytest

from kgtext.corpus.reader import CorpusReader
from tests.pipelines.conftest import REDOCRED, build

DOC_LINES = (REDOCRED / "docs.jsonl").read_bytes().splitlines(keepends=True)


def _aligned_text(corpus: Path, doc_id: str) -> str:
    reader = CorpusReader(corpus)
    texts = []
    for split in ("train", "valid"):
        for table in reader.iter_tables("aligned", split):
            rows = table.filter(pa.compute.equal(table.column("doc_id"), doc_id))
            texts += rows.column("text").to_pylist()
    return " ".join(texts)


def _letters(corpus: Path, stage: str) -> list[dict[str, object]]:
    path = corpus / "dead_letters" / f"{stage}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_duplicate_ids_keep_the_first_record_in_input_order(tmp_path: Path) -> None:
    first = json.loads(DOC_LINES[0])
    impostor = json.loads(DOC_LINES[10]) | {"id": first["id"]}
    (tmp_path / "a.jsonl").write_bytes(b"".join(DOC_LINES[:6]))
    (tmp_path / "b.jsonl").write_bytes(DOC_LINES[2] + (json.dumps(impostor) + "\n").encode())
    out = tmp_path / "corpus"
    manifest = build(out, [REDOCRED / "kg.ttl"], [tmp_path / "b.jsonl", tmp_path / "a.jsonl"])
    stats = manifest.statistics
    assert stats["documents.read"] == 8
    assert stats["documents.dropped.duplicate_id"] == 1
    assert stats["documents.dropped.duplicate_document"] == 1
    assert stats["documents.kept"] == 6
    letters = [d for d in _letters(out, "read_documents") if d["reason"] == "duplicate_id"]
    assert [(d["file"], d["line"]) for d in letters] == [(str(tmp_path / "a.jsonl"), 1)]
    # b.jsonl was given first: its record of that id (the impostor text) is the one kept.
    assert _aligned_text(out, first["id"]).startswith(impostor["text"].split(".")[0])


def test_a_bom_costs_no_record(tmp_path: Path) -> None:
    (tmp_path / "docs.jsonl").write_bytes(b"\xef\xbb\xbf" + b"".join(DOC_LINES[:5]))
    manifest = build(tmp_path / "corpus", [REDOCRED / "kg.ttl"], [tmp_path / "docs.jsonl"])
    assert manifest.statistics["documents.read"] == 5
    assert not any(k.startswith("documents.rejected") for k in manifest.statistics)


def test_long_lines_in_kg_and_documents_are_dead_letters(tmp_path: Path) -> None:
    kg = (REDOCRED / "kg.ttl").read_bytes()
    nt = tmp_path / "extra.nt"
    nt.write_bytes(b"<http://www.wikidata.org/entity/Q1> " + b"y" * 200_000 + b"\n")
    long_doc = json.dumps({"id": "huge", "text": "word " * 40_000}).encode() + b"\n"
    docs = tmp_path / "docs.jsonl"
    docs.write_bytes(b"".join(DOC_LINES[:3]) + long_doc + b"".join(DOC_LINES[3:5]))
    (tmp_path / "kg.ttl").write_bytes(kg)
    out = tmp_path / "corpus"
    manifest = build(out, [tmp_path / "kg.ttl", nt], [docs], "--max-line-bytes", "65536")
    stats = manifest.statistics
    assert stats["kg.rejected.too_large"] == 1
    assert stats["documents.rejected.too_large"] == 1
    assert stats["documents.read"] == 5
    (letter,) = [d for d in _letters(out, "read_documents") if d["reason"] == "too_large"]
    assert (letter["file"], letter["line"]) == (str(docs), 4)


def _broken_turtle(tmp_path: Path, line_index: int) -> tuple[Path, int]:
    """The Re-DocRED fixture KG (3,291 lines of Turtle) with one statement broken; its triple count."""
    lines = (REDOCRED / "kg.ttl").read_bytes().splitlines(keepends=True)
    assert lines[line_index].count(b"> <") >= 1
    lines[line_index] = lines[line_index].replace(b"> <", b"> @@@ <", 1)
    path = tmp_path / "kg.ttl"
    path.write_bytes(b"".join(lines))
    return path, len(lines)


def test_one_turtle_syntax_error_costs_one_statement_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    whole = build(tmp_path / "good", [REDOCRED / "kg.ttl"], [REDOCRED / "docs.jsonl"]).statistics
    kg, total = _broken_turtle(tmp_path, 1600)
    with caplog.at_level(logging.WARNING):
        stats = build(tmp_path / "corpus", [kg], [REDOCRED / "docs.jsonl"]).statistics
    assert stats["kg.triples"] == whole["kg.triples"] - 1
    assert (stats["kg.lines_lost"], stats["kg.lines_read"], stats["kg.rejected.syntax_error"]) == (
        1,
        total,
        1,
    )
    (letter,) = _letters(tmp_path / "corpus", "read_kg")
    assert (letter["line"], letter["reason"]) == (1601, "syntax_error")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"1 x syntax_error in {kg} (first at {kg}:1601)" in w for w in warnings)
    assert any(f"1 of {total:,} KG lines were lost to syntax errors" in w for w in warnings)


def test_strict_makes_a_rejected_statement_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kg, _ = _broken_turtle(tmp_path, 10)
    out = tmp_path / "corpus"
    with pytest.raises(SystemExit) as err:
        build(out, [kg], [REDOCRED / "docs.jsonl"], "--strict")
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert message.startswith(
        f"kgtext build-corpus: error: 1 of {sum(1 for _ in kg.open()):,} KG lines (0.0%) were rejected, more than "
        f"--strict allows; top reason: 1 x syntax_error in {kg}\n"
    )
    assert not out.exists()
