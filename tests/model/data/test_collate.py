"""Collation details: cutting rows to the progressive length, SR labels, window loss normalisation."""

from __future__ import annotations

from pathlib import Path

import torch

from corpus.reader import CorpusReader
from corpus.tasks import masking
from model.data.batch import IGNORE
from model.data.collate import COLUMNS, Collator
from model.data.config import DataConfig
from model.data.source import BucketedBatches, TaskSource
from model.train.objective import TaskSums, window_loss


def _rows(corpus_dir: Path, task: str, count: int):  # noqa: ANN202
    source = TaskSource(CorpusReader(corpus_dir), task, "train", seed=0, shuffle=False)
    refs = source.take(source.num_rows)
    refs = sorted(refs, key=lambda r: -r.num_tokens)[:count]  # the longest rows
    return source.cache.rows(refs, COLUMNS[task]), refs


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
    has_unit = [any(u["end"] <= 23 for u in row["units"]) for row in rows]
    assert (targets.sum(1) >= 1).tolist() == has_unit and sum(has_unit) >= 6
    full = _collator().collate("kmlm", rows, refs, 10_000)
    assert full.input_ids.shape[1] == max(r.num_tokens for r in refs)


def test_cut_sr_rows_keep_the_label_of_the_whole_permutation(corpus_dir: Path) -> None:
    rows, refs = _rows(corpus_dir, "sr", 6)
    cut = _collator().collate("sr", rows, refs, 16)
    assert cut.input_ids.shape == (6, 16) and torch.all(cut.input_ids[:, -1] == 3)
    for i, (row, ref) in enumerate(zip(rows, refs, strict=True)):
        whole = masking.permute_sr(
            row["input_ids"],
            row["segment_starts"],
            seed=DataConfig().seed,
            epoch=ref.epoch,
            row_index=ref.row_index,
        )
        assert int(cut.labels[i]) == whole.label
        assert cut.input_ids[i, :15].tolist() == whole.input_ids[:15].tolist()


def test_window_loss_normalises_by_window_targets() -> None:
    sums = TaskSums({"kmlm": torch.tensor(12.0), "sd": torch.tensor(3.0)}, {}, {})
    loss = window_loss(sums, {"kmlm": 6.0, "sd": 2.0}, world_size=2)
    assert float(loss) == 2 * (12.0 / 6.0) + 2 * (3.0 / 2.0)


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


def test_accumulated_halves_give_the_gradient_of_the_whole_batch(corpus_dir: Path) -> None:
    """Loss normalised by the window's targets: two half micro-batches == one batch (not a mean of means)."""
    from model.config import ModelConfig
    from model.data.batch import DlmBatch, NluBatch
    from model.data.mixture import MicroBatch, PretrainData
    from model.presets import get_preset
    from model.train.loop import count_targets
    from model.train.objective import PretrainObjective
    from tests.model.train.conftest import MockModel

    data = PretrainData(
        CorpusReader(corpus_dir),
        DataConfig(batch_size=16, dlm_streams=4),
        ["kmlm", "uktp", "sr", "sd", "dlm"],
    )
    whole = data.next(16, 40)

    def half(part: slice) -> MicroBatch:
        nlu = {t: NluBatch(*(None if x is None else x[part] for x in b)) for t, b in whole.nlu.items()}
        assert whole.dlm is not None
        return MicroBatch(nlu, DlmBatch(whole.dlm.inputs[part], whole.dlm.targets[part]), 0)

    config: ModelConfig = get_preset("tiny", vocab_size=600, dropout=0.0)
    torch.manual_seed(0)
    objective = PretrainObjective(MockModel(config))

    def grads(window: list[MicroBatch]) -> list[torch.Tensor]:
        objective.zero_grad()
        totals: dict[str, float] = {}
        for batch in window:
            for task, n in count_targets(batch).items():
                totals[task] = totals.get(task, 0.0) + n
        for batch in window:
            sums, _ = objective(*batch.to(torch.device("cpu")), None)
            window_loss(sums, totals, world_size=1).backward()
        return [p.grad.clone() for p in objective.parameters() if p.grad is not None]

    one = grads([whole])
    two = grads([half(slice(0, None, 2)), half(slice(1, None, 2))])
    assert len(one) == len(two)
    for a, b in zip(one, two, strict=True):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)
