"""``kgtext export``: the corpus as Parquet / JSONL that pyarrow.dataset, polars and DuckDB read back exactly.

The corpus is the trainer's fixture (tests/model/corpus_fixture.py: 24 Re-DocRED dev documents, a real
SentencePiece model, the five task datasets through the real builders, train in two shards, valid in one)
plus the ``aligned`` shard of tests/corpus/conftest.py, so every dataset of the format is exported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
import sentencepiece as spm

from kgtext.cli import main as kgtext_main
from kgtext.corpus import export
from kgtext.corpus.export import EXPORT_RECORD, ExportFormat, main
from kgtext.corpus.manifest import MANIFEST_NAME, ShardInfo, load_manifest, write_manifest
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.records import NameRow
from kgtext.corpus.replace import make_build_folder
from kgtext.corpus.schemas import DATASETS
from kgtext.corpus.sharding import shard_file_name
from kgtext.corpus.shards import encode_shard, sha256_file, write_local_atomic
from tests.corpus.conftest import ROWS
from tests.model.corpus_fixture import build_corpus, copy_corpus, load_documents


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven datasets: the trainer fixture's five task datasets, one ``aligned`` and one ``names`` train
    shard (the fixture's relation labels)."""
    root = build_corpus(tmp_path_factory.mktemp("export") / "corpus")
    manifest = load_manifest(root)
    _, labels = load_documents()
    names = [NameRow(iri, label, "relation") for iri, label in sorted(labels.items())[:20]]
    extra = {}
    for dataset, rows in (("aligned", ROWS), ("names", names)):
        encoded = encode_shard(dataset, rows)
        rel = f"{dataset}/train/{shard_file_name(0, 1)}"
        write_local_atomic(root / rel, encoded.data)
        info = ShardInfo(
            path=rel, rows=encoded.rows, bytes=len(encoded.data), tokens=encoded.tokens, sha256=encoded.sha256
        )
        extra[dataset] = {"train": [info]}
    manifest.datasets = {"aligned": extra["aligned"], **manifest.datasets, "names": extra["names"]}
    write_manifest(root, manifest)
    return root


