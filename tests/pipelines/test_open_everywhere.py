"""A built corpus opens in the tools users have: the dataset card makes ``datasets.load_dataset(DIR, name)``
work, the ``names`` dataset joins IRIs to labels, and ``tokenizer/spm.vocab`` lists the pieces (issue 16)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from kgtext.corpus.card import CARD_NAME
from kgtext.corpus.reader import CorpusReader, Problem
from kgtext.corpus.tasks.tokenizer import Tokenizer

P131 = "http://www.wikidata.org/prop/direct/P131"


def _rows(corpus: Path, dataset: str, split: str) -> list[dict[str, object]]:
    reader = CorpusReader(corpus)
    return [row for table in reader.iter_tables(dataset, split) for row in table.to_pylist()]


def test_the_card_and_the_vocab_are_listed_and_verified(redocred_corpus: Path) -> None:
    reader = CorpusReader(redocred_corpus)
    files = reader.manifest.files
    assert sorted(files) == [CARD_NAME, "tokenizer/spm.vocab"]
    for rel, digest in files.items():
        assert hashlib.sha256((redocred_corpus / rel).read_bytes()).hexdigest() == digest
    assert reader.verify() == []
    vocab = (redocred_corpus / "tokenizer" / "spm.vocab").read_text(encoding="utf-8").splitlines()
    tok = Tokenizer.load(redocred_corpus / "tokenizer" / "spm.model")
    assert len(vocab) == reader.manifest.tokenizer.vocab_size  # type: ignore[union-attr]
    assert [line.split("\t")[0] for line in vocab[:5]] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocab[100].split("\t")[0] == tok.id_to_piece(100)


def test_a_changed_card_fails_verification(redocred_corpus: Path, tmp_path: Path) -> None:
    copy = tmp_path / "corpus"
    shutil.copytree(redocred_corpus, copy)
    (copy / CARD_NAME).write_text("edited\n", encoding="utf-8")
    assert CorpusReader(copy).verify() == [Problem(str(copy / CARD_NAME), "sha256 differs from the manifest")]


def test_load_dataset_reads_each_dataset_through_the_card(redocred_corpus: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    manifest = CorpusReader(redocred_corpus).manifest
    for name in ("uktp", "names"):
        loaded = datasets.load_dataset(str(redocred_corpus), name, cache_dir=str(tmp_path / "hf"))
        assert sorted(loaded) == ["train", "validation"]
        for hf_split, split in (("train", "train"), ("validation", "valid")):
            assert loaded[hf_split].num_rows == sum(s.rows for s in manifest.shards(name, split))
        first = loaded["train"][0]
        assert first == _rows(redocred_corpus, name, "train")[0]


def test_names_join_every_uktp_relation_and_entity_to_its_label(redocred_corpus: Path) -> None:
    for split in ("train", "valid"):
        names = {row["iri"]: row for row in _rows(redocred_corpus, "names", split)}
        uktp = _rows(redocred_corpus, "uktp", split)
        assert uktp
        for row in uktp:
            assert names[str(row["relation"])]["kind"] == "relation"
            assert names[str(row["head"])]["kind"] == "entity"
        aligned_iris = {
            iri
            for row in _rows(redocred_corpus, "aligned", split)
            for iri in [m["entity"] for m in row["mentions"]]  # type: ignore[attr-defined]
            + [t[k] for t in row["triples"] for k in ("head", "relation", "tail")]  # type: ignore[attr-defined]
        }
        assert set(names) <= aligned_iris
    train = {row["iri"]: row for row in _rows(redocred_corpus, "names", "train")}
    assert train[P131] == {
        "iri": P131,
        "label": "located in the administrative territorial entity",
        "kind": "relation",
    }
    shard = CorpusReader(redocred_corpus).iter_tables("names", "train")
    for table in shard:
        iris = table.column("iri").to_pylist()
        assert iris == sorted(iris)
        assert isinstance(table, pa.Table)
