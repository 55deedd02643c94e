"""model.use.load: what --checkpoint accepts, and where the tokenizer comes from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kgtext.corpus.reader import CorpusReader
from kgtext.model.checkpoint import save_model
from kgtext.model.use.load import CheckpointError, load, model_file, tokenizer_file


def test_a_run_folder_means_its_newest_checkpoint(tiny_run: Path) -> None:
    newest = tiny_run / "checkpoints" / "step-00000006" / "model.pt"
    assert model_file(tiny_run) == newest
    assert model_file(newest.parent) == newest
    assert model_file(newest) == newest


def test_pretraining_copies_the_tokenizer_into_the_run(tiny_run: Path, corpus_dir: Path) -> None:
    copied = tiny_run / "tokenizer" / "spm.model"
    assert copied.read_bytes() == CorpusReader(corpus_dir).tokenizer_path().read_bytes()
    assert tokenizer_file(model_file(tiny_run)) == copied
    loaded = load(tiny_run)
    assert loaded.tokenizer.vocab_size == loaded.model.config.vocab_size and not loaded.model.training


def test_an_exported_model_folder_needs_its_tokenizer_beside_it(tiny_run: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    save_model(export / "model.pt", load(tiny_run).model)
    with pytest.raises(CheckpointError, match="no tokenizer found"):
        load(export)
    (export / "tokenizer").mkdir()
    shutil.copy(tiny_run / "tokenizer" / "spm.model", export / "tokenizer" / "spm.model")
    assert load(export).model_file == export / "model.pt"


def test_unusable_paths_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        model_file(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="neither a run folder"):
        model_file(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        model_file(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="model.pt: not a kgtext checkpoint file") as err:
        load(tmp_path / "model.pt")
    assert "\n" not in str(err.value)
