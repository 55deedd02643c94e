"""Bad input end to end: each yields a clear message, or dead letters counted in the manifest, and good
records are never lost because of bad neighbours; a failed run leaves nothing that looks complete."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kgtext.pipelines.writers
from kgtext.corpus.reader import CorpusReader
from kgtext.pipelines.build_corpus import main
from tests.pipelines.conftest import REBEL, REDOCRED, build, corpus_digests

BAD_KG_LINES = [
    b"<http://www.wikidata.org/entity/Q7835172> <http://www.wikidata.org/prop/direct/P31> .\n",
    b'<http://www.wikidata.org/entity/Q7835172> <http://www.w3.org/2004/02/skos/core#altLabel> "Transp\n',
    b"<not an iri> <http://www.wikidata.org/prop/direct/P31> <http://www.wikidata.org/entity/Q5> .\n",
]


@pytest.fixture(scope="module")
def bad_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """REBEL KG with malformed lines + Re-DocRED documents mixed with broken records, unknown extensions."""
    root = tmp_path_factory.mktemp("bad")
    kg_dir, docs_dir = root / "kg", root / "docs"
    kg_dir.mkdir()
    docs_dir.mkdir()
    good_kg = (REBEL / "kg.nt").read_bytes().splitlines(keepends=True)
    (kg_dir / "kg.nt").write_bytes(
        b"".join(good_kg[:10] + BAD_KG_LINES[:2] + good_kg[10:] + BAD_KG_LINES[2:])
    )
    (kg_dir / "README.xyz").write_text("not a KG")
    lines = (REDOCRED / "docs.jsonl").read_bytes().splitlines(keepends=True)[:6]
    broken_link = json.loads(lines[5])
    broken_link["id"] = "broken-link"
    broken_link["links"] = [{"start": 10_000, "end": 10_010, "entity": "http://example.org/x"}]
    mixed = [
        lines[0],
        b'{"id": "latin1", "text": "Caf\xe9 au lait is coffee with hot milk."}\n',
        lines[1],
        b'{"id": "cut", "text": "unterminated\n',
        lines[2],
        b'{"id": "no-text"}\n',
        lines[3],
        lines[4],
        (json.dumps(broken_link, ensure_ascii=False) + "\n").encode(),
    ]
    (docs_dir / "docs.jsonl").write_bytes(b"".join(mixed))
    (docs_dir / "notes.md").write_text("# not a document file\n")
    out = root / "corpus"
    build(out, [kg_dir], [docs_dir])
    return out


def test_bad_build_still_verifies(bad_build: Path) -> None:
    assert CorpusReader(bad_build).verify() == []


def test_bad_kg_lines_are_dead_lettered_and_good_ones_kept(bad_build: Path) -> None:
    stats = CorpusReader(bad_build).manifest.statistics
    assert (stats["kg.triples"], stats["kg.lexicon_entries"]) == (35, 85)
    rejected = {k: v for k, v in stats.items() if k.startswith("kg.rejected.")}
    assert sum(rejected.values()) == 3
    letters = [json.loads(x) for x in (bad_build / "dead_letters" / "read_kg.jsonl").read_text().splitlines()]
    by_line = {(Path(d["file"]).name, d["line"]): d["reason"] for d in letters}
    assert by_line[("README.xyz", -1)] == "unknown_extension"
    assert {line for name, line in by_line if name == "kg.nt"} == {11, 12, 123}
    assert stats["dead_letters.read_kg"] == 4


def test_bad_documents_are_dead_lettered_and_good_ones_kept(bad_build: Path) -> None:
    stats = CorpusReader(bad_build).manifest.statistics
    assert stats["documents.read"] == 6
    assert stats["documents.kept"] == 6
    assert (stats["documents.rejected.invalid_utf8"], stats["documents.rejected.invalid_json"]) == (1, 1)
    assert stats["documents.rejected.missing_field"] == 1
    letters = [
        json.loads(x) for x in (bad_build / "dead_letters" / "read_documents.jsonl").read_text().splitlines()
    ]
    assert [(Path(d["file"]).name, d["line"], d["reason"]) for d in letters] == [
        ("docs.jsonl", 2, "invalid_utf8"),
        ("docs.jsonl", 4, "invalid_json"),
        ("docs.jsonl", 6, "missing_field"),
        ("notes.md", -1, "unknown_extension"),
    ]
    assert letters[0]["excerpt"].startswith('{"id": "latin1", "text": "Caf\\xe9')
    assert stats["dead_letters.read_documents"] == 4


def test_a_broken_link_is_dropped_and_counted_but_its_document_kept(bad_build: Path) -> None:
    reader = CorpusReader(bad_build)
    doc_ids = {
        r["doc_id"]
        for split in ("train", "valid")
        for t in reader.iter_tables("aligned", split)
        for r in t.to_pylist()
    }
    assert "broken-link" in doc_ids
    assert reader.manifest.statistics["links.dropped.link_out_of_range"] == 1


def _argv(out: Path, *extra: str) -> list[str]:
    return ["--kg", str(REBEL / "kg.nt"), "--docs", str(REBEL / "docs.jsonl"), "--out", str(out), *extra]


def test_a_glob_matching_nothing_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "--kg",
                str(tmp_path / "*.nt"),
                "--docs",
                str(REBEL / "docs.jsonl"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
    assert exc.value.code == 2
    assert f"--kg {tmp_path}/*.nt: matches no file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_an_output_path_that_is_a_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "o").write_text("a file")
    with pytest.raises(SystemExit) as exc:
        main(_argv(tmp_path / "o", "--overwrite"))
    assert exc.value.code == 2
    assert "is a file, not a directory" in capsys.readouterr().err


def test_only_unknown_extensions_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docs.csv").write_text("id,text\n")
    with pytest.raises(SystemExit):
        main(
            ["--kg", str(REBEL / "kg.nt"), "--docs", str(tmp_path / "docs.csv"), "--out", str(tmp_path / "o")]
        )
    assert "--docs: no input file has a known extension" in capsys.readouterr().err


def test_a_write_error_mid_run_leaves_the_old_corpus_and_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "corpus"
    build(out, [REBEL / "kg.nt"], [REBEL / "docs.jsonl"], "--vocab-size", "600")
    before = corpus_digests(out)
    real_write = kgtext.pipelines.writers.write_atomic_with

    def failing_write(path: str, fill: Callable[[Any], Any]) -> Any:
        if "/sd/" in path:  # a shard file (run files are named sd.<split>...)
            raise OSError(28, "No space left on device (simulated)", path)
        return real_write(path, fill)

    monkeypatch.setattr(kgtext.pipelines.writers, "write_atomic_with", failing_write)
    with pytest.raises(SystemExit) as exc:
        build(out, [REBEL / "kg.nt"], [REBEL / "docs.jsonl"], "--vocab-size", "600", "--overwrite")
    assert exc.value.code == 2
    last = capsys.readouterr().err.strip().split("\n")[-1]
    assert last.startswith("kgtext build-corpus: error: ") and "/.corpus.building-" in last, last
    assert "/sd/train/part-" in last and ": no space left on the device (" in last, last
    assert last.endswith(f"; the build folder was removed and --out {out} is unchanged"), last
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"], "no temporary directory may remain"
    assert corpus_digests(out) == before
    assert CorpusReader(out).verify() == []


def test_a_failed_first_build_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_write(path: str, data: bytes) -> None:
        raise OSError(5, "Input/output error (simulated)", path)

    monkeypatch.setattr(kgtext.pipelines.writers, "write_atomic", failing_write)
    with pytest.raises(Exception, match="Input/output error"):
        build(tmp_path / "corpus", [REBEL / "kg.nt"], [REBEL / "docs.jsonl"], "--vocab-size", "600")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_an_existing_corpus(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    shutil.copytree(REBEL, tmp_path / "inputs")
    args = ([tmp_path / "inputs" / "kg.nt"], [tmp_path / "inputs" / "docs.jsonl"])
    build(out, *args, "--vocab-size", "600")
    before = corpus_digests(out)
    build(out, *args, "--vocab-size", "700", "--overwrite")
    assert corpus_digests(out) != before
    assert CorpusReader(out).verify() == []
