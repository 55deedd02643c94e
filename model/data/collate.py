"""Task rows -> padded tensors, with the dynamic masking/permutation of :mod:`corpus.tasks.masking`.

Masks are drawn per row from ``(seed, epoch, global row index)``, so every epoch masks afresh and a resumed
or multi-process run draws the same masks. Rows longer than the current sequence length (progressive
learning) are cut to ``seq_len - 1`` tokens plus ``[SEP]``: kmlm/uktp rows are cut *before* masking and keep
only the units that fit (so a cut row still has targets; UKTP's triple comes first and always fits); sr rows
are cut *after* permuting (the label stays that of the whole row: the model classifies from the visible
prefix; cutting first would make long paragraphs a trivial one-segment class 0); sd rows are simply cut. Batches are padded to their longest row (length bucketing keeps that close to
every row's length; :class:`PadStats` counts the padding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from corpus.tasks import masking
from corpus.tasks.task import TOKEN_TASKS, Task
from model.data.batch import NluBatch
from model.data.config import DataConfig, KmlmMasking
from model.data.source import NluRow, RowRef


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
            perm = masking.permute_sr(
                row.input_ids, row.segment_starts, seed=seed, epoch=ref.epoch, row_index=ref.row_index
            )
            return perm.input_ids, None, perm.label
        if task == Task.SD:
            assert row.segment_ids is not None
            pair = row.input_ids.astype(np.int64)
            return pair, row.segment_ids.astype(np.int64), row.label
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
        has_segments = task in (Task.UKTP, Task.SD)
        has_tokens = task in TOKEN_TASKS
        return NluBatch(
            input_ids=torch.from_numpy(input_ids),
            segment_ids=torch.from_numpy(segment_ids) if has_segments else None,
            pad_mask=torch.from_numpy(pad_mask),
            labels=torch.from_numpy(token_labels if has_tokens else classes),
        )
