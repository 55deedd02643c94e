"""End-to-end ``build-corpus`` on real fixtures with the in-process DirectRunner (plus one cross-runner check)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pytest

from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.schemas import DATASETS
from kgtext.pipelines.build_corpus import main
from tests.pipelines.conftest import REBEL, REDOCRED, build, corpus_digests

SCHNEIDER = "http://example.org/redocred/entity/PER/Wilfried_%22Willi%22_Schneider"


def test_redocred_corpus_verifies_with_every_dataset_non_empty(redocred_corpus: Path) -> None:
    reader = CorpusReader(redocred_corpus)
    assert reader.verify() == []
    assert reader.datasets() == list(DATASETS)
    for dataset in DATASETS:
        for split in ("train", "valid"):
            shards = reader.shards(dataset, split)
            assert [s.path.rsplit("/", 1)[1] for s in shards] == [
                "part-00000-of-00002.arrow",
                "part-00001-of-00002.arrow",
            ]
            assert sum(s.rows for s in shards) > 0, (dataset, split)
    assert not list(redocred_corpus.parent.glob(".corpus.*")), "temporary siblings must be gone"
    assert not (redocred_corpus / "_work").exists()


def test_redocred_statistics_count_what_was_read(redocred_corpus: Path) -> None:
    stats = CorpusReader(redocred_corpus).manifest.statistics
    # Exact counts of the fixture: 30 documents, 3,291 KG lines = 1,653 facts + 1,633 names (+ 5 header lines).
    assert (stats["documents.read"], stats["documents.kept"]) == (30, 30)
    assert (stats["kg.lines_read"], stats["kg.triples"], stats["kg.lexicon_entries"]) == (3291, 1653, 1633)
    assert stats["aligned.documents"] == 30
    assert (
        stats["rows.aligned.train"] + stats["rows.aligned.valid"]
        == stats["aligned.sentences"] - stats["aligned.sentences.short"]
    )
    assert stats["tasks.kmlm.row"] == stats["rows.kmlm.train"] + stats["rows.kmlm.valid"]
    assert not any(
        name.startswith(("dead_letters.", "kg.rejected.", "documents.rejected.")) for name in stats
    )


def test_first_sentence_keeps_its_links_and_aligned_facts(redocred_corpus: Path) -> None:
    reader = CorpusReader(redocred_corpus)
    rows = [
        r
        for t in reader.iter_tables("aligned", "train")
        for r in t.to_pylist()
        if r["doc_id"] == "redocred-dev-0000"
    ]
    first = rows[0]
    assert (first["paragraph_index"], first["sentence_index"]) == (0, 0)
    assert first["text"].startswith('Wilfried "Willi" Schneider (born 13 March 1963 in Mediaș, Transylvania)')
    links = [
        (m["start"], m["end"], m["entity"].rsplit("/", 1)[1])
        for m in first["mentions"]
        if m["source"] == "link"
    ]
    assert links == [
        (0, 26, "Wilfried_%22Willi%22_Schneider"),
        (50, 56, "Media%C8%99"),
        (58, 70, "Transylvania"),
        (77, 83, "German"),
    ]
    facts = {(t["head"], t["relation"].rsplit("/", 1)[1], t["tail"]) for t in first["triples"]}
    assert (SCHNEIDER, "P569", "1963-03-13") in facts
    assert [r["sentence_index"] for r in rows] == sorted(r["sentence_index"] for r in rows)


def test_manifest_records_inputs_tokenizer_and_config(redocred_corpus: Path) -> None:
    manifest = CorpusReader(redocred_corpus).manifest
    assert [(f.role, Path(f.path).name) for f in manifest.inputs] == [
        ("kg", "kg.ttl"),
        ("docs", "docs.jsonl"),
    ]
    assert manifest.tokenizer is not None and manifest.tokenizer.path == "tokenizer/spm.model"
    assert manifest.tokenizer.special_ids == {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    assert manifest.build_config["runner"] == "DirectRunner" and manifest.build_config["num_shards"] == 2
    assert manifest.split_rule["valid_fraction"] == 0.2


def test_shards_open_with_pyarrow_stream_reader(redocred_corpus: Path) -> None:
    shard = CorpusReader(redocred_corpus).shards("kmlm", "train")[0]
    table = pa.ipc.open_stream(io.BytesIO((redocred_corpus / shard.path).read_bytes())).read_all()
    assert table.num_rows == shard.rows
    keys = list(zip(table.column("doc_id").to_pylist(), table.column("position").to_pylist(), strict=True))
    assert keys == sorted(keys)


def test_rebel_sample_builds_a_verified_corpus(tmp_path: Path) -> None:
    manifest = build(tmp_path / "rebel", [REBEL / "kg.nt"], [REBEL / "docs.jsonl"], "--vocab-size", "600")
    assert CorpusReader(tmp_path / "rebel").verify() == []
    assert manifest.statistics["documents.read"] == 8
    assert (manifest.statistics["kg.triples"], manifest.statistics["kg.lexicon_entries"]) == (35, 85)
    for dataset in DATASETS:
        assert sum(s.rows for s in manifest.shards(dataset, "train")) > 0, dataset


def test_existing_output_needs_overwrite(redocred_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "--kg",
                str(REDOCRED / "kg.ttl"),
                "--docs",
                str(REDOCRED / "docs.jsonl"),
                "--out",
                str(redocred_corpus),
            ]
        )
    assert exc.value.code == 2
    assert "already exists; pass --overwrite to replace it" in capsys.readouterr().err


def test_multi_processing_direct_runner_gives_the_same_bytes(redocred_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "mp"
    beam = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    build(out, [REDOCRED / "kg.ttl"], [REDOCRED / "docs.jsonl"], *beam)
    assert corpus_digests(out) == corpus_digests(redocred_corpus)


def test_same_inputs_twice_give_the_same_bytes_in_process(redocred_corpus: Path, tmp_path: Path) -> None:
    build(tmp_path / "again", [REDOCRED / "kg.ttl"], [REDOCRED / "docs.jsonl"])
    assert corpus_digests(tmp_path / "again") == corpus_digests(redocred_corpus)


def test_more_shards_change_the_layout_not_the_rows(redocred_corpus: Path, tmp_path: Path) -> None:
    manifest = build(tmp_path / "s3", [REDOCRED / "kg.ttl"], [REDOCRED / "docs.jsonl"], "--num-shards", "3")
    reference = CorpusReader(redocred_corpus).manifest.statistics
    assert {k: v for k, v in manifest.statistics.items() if k.startswith("rows.")} == {
        k: v for k, v in reference.items() if k.startswith("rows.")
    }
    assert len(manifest.shards("kmlm", "train")) == 3


def test_every_statistic_is_a_stat_key_or_of_a_family(redocred_corpus: Path) -> None:
    """The manifest's counters are named through kgtext.corpus.stats (one enum of fixed keys, one of
    families), never as free strings: a key written outside them would fail here."""
    from kgtext.corpus.stats import StatFamily, StatKey

    stats = CorpusReader(redocred_corpus).manifest.statistics
    known = {k.value for k in StatKey}
    loose = sorted(
        k for k in stats if k not in known and not k.startswith(tuple(f.prefix for f in StatFamily))
    )
    assert loose == []
    assert (
        stats[StatKey.KG_TRIPLES] == 1653
        and stats[StatFamily.TASKS.key("kmlm", "row")] == stats["tasks.kmlm.row"]
    )
