"""model.train.objective: window loss normalisation; accumulated micro-batches give the whole batch's gradient."""

from __future__ import annotations

from pathlib import Path

import torch

from kgtext.corpus.reader import CorpusReader
from kgtext.model.data.config import DataConfig
from kgtext.model.train.objective import TaskSums, window_loss


def test_window_loss_normalises_by_window_targets() -> None:
    sums = TaskSums({"kmlm": torch.tensor(12.0), "sd": torch.tensor(3.0)}, {}, {})
    loss = window_loss(sums, {"kmlm": 6.0, "sd": 2.0}, world_size=2)
    assert float(loss) == 2 * (12.0 / 6.0) + 2 * (3.0 / 2.0)


def test_accumulated_halves_give_the_gradient_of_the_whole_batch(corpus_dir: Path) -> None:
    """Loss normalised by the window's targets: two half micro-batches == one batch (not a mean of means)."""
    from kgtext.model.config import ModelConfig
    from kgtext.model.data.batch import DlmBatch, NluBatch
    from kgtext.model.data.mixture import MicroBatch, PretrainData
    from kgtext.model.presets import get_preset
    from kgtext.model.train.loop import count_targets
    from kgtext.model.train.objective import PretrainObjective
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
