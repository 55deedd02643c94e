"""Shard-lazy task sources, length bucketing, DLM streams, collation and the task mixture on a real corpus."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from corpus.errors import CorpusError
from corpus.reader import CorpusReader
from corpus.tasks.tokenizer import Tokenizer
from model.data.batch import IGNORE
from model.data.config import DataConfig
from model.data.dlm import DlmStreams
from model.data.mixture import PretrainData, available_tasks, split_batch
from model.data.source import BucketedBatches, TaskSource
from tests.model.corpus_fixture import copy_corpus


@pytest.fixture()
def reader(corpus_dir: Path) -> CorpusReader:
    return CorpusReader(corpus_dir)


def test_source_visits_every_row_once_per_epoch(reader: CorpusReader) -> None:
    source = TaskSource(reader, "kmlm", "train", seed=7)
    refs = source.take(source.num_rows)
    assert source.num_rows == 174
    assert sorted(r.row_index for r in refs) == list(range(174))
    assert {r.epoch for r in refs} == {0}
    assert source.take(1)[0].epoch == 1


def test_source_order_depends_on_seed_and_epoch_only(reader: CorpusReader) -> None:
    a = [r.row_index for r in TaskSource(reader, "sd", "train", seed=7).take(400)]
    b = [r.row_index for r in TaskSource(reader, "sd", "train", seed=7).take(400)]
    c = [r.row_index for r in TaskSource(reader, "sd", "train", seed=8).take(400)]
    assert a == b and a != c
    assert a[:174] != a[174:348]  # a fresh order each epoch


def test_source_resumes_from_its_position(reader: CorpusReader) -> None:
    source = TaskSource(reader, "uktp", "train", seed=1)
    source.take(100)
    position = source.position
    expected = source.take(50)
    fresh = TaskSource(reader, "uktp", "train", seed=1)
    fresh.position = position
    assert fresh.take(50) == expected


def test_bucketing_keeps_padding_low_and_resumes_exactly(reader: CorpusReader) -> None:
    batches = BucketedBatches(TaskSource(reader, "sd", "train", seed=3), bucket_batches=32)
    widths, real = 0, 0
    for _ in range(20):
        batch = batches.next_batch(16)
        widths += 16 * max(r.num_tokens for r in batch)
        real += sum(r.num_tokens for r in batch)
    assert 1 - real / widths < 0.05
    state = json.loads(json.dumps(batches.state_dict()))  # plain ints survive JSON
    expected = [batches.next_batch(16) for _ in range(12)] + [batches.next_batch(8) for _ in range(3)]
    other = BucketedBatches(TaskSource(reader, "sd", "train", seed=3), bucket_batches=32)
    other.load_state_dict(state)
    assert [other.next_batch(16) for _ in range(12)] + [other.next_batch(8) for _ in range(3)] == expected


def _doc_tokens(reader: CorpusReader) -> dict[str, list[int]]:
    docs: dict[str, list[int]] = {}
    for table in reader.iter_tables("dlm", "train"):
        for row in table.to_pylist():
            docs.setdefault(row["doc_id"], []).extend(row["input_ids"])
    return docs


def test_dlm_streams_are_contiguous_whole_documents(reader: CorpusReader) -> None:
    streams = DlmStreams(reader, "train", streams=3, seed=5)
    segments = [streams.next_segments(16) for _ in range(40)]
    for s in range(3):
        inputs = np.concatenate([seg.inputs[s] for seg in segments])
        targets = np.concatenate([seg.targets[s] for seg in segments])
        assert np.array_equal(inputs[1:], targets[:-1])  # each segment continues the previous one
    docs = _doc_tokens(reader)
    first = np.concatenate([seg.inputs[0] for seg in segments])
    matches = [d for d, toks in docs.items() if np.array_equal(first[: min(len(toks), 640)], toks[:640])]
    assert len(matches) == 1  # stream 0 starts with one whole document


def test_dlm_streams_resume_and_change_length(reader: CorpusReader) -> None:
    streams = DlmStreams(reader, "train", streams=2, seed=5)
    for _ in range(7):
        streams.next_segments(24)
    state = json.loads(json.dumps(streams.state_dict()))
    expected = [streams.next_segments(n) for n in (24, 32, 40, 40)]
    other = DlmStreams(reader, "train", streams=2, seed=5)
    other.load_state_dict(state)
    for seg, n in zip(expected, (24, 32, 40, 40), strict=True):
        got = other.next_segments(n)
        assert got.inputs.shape == (2, n)
        assert np.array_equal(got.inputs, seg.inputs) and np.array_equal(got.targets, seg.targets)


def test_dlm_stream_count_must_match_on_resume(reader: CorpusReader) -> None:
    state = DlmStreams(reader, "train", streams=2, seed=5).state_dict()
    with pytest.raises(ValueError, match="2 DLM streams, config has 4"):
        DlmStreams(reader, "train", streams=4, seed=5).load_state_dict(state)


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
        assert (nlu.segment_ids is not None) == (task in ("uktp", "sd"))
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
