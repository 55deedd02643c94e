"""model.data.collate: cutting rows to the progressive length, SR labels."""

from __future__ import annotations

from pathlib import Path

import torch

from corpus.reader import CorpusReader
from corpus.tasks import masking
from model.data.batch import IGNORE
from model.data.collate import Collator
from model.data.config import DataConfig, KmlmMasking
from model.data.source import TaskSource


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


def test_cut_sr_rows_keep_the_label_of_the_whole_permutation(corpus_dir: Path) -> None:
    rows, refs = _rows(corpus_dir, "sr", 6)
    cut = _collator().collate("sr", rows, refs, 16)
    assert cut.input_ids.shape == (6, 16) and torch.all(cut.input_ids[:, -1] == 3)
    for i, (row, ref) in enumerate(zip(rows, refs, strict=True)):
        whole = masking.permute_sr(
            row.input_ids,
            row.segment_starts,
            seed=DataConfig().seed,
            epoch=ref.epoch,
            row_index=ref.row_index,
        )
        assert int(cut.labels[i]) == whole.label
        assert cut.input_ids[i, :15].tolist() == whole.input_ids[:15].tolist()


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
