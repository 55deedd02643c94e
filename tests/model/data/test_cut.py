"""model.data.collate: cutting SR rows at segment boundaries and SD pairs longest-first (exact outputs)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kgtext.corpus.tasks import masking
from kgtext.model.data.collate import Collator, SrCut, cut_pair, cut_sr, truncate_longest_first
from kgtext.model.data.config import DataConfig
from kgtext.model.data.source import NluRow, RowRef

# [CLS] s0 = 10 11 12 | s1 = 20 21 | s2 = 30 31 32 33 [SEP]: segments of 3, 2 and 4 tokens.
ROW = [2, 10, 11, 12, 20, 21, 30, 31, 32, 33, 3]
STARTS = [1, 4, 6]
# [CLS] s0 = 10..16 | s1 = 20..23 | s2 = 30..35 [SEP]: 7, 4 and 6 tokens, no two fit in 6.
LONG_ROW = [2, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 30, 31, 32, 33, 34, 35, 3]
LONG_STARTS = [1, 8, 12]
# [CLS] a = 10..14 [SEP] b = 20 21 [SEP]
PAIR = np.array([2, 10, 11, 12, 13, 14, 3, 20, 21, 3])
PAIR_SEGMENTS = np.array([0] * 7 + [1] * 3)


def _cut(ids: list[int], starts: list[int], max_len: int, epoch: int, max_segments: int = 3) -> SrCut:
    return cut_sr(ids, starts, max_len, max_segments=max_segments, seed=0, epoch=epoch, row_index=5)


def _pop_longest(lengths: list[int], budget: int) -> list[int]:
    """Reference: drop one token at a time from the longest segment, the later one on a tie (BERT)."""
    kept = list(lengths)
    while sum(kept) > budget:
        longest = max(kept)
        kept[max(i for i, n in enumerate(kept) if n == longest)] -= 1
    return kept


def test_truncate_longest_first_exact_values() -> None:
    assert truncate_longest_first([40, 10], 30) == [20, 10]
    assert truncate_longest_first([10, 10], 5) == [3, 2]
    assert truncate_longest_first([2, 10], 5) == [2, 3]
    assert truncate_longest_first([7, 7, 7], 10) == [4, 3, 3]
    assert truncate_longest_first([5, 5], 10) == [5, 5]
    with pytest.raises(ValueError, match="cannot truncate"):
        truncate_longest_first([3, 4], -1)


def test_truncate_longest_first_is_bert_pop_the_longest() -> None:
    for lengths in itertools.product(range(0, 9), repeat=2):
        for budget in range(0, 18):
            assert truncate_longest_first(list(lengths), budget) == _pop_longest(list(lengths), budget)
    for lengths in itertools.product((0, 1, 3, 6), repeat=3):
        for budget in range(0, 19, 2):
            assert truncate_longest_first(list(lengths), budget) == _pop_longest(list(lengths), budget)


def test_cut_sr_row_that_fits_keeps_every_segment_and_the_permute_sr_permutation() -> None:
    cut = _cut(ROW, STARTS, 11, epoch=1)
    assert cut.input_ids.tolist() == [2, 10, 11, 12, 30, 31, 32, 33, 20, 21, 3]
    assert cut.segment_ids.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0]
    assert (cut.label, cut.permutation, cut.segments, cut.kept) == (4, (0, 2, 1), (0, 1, 2), (3, 2, 4))
    for epoch in range(6):
        whole = masking.permute_sr(ROW, STARTS, seed=0, epoch=epoch, row_index=5)
        cut = _cut(ROW, STARTS, 16, epoch=epoch)
        assert cut.input_ids.tolist() == whole.input_ids.tolist() and cut.label == whole.label


def test_cut_sr_shows_the_whole_run_that_fits() -> None:
    # Budget 5: s0 s1 (5 tokens) is the only run of two whole segments that fits; s1 s2 needs 6.
    swapped, kept = _cut(ROW, STARTS, 7, epoch=0), _cut(ROW, STARTS, 7, epoch=1)
    assert swapped.input_ids.tolist() == [2, 20, 21, 10, 11, 12, 3]
    assert swapped.segment_ids.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert (swapped.label, swapped.permutation, swapped.segments) == (2, (1, 0), (0, 1))
    assert kept.input_ids.tolist() == [2, 10, 11, 12, 20, 21, 3] and kept.label == 1
    # Budget 7: both runs fit; the row's draw picks one.
    assert _cut(ROW, STARTS, 9, epoch=0).input_ids.tolist() == [2, 20, 21, 30, 31, 32, 33, 3]
    assert _cut(ROW, STARTS, 9, epoch=2).input_ids.tolist() == [2, 10, 11, 12, 20, 21, 3]


def test_cut_sr_truncates_an_adjacent_pair_when_no_two_whole_segments_fit() -> None:
    # Budget 6 < 7 + 4 and < 4 + 6: a drawn adjacent pair, each keeping its first 3 tokens.
    cut = _cut(LONG_ROW, LONG_STARTS, 8, epoch=5)
    assert cut.input_ids.tolist() == [2, 20, 21, 22, 10, 11, 12, 3]
    assert cut.segment_ids.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert (cut.label, cut.permutation, cut.segments, cut.kept) == (2, (1, 0), (0, 1), (3, 3))
    assert _cut(LONG_ROW, LONG_STARTS, 8, epoch=8).input_ids.tolist() == [2, 20, 21, 22, 30, 31, 32, 3]
    # Budget 8: the 4-token segment is kept whole, the 6-token one loses 2.
    assert _cut(LONG_ROW, LONG_STARTS, 10, epoch=0).input_ids.tolist() == [
        2,
        20,
        21,
        22,
        23,
        30,
        31,
        32,
        33,
        3,
    ]
    # The shortest length that shows two segments: one token of each.
    assert _cut(ROW, STARTS, 4, epoch=2).input_ids.tolist() == [2, 10, 20, 3]


def test_cut_sr_shows_at_most_max_segments() -> None:
    cuts = [_cut(ROW, STARTS, 16, epoch=e, max_segments=2) for e in range(4)]
    assert [c.segments for c in cuts] == [(1, 2), (1, 2), (0, 1), (0, 1)]
    assert all(c.label in (1, 2) for c in cuts)


def test_cut_sr_rejects_one_segment_rows_and_too_short_lengths() -> None:
    with pytest.raises(ValueError, match=">= 2 segments"):
        _cut(ROW, [1], 16, epoch=0)
    with pytest.raises(ValueError, match="max_len >= 4"):
        _cut(ROW, STARTS, 3, epoch=0)


def test_cut_pair_keeps_both_sentences() -> None:
    ids, segments = cut_pair(PAIR, PAIR_SEGMENTS, 10)
    assert ids.tolist() == PAIR.tolist() and segments.tolist() == PAIR_SEGMENTS.tolist()
    ids, segments = cut_pair(PAIR, PAIR_SEGMENTS, 8)  # a (5 tokens) loses 2, b (2 tokens) stays whole
    assert ids.tolist() == [2, 10, 11, 12, 3, 20, 21, 3]
    assert segments.tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    ids, segments = cut_pair(PAIR, PAIR_SEGMENTS, 5)
    assert ids.tolist() == [2, 10, 3, 20, 3] and segments.tolist() == [0, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="max_len >= 5"):
        cut_pair(PAIR, PAIR_SEGMENTS, 4)


def test_collator_pads_cut_sr_and_sd_rows_with_their_segment_ids() -> None:
    collator = Collator(DataConfig(seed=0), {"[PAD]": 0, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}, (10, 40))
    sr_rows = [
        NluRow(np.array(ROW, dtype=np.int32), segment_starts=np.array(STARTS)),
        NluRow(np.array(LONG_ROW, dtype=np.int32), segment_starts=np.array(LONG_STARTS)),
    ]
    refs = [RowRef(0, 0, 2, 5, len(ROW)), RowRef(0, 1, 5, 5, len(LONG_ROW))]
    batch = collator.collate("sr", sr_rows, refs, 8)
    assert batch.input_ids.tolist() == [[2, 10, 11, 12, 20, 21, 3, 0], [2, 20, 21, 22, 10, 11, 12, 3]]
    assert batch.segment_ids is not None
    assert batch.segment_ids.tolist() == [[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1]]
    assert batch.pad_mask.sum(1).tolist() == [7, 8] and batch.labels.tolist() == [1, 2]
    sd_rows = [NluRow(PAIR.astype(np.int32), segment_ids=PAIR_SEGMENTS.astype(np.int8), label=1)]
    batch = collator.collate("sd", sd_rows, refs[:1], 8)
    assert batch.input_ids.tolist() == [[2, 10, 11, 12, 3, 20, 21, 3]]
    assert batch.segment_ids is not None and batch.segment_ids.tolist() == [[0, 0, 0, 0, 0, 1, 1, 1]]
    assert batch.labels.tolist() == [1]
