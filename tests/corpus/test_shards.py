"""Shard writer/reader round trips through pyarrow and Hugging Face datasets, and their failure modes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.manifest import load_manifest
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.shards import encode_shard, read_shard, to_row
from tests.corpus.conftest import DLM_ROWS, ROWS, SENTENCE


def test_encoding_is_deterministic() -> None:
    assert encode_shard("aligned", ROWS).data == encode_shard("aligned", ROWS).data


def test_round_trip_through_pyarrow_open_stream(corpus_dir: Path) -> None:
    path = corpus_dir / "aligned/train/part-00000-of-00001.arrow"
    with pa.ipc.open_stream(pa.OSFile(str(path))) as stream:
        rows = stream.read_all().to_pylist()
    expected = to_row(ROWS[0])
    del expected["passes_filter"]  # not an aligned/ column: filtered sentences are not written
    assert rows == [expected]
    row = rows[0]
    assert row["text"] == SENTENCE
    assert (
        row["text"][row["mentions"][0]["start"] : row["mentions"][0]["end"]] == 'Wilfried "Willi" Schneider'
    )
    assert row["text"][33:46] == "13 March 1963"
    assert row["triples"][0]["relation"] == "http://www.wikidata.org/prop/direct/P19"
    assert "passes_filter" not in row


def test_round_trip_through_hf_datasets(corpus_dir: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_file(str(corpus_dir / "dlm/train/part-00000-of-00001.arrow"))
    assert ds["input_ids"] == [r["input_ids"] for r in DLM_ROWS]
    assert ds["num_tokens"] == [5, 3]


def test_tokens_are_summed_from_num_tokens() -> None:
    assert encode_shard("dlm", DLM_ROWS).tokens == 8
    assert encode_shard("aligned", ROWS).tokens == 0


def test_schema_mismatch_is_rejected() -> None:
    bad = dict(DLM_ROWS[0], num_tokens="five")
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        encode_shard("dlm", [bad])


def test_unknown_dataset_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: aligned, kmlm"):
        encode_shard("nope", [])


def test_reader_checks_row_count(corpus_dir: Path) -> None:
    path = corpus_dir / "dlm/train/part-00000-of-00001.arrow"
    with pytest.raises(CorpusError, match="has 2 rows, manifest says 3"):
        read_shard(path, "dlm", expected_rows=3)


def test_truncated_at_message_boundary_is_caught(corpus_dir: Path) -> None:
    """Drop the last record batch: the stream still reads, only the manifest's counts catch it."""
    rows = DLM_ROWS * 700  # > ROWS_PER_BATCH rows: two record batches
    data = encode_shard("dlm", rows).data
    reader = pa.ipc.open_stream(data)
    first = reader.read_next_batch()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, first.schema) as writer:
        writer.write_batch(first)
    path = corpus_dir / "cut.arrow"
    path.write_bytes(sink.getvalue().to_pybytes())
    assert read_shard(path, "dlm").num_rows == 1024
    with pytest.raises(CorpusError, match="truncated shard"):
        read_shard(path, "dlm", expected_rows=1400)


def test_check_passes_on_a_good_corpus(corpus_dir: Path) -> None:
    reader = CorpusReader(corpus_dir)
    reader.check()
    assert reader.datasets() == ["aligned", "dlm"]
    assert reader.verify() == []


def test_verify_catches_a_flipped_byte(corpus_dir: Path) -> None:
    path = corpus_dir / "dlm/train/part-00000-of-00001.arrow"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x01
    path.write_bytes(bytes(data))
    problems = [p.problem for p in CorpusReader(corpus_dir).verify()]
    assert any("sha256 differs" in p for p in problems)


def test_verify_catches_truncation_and_missing_and_extra(corpus_dir: Path) -> None:
    path = corpus_dir / "dlm/train/part-00000-of-00001.arrow"
    path.write_bytes(path.read_bytes()[:-50])
    (corpus_dir / "aligned/train/part-00000-of-00001.arrow").unlink()
    (corpus_dir / "aligned/valid").mkdir()
    (corpus_dir / "aligned/valid/stray.arrow").write_bytes(b"x")
    problems = [str(p) for p in CorpusReader(corpus_dir).verify()]
    assert any("dlm/train" in p and "sha256 differs" in p for p in problems)
    assert any("dlm/train" in p and "bytes, manifest says" in p for p in problems)
    assert any("aligned/train" in p and "missing" in p for p in problems)
    assert any("stray.arrow" in p and "extra shard" in p for p in problems)


def test_missing_manifest_is_an_incomplete_build(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"manifest.json: missing"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../x.arrow", "points outside"),
        ("/etc/passwd", "is absolute"),
        ("dlm/train/../../../x.arrow", "points outside"),
    ],
)
def test_manifest_paths_outside_the_directory_are_refused(corpus_dir: Path, path: str, message: str) -> None:
    manifest_path = corpus_dir / "manifest.json"
    raw = json.loads(manifest_path.read_text())
    raw["datasets"]["dlm"]["train"][0]["path"] = path
    manifest_path.write_text(json.dumps(raw))
    with pytest.raises(CorpusError, match=message):
        load_manifest(corpus_dir)


def test_newer_format_version_is_refused(corpus_dir: Path) -> None:
    manifest_path = corpus_dir / "manifest.json"
    raw = json.loads(manifest_path.read_text())
    raw["format_version"] = 999
    manifest_path.write_text(json.dumps(raw))
    with pytest.raises(CorpusError, match="format version 999 is newer"):
        load_manifest(corpus_dir)


def test_manifest_round_trips(corpus_dir: Path) -> None:
    manifest = load_manifest(corpus_dir)
    assert manifest.statistics["mentions.date"] == 1
    assert manifest.shards("dlm", "train")[0].rows == 2
    assert manifest.shards("dlm", "valid") == []


def _edit_manifest(corpus_dir: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = corpus_dir / "manifest.json"
    raw = json.loads(path.read_text())
    edit(raw)
    path.write_text(json.dumps(raw))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["datasets"].update(kmlm=[]), r"datasets\.kmlm: expected an object, got a list$"),
        (lambda m: m["inputs"].append({"path": "a.nt", "role": "kg", "bytes": 1, "sha256": "x", "colour": 1}),
         r"inputs\[0\]\.colour: unknown key \(known: path, role, bytes, sha256\)$"),
        (lambda m: m["datasets"]["dlm"]["train"][0].update(rows="2"),
         r"datasets\.dlm\.train\[0\]\.rows: expected an integer, got a string$"),
        (lambda m: m["statistics"].update({"documents.read": "many"}),
         r"statistics\.documents\.read: expected an integer, got a string$"),
        (lambda m: m["datasets"]["dlm"]["train"][0].pop("sha256"), r"datasets\.dlm\.train\[0\]\.sha256: missing$"),
        (lambda m: m.update(tokenizer=[1]), r"tokenizer: expected an object, got a list$"),
        (lambda m: m["inputs"].append({"path": "a.nt", "role": "kb", "bytes": 1, "sha256": "x"}),
         r"inputs\[0\]\.role: expected one of 'kg', 'docs', got 'kb'$"),
        (lambda m: m["datasets"].update(kmlm={"test": []}), r"datasets\.kmlm\.test: unknown split"),
    ],
)  # fmt: skip
def test_a_malformed_manifest_is_one_line_naming_the_key(
    corpus_dir: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    _edit_manifest(corpus_dir, edit)
    with pytest.raises(CorpusError, match=message) as exc:
        load_manifest(corpus_dir)
    assert "\n" not in str(exc.value)
