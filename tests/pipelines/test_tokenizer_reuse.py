"""``build-corpus --tokenizer``: reusing an earlier corpus's SentencePiece model instead of training one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kgtext.corpus.manifest import load_manifest
from kgtext.pipelines.build_corpus import main
from tests.pipelines.conftest import REDOCRED, build, corpus_digests


def test_reusing_a_corpus_tokenizer_rebuilds_the_same_bytes(redocred_corpus: Path, tmp_path: Path) -> None:
    given = tmp_path / "kept.model"  # outside every corpus, as a user keeps a fixed vocabulary
    shutil.copyfile(redocred_corpus / "tokenizer" / "spm.model", given)
    out = tmp_path / "again"
    # --vocab-size is unused with a given model: the rows are those of the corpus that trained it.
    manifest = build(out, [REDOCRED / "kg.ttl"], [REDOCRED / "docs.jsonl"], "--tokenizer", str(given))
    assert corpus_digests(out) == corpus_digests(redocred_corpus)
    original = load_manifest(redocred_corpus)
    assert manifest.tokenizer == original.tokenizer
    assert manifest.build_config["tokenizer"] == str(given)
    assert given.read_bytes() == (out / "tokenizer" / "spm.model").read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        (b'{"id": "not a model"}\n', "not a usable SentencePiece model"),
    ],
)
def test_an_unusable_tokenizer_is_a_clear_error_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    model = tmp_path / "spm.model"
    if content is not None:
        model.write_bytes(content)
    argv = [
        "--kg",
        str(REDOCRED / "kg.ttl"),
        "--docs",
        str(REDOCRED / "docs.jsonl"),
        "--out",
        str(tmp_path / "o"),
    ]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--tokenizer", str(model)])
    assert exc.value.code == 2
    assert f"--tokenizer {model}: {message}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_tokenizer_inside_the_output_it_would_replace_is_refused(
    redocred_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "corpus"
    shutil.copytree(redocred_corpus, out)
    before = corpus_digests(out)
    argv = ["--kg", str(REDOCRED / "kg.ttl"), "--docs", str(REDOCRED / "docs.jsonl"), "--out", str(out)]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--overwrite", "--tokenizer", str(out / "tokenizer" / "spm.model")])
    assert exc.value.code == 2
    assert "tokenizer/spm.model" in capsys.readouterr().err
    assert corpus_digests(out) == before
