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

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

IGNORE = -100
"""Label of positions that are not prediction targets."""


class NluBatch(NamedTuple):
    """A collated NLU task micro-batch (this rank's rows)."""

    input_ids: Tensor
    """(B, T) int64."""
    segment_ids: Tensor | None
    """(B, T) int64, or None for tasks without segments."""
    pad_mask: Tensor
    """(B, T) bool, True = real token."""
    labels: Tensor
    """(B, T) int64 token targets (-100 elsewhere) for kmlm/uktp; (B,) class ids for sr/sd."""


class DlmBatch(NamedTuple):
    """This rank's DLM streams for one micro-batch."""

    inputs: Tensor
    """(S, L) int64."""
    targets: Tensor
    """(S, L) int64 next tokens."""


class TaskSums(NamedTuple):
    """Per-task sums of one forward: ``loss`` (with grad), ``targets`` and ``correct`` (no grad)."""

    loss: dict[str, Tensor]
    targets: dict[str, Tensor]
    correct: dict[str, Tensor]


TOKEN_TASKS = ("kmlm", "uktp")
CLASS_TASKS = ("sr", "sd")


def _token_sums(model: Any, batch: NluBatch) -> tuple[Tensor, Tensor, Tensor]:
    hidden = model.forward_nlu(batch.input_ids, batch.segment_ids, batch.pad_mask)  # (B, T, d_nlu)
    chosen = batch.labels != IGNORE
    logits = model.mlm_logits(hidden[chosen]).float()  # (N, vocab): only masked positions reach the head
    labels = batch.labels[chosen]
    loss = F.cross_entropy(logits, labels, reduction="sum")
    correct = (logits.detach().argmax(-1) == labels).sum()
    return loss, labels.new_tensor(labels.numel()), correct


def _class_sums(model: Any, task: str, batch: NluBatch) -> tuple[Tensor, Tensor, Tensor]:
    hidden = model.forward_nlu(batch.input_ids, batch.segment_ids, batch.pad_mask)
    cls = hidden[:, 0]  # (B, d_nlu): the [CLS] state
    logits = (model.sr_logits(cls) if task == "sr" else model.sd_logits(cls)).float()
    loss = F.cross_entropy(logits, batch.labels, reduction="sum")
    correct = (logits.detach().argmax(-1) == batch.labels).sum()
    return loss, batch.labels.new_tensor(batch.labels.numel()), correct


class PretrainObjective(nn.Module):
    """``forward(nlu, dlm, mems) -> (TaskSums, new mems)`` over the wrapped Ernie3Model."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model

    def forward(self, nlu: dict[str, NluBatch], dlm: DlmBatch | None, mems: Any) -> tuple[TaskSums, Any]:
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
            sums.loss["dlm"] = F.cross_entropy(logits.reshape(flat.numel(), -1), flat, reduction="sum")
            sums.targets["dlm"] = flat.new_tensor(flat.numel())
            sums.correct["dlm"] = (logits.detach().argmax(-1).reshape(-1) == flat).sum()
            new_mems = out.mems
        return sums, new_mems


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


def detach_mems(mems: Any) -> Any:
    """Memory tensors cut from the graph (the model already detaches; this guards fakes and future changes)."""
    if mems is None:
        return None
    if isinstance(mems, Tensor):
        return mems.detach()
    if isinstance(mems, tuple):
        items = [detach_mems(m) for m in mems]
        return type(mems)(*items) if hasattr(mems, "_fields") else tuple(items)
    return mems


def mems_to(mems: Any, device: torch.device | str) -> Any:
    """Move a memory structure (NamedTuple/tuples of tensors) to ``device``."""
    if isinstance(mems, Tensor):
        return mems.to(device)
    if isinstance(mems, tuple):
        items = [mems_to(m, device) for m in mems]
        return type(mems)(*items) if hasattr(mems, "_fields") else tuple(items)
    return mems