@pytest.fixture(scope="module")
def parquet_out(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parquet") / "out"
    main([str(corpus), "--format", "parquet", "--out", str(out)])
    return out


def expected_table(corpus: Path, dataset: str) -> pa.Table:
    """Every row of a dataset as the corpus reader gives it: train shards in order, then valid."""
    reader = CorpusReader(corpus)
    tables = [t for split in ("train", "valid") for t in reader.iter_tables(dataset, split)]
    return pa.concat_tables(tables)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_pyarrow_dataset_reads_the_parquet_export_exactly(
    corpus: Path, parquet_out: Path, dataset: str
) -> None:
    table = ds.dataset(parquet_out / dataset, format="parquet").to_table()
    assert table.schema == DATASETS[dataset]
    assert table.equals(expected_table(corpus, dataset))


def test_polars_scan_parquet_reads_the_export_exactly(corpus: Path, parquet_out: Path) -> None:
    pl = pytest.importorskip("polars")
    frame = pl.scan_parquet(f"{parquet_out}/kmlm/*/*.parquet").collect()
    assert frame.equals(pl.from_arrow(expected_table(corpus, "kmlm")))


def test_duckdb_reads_the_export_exactly(corpus: Path, parquet_out: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    glob = f"{parquet_out}/kmlm/*/*.parquet"
    expected = expected_table(corpus, "kmlm")
    assert duckdb.sql(f"select count(*) from '{glob}'").fetchall() == [(expected.num_rows,)]
    ordered = duckdb.sql(
        "select * exclude (filename, file_row_number) from "
        f"read_parquet('{glob}', filename = true, file_row_number = true) order by filename, file_row_number"
    )
    assert pa.table(ordered.arrow()).to_pylist() == expected.to_pylist()  # arrow(): Table or batch reader


def test_one_file_per_shard_and_the_export_record(corpus: Path, parquet_out: Path) -> None:
    manifest = load_manifest(corpus)
    expected_files = [
        {
            "path": f"{dataset}/{split}/part-{k:05d}.parquet",
            "dataset": dataset,
            "split": split,
            "rows": shard.rows,
        }
        for dataset in DATASETS
        for split, shards in manifest.datasets[dataset].items()
        for k, shard in enumerate(shards)
    ]
    record = json.loads((parquet_out / EXPORT_RECORD).read_text(encoding="utf-8"))
    assert record == {
        "created_by": "kgtext export",
        "source": str(corpus.resolve()),
        "source_manifest_sha256": sha256_file(corpus / MANIFEST_NAME),
        "format": "parquet",
        "decoded_columns": {},
        "datasets": {
            "aligned": {"train": 1},
            "kmlm": {"train": 174, "valid": 67},
            "uktp": {"train": 242, "valid": 102},
            "sr": {"train": 46, "valid": 18},
            "sd": {"train": 174, "valid": 67},
            "dlm": {"train": 18, "valid": 6},
            "names": {"train": 20},
        },
        "files": expected_files,
    }
    written = sorted(p.relative_to(parquet_out).as_posix() for p in parquet_out.rglob("*.parquet"))
    assert written == sorted(str(f["path"]) for f in expected_files)


def test_jsonl_export_is_one_object_per_row(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    main([str(corpus), "--format", "jsonl", "--datasets", "uktp,aligned", "--out", str(out)])
    for dataset in ("aligned", "uktp"):
        files = sorted((out / dataset).glob("*/*.jsonl"))
        lines = [line for f in files for line in f.read_text(encoding="utf-8").splitlines()]
        assert [json.loads(line) for line in lines] == expected_table(corpus, dataset).to_pylist()
    assert sorted(p.name for p in out.iterdir()) == ["aligned", EXPORT_RECORD, "uktp"]


def test_decode_adds_the_sentencepiece_text_of_input_ids(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    main([str(corpus), "--format", "parquet", "--datasets", "kmlm,aligned", "--decode", "--out", str(out)])
    table = ds.dataset(out / "kmlm", format="parquet").to_table()
    assert table.schema == DATASETS["kmlm"].append(pa.field("input_ids_text", pa.string(), nullable=False))
    row = table.slice(0, 1).to_pylist()[0]
    sp = spm.SentencePieceProcessor(model_file=str(corpus / "tokenizer" / "spm.model"))
    # the corpus tokenizer prepends one space to every run it encodes; [CLS]/[SEP] decode to nothing
    assert row["input_ids_text"] == sp.decode(row["input_ids"]).removeprefix(" ")
    docs = {d.doc_id: d for d in load_documents()[0]}
    sentence = docs[row["doc_id"]].sentences[row["sentence_index"]]
    assert row["input_ids_text"] == sentence.text
    assert ds.dataset(out / "aligned", format="parquet").schema == DATASETS["aligned"]
    record = json.loads((out / EXPORT_RECORD).read_text(encoding="utf-8"))
    assert record["decoded_columns"] == {"aligned": [], "kmlm": ["input_ids_text"]}


def test_refuses_a_foreign_non_empty_out(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main([str(corpus), "--format", "parquet", "--out", str(out), "--overwrite"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"kgtext export: error: --out {out}: is not empty and kgtext export did not write it "
        "(no export.json); name a new or empty folder"
    ]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_previous_export_needs_overwrite(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    main([str(corpus), "--format", "jsonl", "--datasets", "dlm", "--out", str(out)])
    with pytest.raises(SystemExit) as exc:
        main([str(corpus), "--format", "parquet", "--datasets", "sr", "--out", str(out)])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"kgtext export: error: --out {out}: holds a previous export; pass --overwrite to replace it"
    )
    main([str(corpus), "--format", "parquet", "--datasets", "sr", "--out", str(out), "--overwrite"])
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        EXPORT_RECORD,
        "sr/train/part-00000.parquet",
        "sr/train/part-00001.parquet",
        "sr/valid/part-00000.parquet",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no lock or temporary folder left


def test_overwrite_refuses_an_export_holding_other_files(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    main([str(corpus), "--format", "jsonl", "--datasets", "dlm", "--out", str(out)])
    (out / "dlm" / "my-analysis.csv").write_text("a,b\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main([str(corpus), "--format", "jsonl", "--datasets", "dlm", "--out", str(out), "--overwrite"])
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"kgtext export: error: --out {out}: holds dlm/my-analysis.csv, which kgtext export did not write; "
        "move it away first"
    )


def test_a_failed_export_leaves_the_previous_one(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    main([str(corpus), "--format", "parquet", "--datasets", "dlm", "--out", str(out)])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    written: list[Path] = []

    def full_disk(table: pa.Table, path: Path) -> None:
        if written:
            raise OSError(28, "No space left on device")
        export.write_parquet(table, path)
        written.append(path)

    monkeypatch.setitem(export.WRITERS, ExportFormat.PARQUET, full_disk)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(corpus), "--format", "parquet", "--out", str(out), "--overwrite"])
    assert exc.value.code == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith(f"kgtext export: error: {out}: no space left on the device (")
    )
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_unknown_dataset_says_did_you_mean(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        kgtext_main(
            [
                "export",
                str(corpus),
                "--format",
                "parquet",
                "--datasets",
                "kmlm,uktq",
                "--out",
                str(tmp_path / "o"),
            ]
        )
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "kgtext export: error: unknown dataset 'uktq' (did you mean 'uktp'?); "
        "this corpus has: aligned, kmlm, uktp, sr, sd, dlm, names"
    ]
    assert not (tmp_path / "o").exists()


def test_missing_corpus_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "nowhere"), "--format", "parquet", "--out", str(tmp_path / "o")])
    assert exc.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        f"kgtext export: error: {tmp_path / 'nowhere'}: is not a directory"
    ]


def test_decode_needs_a_tokenizer(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tests/corpus/conftest.py's corpus has aligned + dlm shards and no tokenizer entry."""
    main([str(corpus_dir), "--format", "jsonl", "--out", str(tmp_path / "plain")])
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["aligned", "dlm", EXPORT_RECORD]
    with pytest.raises(SystemExit) as exc:
        main([str(corpus_dir), "--format", "jsonl", "--decode", "--out", str(tmp_path / "decoded")])
    assert exc.value.code == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"kgtext export: error: {corpus_dir / MANIFEST_NAME}: has no tokenizer entry"
    )


def test_verify_refuses_a_modified_shard(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shard = "dlm/valid/part-00000-of-00001.arrow"

    def flip_last_byte(root: Path) -> None:
        data = bytearray((root / shard).read_bytes())
        data[-1] ^= 0xFF
        (root / shard).write_bytes(bytes(data))

    copy = copy_corpus(corpus, tmp_path / "copy", flip_last_byte)
    with pytest.raises(SystemExit) as exc:
        main([str(copy), "--format", "parquet", "--verify", "--out", str(tmp_path / "out")])
    assert exc.value.code == 1
    assert (
        capsys.readouterr()
        .err.splitlines()[0]
        .startswith(
            f"kgtext export: error: {copy / shard}: sha256 differs from the manifest (corrupt or modified)"
        )
    )
    assert not (tmp_path / "out").exists()
    shutil.rmtree(copy)


def test_a_killed_export_leaves_nothing_the_next_one_keeps(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unfinished = make_build_folder(tmp_path / "out", "export", tmp_path / ".out.building-0123456789ab")
    (unfinished / "dlm" / "train").mkdir(parents=True)
    (unfinished / "dlm" / "train" / "part-00000.parquet").write_bytes(b"PAR1 half")
    with caplog.at_level("WARNING", logger="kgtext.corpus.export"):
        main([str(corpus), "--format", "jsonl", "--datasets", "dlm", "--out", str(tmp_path / "out")])
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'out'}: removed .out.building-0123456789ab, left by a command that did not finish"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
