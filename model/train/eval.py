"""Periodic evaluation on the corpus's ``valid`` split: per-task loss and accuracy, DLM perplexity.

Every evaluation reads the same rows (the valid split in file order, no shuffling, masks drawn with epoch
0), at the full sequence length and batch size, with dropout off, so numbers are comparable across steps.
Accuracy is masked-token accuracy for kmlm and uktp (for uktp the relation tokens when the relation is
masked, otherwise sentence words), class accuracy for sr and sd, and next-token accuracy for dlm.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from corpus.reader import CorpusReader
from corpus.tasks.task import CLASS_TASKS, Task
from model.data.config import DataConfig
from model.data.mixture import PretrainData
from model.train.dist import DistContext, all_reduce_sum
from model.train.health import HealthProbe

logger = logging.getLogger(__name__)

CHANCE_CLASSES = 64
"""Class ids counted for the chance level (SR has 9 classes at the default 3 segments, SD 3)."""


class Evaluator:
    """``evaluator(step) -> {"eval/<task>/loss": ..., "eval/<task>/accuracy": ..., "eval/dlm/perplexity": ...}``."""

    def __init__(
        self,
        reader: CorpusReader,
        config: DataConfig,
        tasks: Sequence[str],
        objective: nn.Module,
        ctx: DistContext,
        *,
        batches: int,
        seq_len: int,
        split: str = "valid",
        health: HealthProbe | None = None,
    ) -> None:
        self.reader = reader
        self.config = config
        self.split = split
        self.tasks = [t for t in tasks if sum(s.rows for s in reader.shards(t, split)) > 0]
        self.objective = objective
        self.ctx = ctx
        self.batches = batches
        self.seq_len = seq_len
        self.health = health
        """Representation health of the wrapped model on fixed probe rows (``eval/health/...``), or None."""
        if not self.tasks:
            logger.warning("corpus has no %s rows for the trained tasks: evaluation is off", split)

    def __call__(self, step: int) -> dict[str, Any]:
        if not self.tasks:
            return {}
        data = PretrainData(
            self.reader,
            self.config,
            self.tasks,
            split=self.split,
            rank=self.ctx.rank,
            world_size=self.ctx.world_size,
            shuffle=False,
        )
        tasks = data.tasks
        totals = torch.zeros(3, len(tasks), dtype=torch.float64)  # loss sum, targets, correct
        model = self.objective
        was_training = model.training
        model.eval()
        mems = None
        # Class counts of the sentence-level tasks: "chance" = accuracy of always answering the most
        # frequent class of these rows (SR's and SD's classes are far from uniform).
        class_counts = {
            t: torch.zeros(CHANCE_CLASSES, dtype=torch.float64) for t in tasks if t in CLASS_TASKS
        }
        with torch.no_grad():
            for _ in range(self.batches):
                batch = data.next(self.config.batch_size, self.seq_len)
                for task, counts in class_counts.items():
                    if task in batch.nlu:
                        counts += torch.bincount(batch.nlu[task].labels, minlength=CHANCE_CLASSES)[
                            :CHANCE_CLASSES
                        ]
                nlu, dlm = batch.to(self.ctx.device)
                sums, mems = model(nlu, dlm, mems)
                for i, task in enumerate(tasks):
                    if task in sums.loss:
                        totals[0, i] += float(sums.loss[task])
                        totals[1, i] += float(sums.targets[task])
                        totals[2, i] += float(sums.correct[task])
        model.train(was_training)
        totals = all_reduce_sum(totals.to(self.ctx.device)).cpu()
        out: dict[str, Any] = {}
        for i, task in enumerate(tasks):
            n = max(1.0, float(totals[1, i]))
            out[f"eval/{task}/loss"] = float(totals[0, i]) / n
            out[f"eval/{task}/accuracy"] = float(totals[2, i]) / n
        if Task.DLM in tasks:
            out["eval/dlm/perplexity"] = math.exp(min(out["eval/dlm/loss"], 50.0))
        for task, counts in class_counts.items():
            counts = all_reduce_sum(counts.to(self.ctx.device)).cpu()
            out[f"eval/{task}/chance"] = float(counts.max() / counts.sum().clamp(min=1))
        for name, dropped in data.dropped_rows().items():
            out[f"eval/{name}/dropped"] = dropped
        if self.health is not None:
            wrapped = getattr(model, "model", model)
            out.update({f"eval/{key}": value for key, value in self.health(wrapped).items()})
        if self.ctx.rank == 0:
            shown = " ".join(f"{k[5:]} {v:.3f}" for k, v in out.items())
            logger.info("eval step %d: %s", step, shown)
        return out
