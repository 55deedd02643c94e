"""The pre-training objective as one ``nn.Module`` call: every task's summed loss, target count and hits.

:class:`PretrainObjective` wraps the model so that one micro-batch (all tasks) is one ``forward`` and one
``backward`` -- what DDP and FSDP need. It returns *sums* (not means): the trainer divides by the number
of targets of the whole accumulation window across all ranks, so gradient accumulation and data
parallelism give the same gradient as one big batch (see docs/TRAINING.md). Losses per task:

- kmlm, uktp: cross-entropy of ``mlm_logits`` on the masked positions (labels != -100);
- sr, sd: cross-entropy of ``sr_logits`` / ``sd_logits`` on the [CLS] state (position 0);
- dlm: cross-entropy of ``lm_logits`` on every next token of each stream segment, with NLG memory.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgtext.corpus.tasks.task import TOKEN_TASKS, Task
from kgtext.model.config import ModelConfig
from kgtext.model.data.batch import IGNORE, DlmBatch, NluBatch
from kgtext.model.ernie import Memory, NlgOutput


class PretrainModel(Protocol):
    """What pre-training calls on a model: :class:`kgtext.model.ernie.Ernie3Model` (or a test fake) satisfies it."""

    config: ModelConfig

    def forward_nlu(self, input_ids: Tensor, segment_ids: Tensor | None, pad_mask: Tensor) -> Tensor: ...

    def forward_nlg(self, input_ids: Tensor, mems: Memory | None = None) -> NlgOutput: ...

    def init_mems(self, batch_size: int, device: torch.device | str | None = None) -> Memory: ...

    def mlm_logits(self, hidden: Tensor) -> Tensor: ...

    def lm_logits(self, hidden: Tensor) -> Tensor: ...

    def sr_logits(self, cls_hidden: Tensor) -> Tensor: ...

    def sd_logits(self, cls_hidden: Tensor) -> Tensor: ...

    def set_dropout(self, dropout: float, dropatt: float | None = None) -> None: ...


class TaskSums(NamedTuple):
    """Per-task sums of one forward: ``loss`` (with grad), ``targets`` and ``correct`` (no grad)."""

    loss: dict[str, Tensor]
    targets: dict[str, Tensor]
    correct: dict[str, Tensor]


class ObjectiveOutput(NamedTuple):
    """What one :class:`PretrainObjective` forward returns."""

    sums: TaskSums
    mems: Memory | None
    """The NLG memory for the next micro-batch of the same DLM streams (unchanged without DLM rows)."""


def _token_sums(model: PretrainModel, batch: NluBatch) -> tuple[Tensor, Tensor, Tensor]:
    hidden = model.forward_nlu(batch.input_ids, batch.segment_ids, batch.pad_mask)  # (B, T, d_nlu)
    chosen = batch.labels != IGNORE
    logits = model.mlm_logits(hidden[chosen]).float()  # (N, vocab): only masked positions reach the head
    labels = batch.labels[chosen]
    loss = F.cross_entropy(logits, labels, reduction="sum")
    correct = (logits.detach().argmax(-1) == labels).sum()
    return loss, labels.new_tensor(labels.numel()), correct


def _class_sums(model: PretrainModel, task: Task, batch: NluBatch) -> tuple[Tensor, Tensor, Tensor]:
    hidden = model.forward_nlu(batch.input_ids, batch.segment_ids, batch.pad_mask)
    cls = hidden[:, 0]  # (B, d_nlu): the [CLS] state
    logits = (model.sr_logits(cls) if task == Task.SR else model.sd_logits(cls)).float()
    loss = F.cross_entropy(logits, batch.labels, reduction="sum")
    correct = (logits.detach().argmax(-1) == batch.labels).sum()
    return loss, batch.labels.new_tensor(batch.labels.numel()), correct


class PretrainObjective(nn.Module):
    """``forward(nlu, dlm, mems) -> ObjectiveOutput`` over the wrapped model (a registered sub-module)."""

    def __init__(self, model: PretrainModel) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"the model must be an nn.Module (its parameters are trained), got {type(model)}")
        self.model: PretrainModel = model  # registered as the sub-module "model" by nn.Module.__setattr__

    def forward(
        self, nlu: dict[Task, NluBatch], dlm: DlmBatch | None, mems: Memory | None
    ) -> ObjectiveOutput:
        sums = TaskSums({}, {}, {})
        for task, batch in nlu.items():
            if task in TOKEN_TASKS:
                result = _token_sums(self.model, batch)
            else:
                result = _class_sums(self.model, task, batch)
            sums.loss[task], sums.targets[task], sums.correct[task] = result
        new_mems = mems
        if dlm is not None:
            out = self.model.forward_nlg(dlm.inputs, mems)
            logits = self.model.lm_logits(out.hidden).float()  # (S, L, vocab)
            flat = dlm.targets.reshape(-1)
            sums.loss[Task.DLM] = F.cross_entropy(logits.reshape(flat.numel(), -1), flat, reduction="sum")
            sums.targets[Task.DLM] = flat.new_tensor(flat.numel())
            sums.correct[Task.DLM] = (logits.detach().argmax(-1).reshape(-1) == flat).sum()
            new_mems = out.mems
        return ObjectiveOutput(sums, new_mems)


def window_loss(sums: TaskSums, window_targets: dict[str, float], world_size: int) -> Tensor:
    """Sum over tasks of ``loss sum / targets of the whole window on all ranks``, times ``world_size``.

    DDP and FSDP average gradients over ranks; multiplying by the world size turns that average back into
    the sum, so the gradient equals the one-process gradient of the window's mean loss per task.
    """
    total: Tensor | None = None
    for task, loss in sums.loss.items():
        term = loss * (world_size / max(1.0, window_targets[task]))
        total = term if total is None else total + term
    assert total is not None, "a micro-batch without any task"
    return total
