"""model.data.source: the shard-order source of one task and length bucketing (resumable, deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.reader import CorpusReader
from kgtext.model.data.config import DataConfig
from kgtext.model.data.mixture import PretrainData
from kgtext.model.data.source import COLUMNS, BucketedBatches, TaskSource, nlu_rows


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


def test_batch_size_changes_never_skip_rows(corpus_dir: Path) -> None:
    source = TaskSource(CorpusReader(corpus_dir), "sd", "train", seed=2)
    batches = BucketedBatches(source, bucket_batches=4)
    seen = []
    for size in (4, 4, 6, 6, 8, 8, 8, 10, 12, 12):
        batch = batches.next_batch(size)
        assert len(batch) == size
        seen += batch
    pending = [ref for batch in batches.pending for ref in batch]
    taken = TaskSource(CorpusReader(corpus_dir), "sd", "train", seed=2).take(len(seen) + len(pending))
    assert sorted(seen + pending) == sorted(taken)


def test_rows_are_typed_views_equal_to_the_arrow_values(reader: CorpusReader) -> None:
    """ShardCache.rows hands numpy views of exactly the stored values (what to_pylist would give)."""
    for task, columns in COLUMNS.items():
        source = TaskSource(reader, task, "train", seed=0, shuffle=False)
        refs = source.take(min(source.num_rows, 40))
        rows = source.cache.rows(refs, task)
        table, _ = source.cache.get(refs[0].shard)
        for ref, row in zip(refs, rows, strict=True):
            table, _ = source.cache.get(ref.shard)
            stored = table.select(columns).slice(ref.row, 1).to_pylist()[0]
            assert row.input_ids.tolist() == stored["input_ids"]
            if "units" in stored:
                assert row.units is not None
                assert row.units.tolist() == [[u["start"], u["end"]] for u in stored["units"]]
            if "segment_ids" in stored:
                assert row.segment_ids is not None and row.segment_ids.tolist() == stored["segment_ids"]
            if "relation_span" in stored:
                assert row.relation_span == (stored["relation_span"]["start"], stored["relation_span"]["end"])
            if "segment_starts" in stored:
                assert row.segment_starts is not None
                assert row.segment_starts.tolist() == stored["segment_starts"]
            assert row.label == stored.get("label", -1)


def test_one_segment_sr_rows_are_skipped_and_counted(reader: CorpusReader) -> None:
    """An SR row with one segment has nothing to reorder: the source skips it, every epoch, and counts it."""
    segments = [
        len(row.segment_starts)
        for table in reader.iter_tables("sr", "train")
        for row in nlu_rows(table)
        if row.segment_starts is not None
    ]
    usable = [i for i, n in enumerate(segments) if n >= 2]
    assert 0 < len(usable) < len(segments) == 46
    source = TaskSource(reader, "sr", "train", seed=4)
    two_epochs = source.take(2 * len(usable))
    assert sorted(r.row_index for r in two_epochs if r.epoch == 0) == usable
    assert sorted(r.row_index for r in two_epochs if r.epoch == 1) == usable
    assert source.dropped >= len(segments) - len(usable)
    position, dropped = source.position, source.dropped
    expected = source.take(30)
    fresh = TaskSource(reader, "sr", "train", seed=4)
    fresh.position = position
    assert fresh.take(30) == expected and fresh.dropped == source.dropped - dropped
    data = PretrainData(reader, DataConfig(batch_size=8, use_dlm=False), ["kmlm", "sr"])
    data.next(8, 32)
    assert set(data.dropped_rows()) == {"sr"} and data.dropped_rows()["sr"] > 0


def test_one_usable_row_is_found_every_epoch_and_none_is_an_error(reader: CorpusReader) -> None:
    source = TaskSource(reader, "sr", "valid", seed=0)
    rows = source.shard_infos[0].rows
    one = np.arange(rows) == rows // 2
    source.cache.usable = lambda shard: one  # type: ignore[method-assign]
    refs = source.take(5)
    assert [(r.epoch, r.row_index) for r in refs] == [(e, rows // 2) for e in range(5)]
    assert source.dropped >= 4 * (rows - 1)
    source.cache.usable = lambda shard: np.zeros(rows, dtype=bool)  # type: ignore[method-assign]
    with pytest.raises(CorpusError, match="no sr/valid row can be trained on"):
        source.take(1)
