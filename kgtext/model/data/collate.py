"""Task rows -> padded tensors, with the dynamic masking/permutation of :mod:`kgtext.corpus.tasks.masking`.

Masks are drawn per row from ``(seed, epoch, global row index)``, so every epoch masks afresh and a resumed
or multi-process run draws the same masks. Rows longer than the current sequence length (progressive
learning) are cut so that what the model sees still carries the task's signal:

- kmlm/uktp rows are cut to ``seq_len - 1`` tokens plus ``[SEP]`` *before* masking and keep only the units
  that fit (so a cut row still has targets; UKTP's triple comes first and always fits);
- sr rows are cut at segment boundaries to at least two visible segments *before* shuffling, and the label
  is the permutation class of the visible segments (:func:`cut_sr`); one-segment rows never get here
  (:class:`kgtext.model.data.source.TaskSource` skips and counts them);
- sd pairs are truncated longest-first, so both sentences are always seen (:func:`cut_pair`).

Batches are padded to their longest row (length bucketing keeps that close to every row's length;
:class:`PadStats` counts the padding).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from kgtext.corpus.tasks import masking
from kgtext.corpus.tasks.task import TOKEN_TASKS, Task
from kgtext.model.data.batch import NluBatch
from kgtext.model.data.config import DataConfig, KmlmMasking
from kgtext.model.data.source import MIN_SR_SEGMENTS, NluRow, RowRef

MIN_SR_LEN = 2 + MIN_SR_SEGMENTS
"""Shortest sequence length an SR row can be cut to: [CLS], a token of each of two segments, [SEP]."""
SEGMENT_TASKS = (Task.UKTP, Task.SR, Task.SD)
"""Tasks whose batches carry segment ids (SR: which shown segment a token belongs to)."""
MIN_SD_LEN = 5
"""Shortest sequence length an SD pair can be cut to: [CLS] a [SEP] b [SEP] with one token each."""


class PadStats:
    """Real and padded token slots seen by the collator (pad fraction = padded / total slots)."""

    def __init__(self) -> None:
        self.real = 0
        self.slots = 0

    def add(self, lengths: Sequence[int], width: int) -> None:
        self.real += int(sum(lengths))
        self.slots += width * len(lengths)

    @property
    def pad_fraction(self) -> float:
        return 1.0 - self.real / self.slots if self.slots else 0.0


def truncate_longest_first(lengths: Sequence[int], budget: int) -> list[int]:
    """Tokens kept of each segment so that they total at most ``budget``, each keeping its head.

    Tokens come off the longest segment first, the later one on a tie (BERT's ``_truncate_seq_pair``
    generalised to k segments), so a segment keeps ``min(length, ~budget / k)`` tokens and a short one is
    kept whole: ``truncate_longest_first([40, 10], 30) == [20, 10]``.
    """
    if budget < 0 or any(n < 0 for n in lengths):
        raise ValueError(f"cannot truncate segments of {list(lengths)} tokens to {budget}")
    if sum(lengths) <= budget:
        return list(lengths)
    cap = 0  # the largest cap with sum(min(n, cap)) <= budget
    high = max(lengths)
    while cap < high:
        mid = (cap + high + 1) // 2
        if sum(min(n, mid) for n in lengths) <= budget:
            cap = mid
        else:
            high = mid - 1
    kept = [min(n, cap) for n in lengths]
    spare = budget - sum(kept)
    for i, n in enumerate(lengths):  # one more token for the earliest capped segments
        if spare and n > cap:
            kept[i] += 1
            spare -= 1
    return kept


class SrCut(NamedTuple):
    """A sentence-reordering row cut to a sequence length and shuffled (:func:`cut_sr`)."""

    input_ids: np.ndarray
    """(T,) int64: [CLS], the visible segments in shuffled order, [SEP]."""
    segment_ids: np.ndarray
    """(T,) int64: 0, 1, 0, ... per shown segment ([CLS] with the first, [SEP] with the last)."""
    label: int
    """:func:`kgtext.corpus.tasks.masking.sr_label` of ``permutation``: a class of the k visible segments."""
    permutation: tuple[int, ...]
    """``permutation[j]``: which visible segment (0 = the earliest in the paragraph) is shown at j."""
    segments: tuple[int, ...]
    """Indices of the visible segments in the row (a contiguous run, in paragraph order)."""
    kept: tuple[int, ...]
    """Tokens shown of each visible segment (its head; the whole segment unless truncated)."""


def _choose_segments(
    lengths: list[int], budget: int, max_segments: int, rng: np.random.Generator
) -> tuple[int, list[int]]:
    """(first visible segment, tokens kept of each visible one): the whole row when it fits in ``budget``
    (no draw), else the most whole segments (2..max_segments) of a contiguous run that fits (the run drawn
    uniformly among those that fit), else a uniformly drawn adjacent pair truncated longest-first."""
    n = len(lengths)
    if n <= max_segments and sum(lengths) <= budget:
        return 0, lengths
    for k in range(min(n, max_segments), MIN_SR_SEGMENTS - 1, -1):
        fits = [i for i in range(n - k + 1) if sum(lengths[i : i + k]) <= budget]
        if fits:
            first = fits[int(rng.integers(len(fits)))]
            return first, lengths[first : first + k]
    first = int(rng.integers(n - 1))
    return first, truncate_longest_first(lengths[first : first + MIN_SR_SEGMENTS], budget)


def cut_sr(
    input_ids: Sequence[int] | np.ndarray,
    segment_starts: Sequence[int] | np.ndarray,
    max_len: int,
    *,
    max_segments: int,
    seed: int,
    epoch: int,
    row_index: int,
) -> SrCut:
    """Cut ``[CLS] s_0 .. s_{n-1} [SEP]`` (n >= 2) to at most ``max_len`` tokens, then shuffle what is left.

    The visible segments are a contiguous run of 2..``max_segments`` segments (:func:`_choose_segments`),
    so the model always sees at least two and the label is the class of their permutation. Every draw
    comes from ``row_rng(seed, epoch, row_index)``, the run first, then the permutation; a row that fits
    whole draws no run, so it gets the permutation of :func:`kgtext.corpus.tasks.masking.permute_sr`.
    """
    ids = np.asarray(input_ids, dtype=np.int64)
    starts = [int(s) for s in segment_starts]
    if (
        len(starts) < MIN_SR_SEGMENTS
        or starts[0] < 1
        or any(b <= a for a, b in itertools.pairwise(starts))
        or starts[-1] >= ids.size - 1
    ):
        raise ValueError(f"segment_starts {starts} do not split a row of {ids.size} tokens in >= 2 segments")
    if max_len < MIN_SR_LEN or max_segments < MIN_SR_SEGMENTS:
        raise ValueError(
            f"sr rows need max_len >= {MIN_SR_LEN} and max_segments >= 2, got {max_len}, {max_segments}"
        )
    bounds = [*starts, ids.size - 1]
    lengths = [b - a for a, b in itertools.pairwise(bounds)]
    rng = masking.row_rng(seed, epoch, row_index)
    first, kept = _choose_segments(lengths, max_len - 2, max_segments, rng)
    perm = tuple(int(p) for p in rng.permutation(len(kept)))
    pieces = [ids[bounds[first + p] : bounds[first + p] + kept[p]] for p in perm]
    segment_ids = np.concatenate([np.full(len(piece), j % 2) for j, piece in enumerate(pieces)])
    return SrCut(
        input_ids=np.concatenate([ids[:1], *pieces, ids[-1:]]),
        segment_ids=np.concatenate([[0], segment_ids, segment_ids[-1:]]).astype(np.int64),
        label=masking.sr_label(perm),
        permutation=perm,
        segments=tuple(range(first, first + len(kept))),
        kept=tuple(kept),
    )


def cut_pair(input_ids: np.ndarray, segment_ids: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """``[CLS] a [SEP] b [SEP]`` (segment 0 up to the first [SEP], 1 after) cut to at most ``max_len``
    tokens with a and b truncated longest-first, each keeping its head: (input ids, segment ids), int64."""
    if max_len < MIN_SD_LEN:
        raise ValueError(f"sd pairs need max_len >= {MIN_SD_LEN} (a token of each sentence), got {max_len}")
    ids = np.asarray(input_ids, dtype=np.int64)
    if ids.size <= max_len:
        return ids, np.asarray(segment_ids, dtype=np.int64)
    head = int(np.count_nonzero(np.asarray(segment_ids) == 0))  # [CLS] a [SEP]
    keep_a, keep_b = truncate_longest_first([head - 2, ids.size - head - 1], max_len - 3)
    out = np.concatenate([ids[: 1 + keep_a], ids[head - 1 : head + keep_b], ids[-1:]])
    return out, np.repeat(np.array([0, 1], dtype=np.int64), [keep_a + 2, keep_b + 1])


class Collator:
    """Turns raw rows of one task into an :class:`NluBatch` at a given sequence length."""

    def __init__(
        self, config: DataConfig, special_ids: Mapping[str, int], random_range: tuple[int, int]
    ) -> None:
        self.config = config
        self.pad_id = int(special_ids.get("[PAD]", 0))
        self.sep_id = int(special_ids["[SEP]"])
        self.mask_id = int(special_ids["[MASK]"])
        self.random_range = random_range
        """[low, high) of the 10% random replacement tokens (never a special token)."""
        self.pad_stats = PadStats()

    def _cut(self, row: NluRow, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
        """Input ids cut to ``seq_len`` (ending with [SEP]) and the units that lie inside the cut."""
        ids, units = row.input_ids, row.units
        assert units is not None, "kmlm/uktp rows have units"
        if len(ids) <= seq_len:
            return ids, units
        return np.append(ids[: seq_len - 1], self.sep_id), units[units[:, 1] <= seq_len - 1]

    def _draw(self, ref: RowRef) -> dict[str, Any]:
        """The masking arguments of one row: its seed, epoch and index, the mask id, the random range."""
        return {
            "seed": self.config.seed,
            "epoch": ref.epoch,
            "row_index": ref.row_index,
            "mask_id": self.mask_id,
            "random_range": self.random_range,
        }

    def _row(
        self, task: Task, row: NluRow, ref: RowRef, seq_len: int
    ) -> tuple[np.ndarray, np.ndarray | None, Any]:
        """(input ids, segment ids or None, labels: token array or class id) of one row."""
        seed = self.config.seed
        if task == Task.KMLM:
            ids, units = self._cut(row, seq_len)
            if self.config.kmlm_masking is KmlmMasking.TOKEN:  # every piece between [CLS] and [SEP] alone
                starts = np.arange(1, len(ids) - 1)
                units = np.stack([starts, starts + 1], axis=1)
            out = masking.mask_units(ids, units, **self._draw(ref), unit_prob=self.config.mask_prob)
            return out.input_ids, None, out.labels
        if task == Task.UKTP:
            ids, units = self._cut(row, seq_len)
            assert row.relation_span is not None and row.segment_ids is not None
            out = masking.mask_uktp(
                ids,
                row.relation_span,
                units,
                **self._draw(ref),
                relation_prob=self.config.uktp_relation_prob,
                word_prob=self.config.uktp_word_prob,
            )
            return out.input_ids, row.segment_ids[: len(ids)].astype(np.int64), out.labels
        if task == Task.SR:
            assert row.segment_starts is not None
            cut = cut_sr(
                row.input_ids,
                row.segment_starts,
                seq_len,
                max_segments=self.config.sr_max_segments,
                seed=seed,
                epoch=ref.epoch,
                row_index=ref.row_index,
            )
            return cut.input_ids, cut.segment_ids, cut.label
        if task == Task.SD:
            assert row.segment_ids is not None
            pair, segments = cut_pair(row.input_ids, row.segment_ids, seq_len)
            return pair, segments, row.label
        raise ValueError(f"unknown NLU task {task!r}")

    def collate(self, task: Task, rows: list[NluRow], refs: list[RowRef], seq_len: int) -> NluBatch:
        """Mask/permute, cut to ``seq_len``, pad to the longest row: tensors on the CPU."""
        items = [self._row(task, row, ref, seq_len) for row, ref in zip(rows, refs, strict=True)]
        lengths = [min(len(ids), seq_len) for ids, _, _ in items]
        width = max(lengths)
        batch = len(items)
        input_ids = np.full((batch, width), self.pad_id, dtype=np.int64)
        segment_ids = np.zeros((batch, width), dtype=np.int64)
        token_labels = np.full((batch, width), masking.IGNORE, dtype=np.int64)
        classes = np.zeros(batch, dtype=np.int64)
        for i, (ids, segs, labels) in enumerate(items):
            n = lengths[i]
            input_ids[i, :n] = ids[:n]
            if n < len(ids):
                input_ids[i, n - 1] = self.sep_id  # a cut row still ends with [SEP]
            if segs is not None:
                segment_ids[i, :n] = segs[:n]
            if isinstance(labels, np.ndarray):
                token_labels[i, :n] = labels[:n]
                if n < len(ids):
                    token_labels[i, n - 1] = masking.IGNORE
            else:
                classes[i] = labels
        self.pad_stats.add(lengths, width)
        pad_mask = np.arange(width)[None, :] < np.asarray(lengths)[:, None]
        has_segments = task in SEGMENT_TASKS
        has_tokens = task in TOKEN_TASKS
        return NluBatch(
            input_ids=torch.from_numpy(input_ids),
            segment_ids=torch.from_numpy(segment_ids) if has_segments else None,
            pad_mask=torch.from_numpy(pad_mask),
            labels=torch.from_numpy(token_labels if has_tokens else classes),
        )
