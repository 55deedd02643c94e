"""model.data.mixture: the task mixture (batch split, rank slices, masking, missing and disabled tasks)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.model.data.batch import IGNORE
from kgtext.model.data.config import DataConfig
from kgtext.model.data.mixture import PretrainData, available_tasks, split_batch
from tests.model.corpus_fixture import copy_corpus


@pytest.fixture()
def reader(corpus_dir: Path) -> CorpusReader:
    return CorpusReader(corpus_dir)


def test_split_batch_weights_and_world_size() -> None:
    weights = {"kmlm": 1.0, "uktp": 1.0, "sr": 0.5, "sd": 0.5}
    assert split_batch(30, weights, 1) == {"kmlm": 10, "uktp": 10, "sr": 5, "sd": 5}
    assert split_batch(30, weights, 2) == {"kmlm": 10, "uktp": 10, "sr": 4, "sd": 4}
    assert split_batch(2, weights, 2) == {"kmlm": 2, "uktp": 2, "sr": 2, "sd": 2}


def test_micro_batch_tensors_and_masking(reader: CorpusReader) -> None:
    data = PretrainData(reader, DataConfig(batch_size=16, dlm_streams=2), ["kmlm", "uktp", "sr", "sd", "dlm"])
    batch = data.next(16, 48)
    tok = Tokenizer.load(reader.tokenizer_path())
    for task, nlu in batch.nlu.items():
        assert nlu.input_ids.dtype == torch.int64 and nlu.input_ids.shape[1] <= 48
        lengths = nlu.pad_mask.sum(1)
        assert torch.all(nlu.input_ids[~nlu.pad_mask] == tok.pad_id)
        assert torch.all(nlu.input_ids[torch.arange(len(lengths)), lengths - 1] == tok.sep_id)
        assert (nlu.segment_ids is not None) == (task in ("uktp", "sr", "sd"))
    kmlm = batch.nlu["kmlm"]
    targets = kmlm.labels != IGNORE
    assert targets.any() and torch.all(kmlm.labels[~kmlm.pad_mask] == IGNORE)
    # 80% of targets become [MASK]; the rest keep or replace their token with an ordinary piece.
    assert (kmlm.input_ids[targets] == tok.mask_id).float().mean() > 0.5
    assert torch.all(batch.nlu["sr"].labels < 9) and torch.all(batch.nlu["sd"].labels < 3)
    assert batch.dlm is not None and batch.dlm.inputs.shape == (2, 48)
    assert batch.tokens == int(sum(b.pad_mask.sum() for b in batch.nlu.values())) + 2 * 48


def test_rank_slices_partition_the_global_batch(reader: CorpusReader) -> None:
    config = DataConfig(batch_size=16, dlm_streams=4)
    tasks = ["kmlm", "sd", "dlm"]
    whole = PretrainData(reader, config, tasks).next(16, 40)
    parts = [PretrainData(reader, config, tasks, rank=r, world_size=2).next(16, 40) for r in (0, 1)]
    for task in ("kmlm", "sd"):
        rows = {
            tuple(r[m].tolist())
            for r, m in zip(whole.nlu[task].input_ids, whole.nlu[task].pad_mask, strict=True)
        }
        split = {
            tuple(r[m].tolist())
            for part in parts
            for r, m in zip(part.nlu[task].input_ids, part.nlu[task].pad_mask, strict=True)
        }
        assert rows == split
    assert torch.equal(
        torch.cat([parts[0].dlm.inputs, parts[1].dlm.inputs]).sort(0).values, whole.dlm.inputs.sort(0).values
    )


def test_missing_task_warns_or_fails(
    corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def drop_sr(root: Path) -> None:
        manifest = json.loads((root / "manifest.json").read_text())
        del manifest["datasets"]["sr"]
        (root / "manifest.json").write_text(json.dumps(manifest))

    reader = CorpusReader(copy_corpus(corpus_dir, tmp_path / "c", drop_sr))
    with caplog.at_level(logging.WARNING):
        assert available_tasks(reader, DataConfig(), "train") == ["kmlm", "uktp", "sd", "dlm"]
    assert "corpus has no sr/train rows: training without sr" in caplog.text
    with pytest.raises(CorpusError, match="no sr/train rows .data.require_all_tasks"):
        available_tasks(reader, DataConfig(require_all_tasks=True), "train")


def test_disabled_tasks_are_not_read(reader: CorpusReader) -> None:
    config = DataConfig(sr_weight=0.0, sd_weight=0.0, use_dlm=False)
    assert available_tasks(reader, config, "train") == ["kmlm", "uktp"]


def test_the_manifest_gives_the_random_token_range(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """first_normal_id comes from the manifest (no SentencePiece load); older manifests fall back to the model."""
    reader = CorpusReader(corpus_dir)
    expected = Tokenizer.load(reader.tokenizer_path()).first_normal_id
    assert reader.manifest.tokenizer is not None and reader.manifest.tokenizer.first_normal_id == expected
    config = DataConfig(batch_size=8, dlm_streams=2)
    with monkeypatch.context() as patched:
        patched.setattr(
            Tokenizer, "load", lambda *_: pytest.fail("the trainer loaded the SentencePiece model")
        )
        data = PretrainData(reader, config, ["kmlm", "dlm"])
    assert data.collator.random_range == (expected, reader.manifest.tokenizer.vocab_size)
    old = copy_corpus(corpus_dir, tmp_path / "old")
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    del manifest["tokenizer"]["first_normal_id"]
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    older = PretrainData(CorpusReader(old), config, ["kmlm", "dlm"])
    assert older.collator.random_range == data.collator.random_range
