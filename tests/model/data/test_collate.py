"""model.data.collate on the fixture corpus: cutting rows to the progressive length, SR labels, SD pairs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks import masking
from kgtext.model.data.batch import IGNORE
from kgtext.model.data.collate import Collator, truncate_longest_first
from kgtext.model.data.config import DataConfig, KmlmMasking
from kgtext.model.data.source import NluRow, RowRef, TaskSource, nlu_rows


def _rows(corpus_dir: Path, task: str, count: int):  # noqa: ANN202
    source = TaskSource(CorpusReader(corpus_dir), task, "train", seed=0, shuffle=False)
    refs = source.take(source.num_rows)
    refs = sorted(refs, key=lambda r: -r.num_tokens)[:count]  # the longest rows
    return source.cache.rows(refs, task), refs


def _collator() -> Collator:
    return Collator(DataConfig(), {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}, (261, 600))


def test_cut_kmlm_rows_keep_targets_inside_the_cut(corpus_dir: Path) -> None:
    rows, refs = _rows(corpus_dir, "kmlm", 8)
    assert min(r.num_tokens for r in refs) > 24
    batch = _collator().collate("kmlm", rows, refs, 24)
    assert batch.input_ids.shape == (8, 24)
    assert torch.all(batch.input_ids[:, -1] == 3)
    targets = batch.labels != IGNORE
    assert not targets[:, -1].any()
    # A row has targets exactly when a unit lies inside the cut (a unit crossing it is dropped whole).
    has_unit = [bool((row.units[:, 1] <= 23).any()) for row in rows]
    assert (targets.sum(1) >= 1).tolist() == has_unit and sum(has_unit) >= 6
    full = _collator().collate("kmlm", rows, refs, 10_000)
    assert full.input_ids.shape[1] == max(r.num_tokens for r in refs)


def _all_rows(corpus_dir: Path, task: str, split: str = "train") -> tuple[list[NluRow], list[RowRef], int]:
    """Every usable row of a split in file order (epoch 0), and how many were skipped."""
    source = TaskSource(CorpusReader(corpus_dir), task, split, seed=0, shuffle=False)
    refs: list[RowRef] = []
    while True:
        dropped = source.dropped
        (ref,) = source.take(1)
        if ref.epoch:
            return source.cache.rows(refs, task), refs, dropped
        refs.append(ref)


def _runs(values: list[int]) -> list[tuple[int, int]]:
    """``[start, end)`` of the runs of equal values."""
    cuts = [0, *(i for i in range(1, len(values)) if values[i] != values[i - 1]), len(values)]
    return list(itertools.pairwise(cuts))


@pytest.mark.parametrize("seq_len", [32, 64])
def test_every_sr_row_shows_two_segments_at_the_tiny_lengths(corpus_dir: Path, seq_len: int) -> None:
    """Each collated SR row shows >= 2 heads of adjacent segments of its paragraph; the label is their order."""
    rows, refs, dropped = _all_rows(corpus_dir, "sr")
    all_rows = [r for t in CorpusReader(corpus_dir).iter_tables("sr", "train") for r in nlu_rows(t)]
    assert len(rows) == sum(len(r.segment_starts) >= 2 for r in all_rows) and dropped == len(all_rows) - len(
        rows
    )
    assert min(r.num_tokens for r in refs) > 64  # every row needs cutting at the tiny length
    batch = _collator().collate("sr", rows, refs, seq_len)
    assert batch.segment_ids is not None
    for i, row in enumerate(rows):
        n = int(batch.pad_mask[i].sum())
        ids, segments = batch.input_ids[i, :n].tolist(), batch.segment_ids[i, :n].tolist()
        assert ids[0] == 2 and ids[-1] == 3 and n <= seq_len
        bounds = [*row.segment_starts.tolist(), len(row.input_ids) - 1]
        original = [row.input_ids[a:b].tolist() for a, b in itertools.pairwise(bounds)]
        shown = [ids[a:b] for a, b in _runs(segments[:-1]) if b > 1]
        shown[0] = shown[0][1:]  # [CLS] belongs to the first shown segment
        assert len(shown) >= 2
        index = [next(j for j, seg in enumerate(original) if seg[: len(piece)] == piece) for piece in shown]
        assert sorted(index) == list(range(min(index), min(index) + len(index)))  # adjacent segments
        assert masking.sr_permutation(int(batch.labels[i])) == tuple(sorted(index).index(j) for j in index)


@pytest.mark.parametrize("seq_len", [32, 64])
def test_every_sd_row_shows_both_sentences_at_the_tiny_lengths(corpus_dir: Path, seq_len: int) -> None:
    rows, refs, _ = _all_rows(corpus_dir, "sd")
    batch = _collator().collate("sd", rows, refs, seq_len)
    assert batch.segment_ids is not None
    cut = 0
    for i, row in enumerate(rows):
        n = int(batch.pad_mask[i].sum())
        ids, segments = batch.input_ids[i, :n].tolist(), batch.segment_ids[i, :n].tolist()
        head = int((row.segment_ids == 0).sum())
        first, second = row.input_ids[1 : head - 1].tolist(), row.input_ids[head:-1].tolist()
        keep_a, keep_b = segments.count(0) - 2, segments.count(1) - 1
        assert segments == [0] * (keep_a + 2) + [1] * (keep_b + 1)
        assert ids == [2, *first[:keep_a], 3, *second[:keep_b], 3]
        assert [keep_a, keep_b] == truncate_longest_first([len(first), len(second)], seq_len - 3)
        assert keep_a >= 1 and keep_b >= 1 and int(batch.labels[i]) == row.label
        cut += len(row.input_ids) > seq_len
    assert cut >= len(rows) // 3


def test_sd_word_overlap_separates_the_classes_after_cutting(corpus_dir: Path) -> None:
    """With both sentences visible, adjacent pairs share more pieces than pairs from two documents (the
    signal a word-overlap classifier uses): at 32 tokens the old plain cut hid the second sentence."""
    rows, refs, _ = _all_rows(corpus_dir, "sd")
    batch = _collator().collate("sd", rows, refs, 32)
    assert batch.segment_ids is not None
    overlap: dict[int, list[float]] = {0: [], 1: [], 2: []}
    pieces = batch.pad_mask & (batch.input_ids >= 261)  # ordinary pieces: no specials, no bytes
    for i, label in enumerate(batch.labels.tolist()):
        words, segments = batch.input_ids[i][pieces[i]], batch.segment_ids[i][pieces[i]]
        a, b = set(words[segments == 0].tolist()), set(words[segments == 1].tolist())
        overlap[label].append(len(a & b) / len(a | b))
    means = {label: sum(v) / len(v) for label, v in overlap.items()}
    assert means[0] > means[2] + 0.03 and means[1] > means[2]


def test_token_masking_treats_every_piece_as_its_own_unit(corpus_dir: Path) -> None:
    """data.kmlm_masking=token (the knowledge-masking ablation's control) = mask_units over single pieces."""
    rows, refs = _rows(corpus_dir, "kmlm", 4)
    config = DataConfig(kmlm_masking=KmlmMasking.TOKEN)
    collator = Collator(config, {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}, (261, 600))
    batch = collator.collate("kmlm", rows, refs, 10_000)
    for i, (row, ref) in enumerate(zip(rows, refs, strict=True)):
        n = len(row.input_ids)
        pieces = [(k, k + 1) for k in range(1, n - 1)]
        expected = masking.mask_units(
            row.input_ids, pieces, seed=config.seed, epoch=ref.epoch, row_index=ref.row_index,
            mask_id=4, random_range=(261, 600), unit_prob=config.mask_prob,
        )  # fmt: skip
        assert batch.input_ids[i, :n].tolist() == expected.input_ids.tolist()
        assert batch.labels[i, :n].tolist() == expected.labels.tolist()
    knowledge = _collator().collate("kmlm", rows, refs, 10_000)
    assert not torch.equal(knowledge.labels, batch.labels)
