"""The pre-training loop: progressive factors, accumulation, clipping, AdamW, logging, evaluation, checkpoints.

:class:`Trainer` only runs the loop; its parts (model, objective wrapper, optimizer, data, metrics writer)
are built by :func:`kgtext.model.train.setup.build_trainer`. One optimizer step:

1. the progressive factors of the step (sequence length, NLU batch size, dropout) and the lr are set;
2. the ``grad_accum`` micro-batches of the window are drawn and their targets counted per task, summed
   over ranks, so each micro-batch's loss is ``sum of CE / targets of the whole window`` per task;
3. forward + backward per micro-batch (DDP syncs on the last one only), a NaN/inf task loss stops the
   run naming the step and the task before any update, so the last checkpoint stays the last good state;
4. gradient clipping, the AdamW step, then logging, evaluation and checkpointing at their intervals.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from kgtext.corpus.tasks.task import TOKEN_TASKS, Task
from kgtext.model.data.batch import IGNORE, DlmBatch, NluBatch
from kgtext.model.data.mixture import MicroBatch, PretrainData
from kgtext.model.ernie import Memory
from kgtext.model.train.config import TrainConfig
from kgtext.model.train.dist import DistContext, all_reduce_sum, autocast_dtype
from kgtext.model.train.log import MetricsWriter, format_line, read_metrics
from kgtext.model.train.objective import (
    ObjectiveOutput,
    PretrainModel,
    PretrainObjective,
    TaskSums,
    window_loss,
)
from kgtext.model.train.schedule import StepFactors, lr_at, progressive_at

logger = logging.getLogger(__name__)


class TrainingDivergedError(RuntimeError):
    """A task loss became NaN or infinite; the message names the step and the task."""


class EvalHook(Protocol):
    """Evaluation at a step (:class:`kgtext.model.train.eval.Evaluator`): metric name -> value."""

    def __call__(self, step: int) -> dict[str, Any]: ...


class CheckpointHook(Protocol):
    """Saves a checkpoint of the trainer's state."""

    def __call__(self, trainer: Trainer) -> None: ...


@dataclass(slots=True)
class TrainerParts:
    """Everything the loop needs, built by :func:`kgtext.model.train.setup.build_trainer`."""

    config: TrainConfig
    run_dir: Path
    ctx: DistContext
    model: PretrainModel
    """The bare Ernie3Model (or a fake with its methods)."""
    objective: PretrainObjective
    """The objective over ``model``; under FSDP also the sharded root whose state dicts are gathered."""
    wrapped: Callable[[dict[Task, NluBatch], DlmBatch | None, Memory | None], ObjectiveOutput]
    """The objective as called in training: bare, DDP-wrapped or FSDP-sharded, maybe ``torch.compile``-d."""
    no_sync: Callable[[], contextlib.AbstractContextManager[Any]] | None
    """DDP's ``no_sync`` (skip the gradient all-reduce on all but the last micro-batch), None otherwise."""
    optimizer: torch.optim.Optimizer
    data: PretrainData
    metrics: MetricsWriter
    evaluator: EvalHook | None
    """Evaluation metrics at a step, or None when evaluation is off."""
    checkpointer: CheckpointHook
    """Saves a checkpoint of the trainer (:func:`kgtext.model.train.setup.save_checkpoint`)."""
    max_seq_len: int
    """The model's tgt_len: the sequence length at the end of progressive learning."""
    full_dropout: tuple[float, float]
    """(dropout, dropatt) of the model config: the values the progressive ramp ends at."""
    sharded: bool = False
    """FSDP: checkpoints come from the shards of ``wrapped`` (written per rank, or gathered with
    ``checkpoint.sharded=false``)."""


def count_targets(batch: MicroBatch) -> dict[str, int]:
    """Prediction targets per task of this rank's part of a micro-batch."""
    out: dict[str, int] = {}
    for task, nlu in batch.nlu.items():
        out[task] = int((nlu.labels != IGNORE).sum()) if task in TOKEN_TASKS else int(nlu.labels.numel())
    if batch.dlm is not None:
        out[Task.DLM] = int(batch.dlm.targets.numel())
    return out


class Trainer:
    """Runs optimizer steps from ``step`` to ``max_steps``; state lives in ``step``, ``mems`` and the parts."""

    def __init__(self, parts: TrainerParts) -> None:
        self.parts = parts
        self.step = 0
        self.mems: Memory | None = None
        self.tokens_seen = 0
        self.elapsed_s = 0.0
        self.step_losses: list[float] = []
        """Total loss of every step run by this process (the exact-resume test compares them)."""
        self._interval: dict[str, float] = {}
        self._interval_start = time.perf_counter()

    # ---- one step ------------------------------------------------------------------------------------
    def factors(self) -> StepFactors:
        cfg = self.parts.config
        return progressive_at(
            self.step,
            cfg.progressive,
            max_seq_len=self.parts.max_seq_len,
            batch_size=cfg.data.batch_size,
            dropout=self.parts.full_dropout[0],
            multiple=self.parts.ctx.world_size,
        )

    def _apply_factors(self, factors: StepFactors) -> float:
        self.parts.model.set_dropout(factors.dropout, self.parts.full_dropout[1] * factors.dropout_fraction)
        lr = lr_at(self.step, self.parts.config.optim)
        for group in self.parts.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        return lr

    def _window_targets(self, window: list[MicroBatch], tasks: list[str]) -> dict[str, float]:
        local = torch.zeros(len(tasks), dtype=torch.float64)
        for batch in window:
            for task, n in count_targets(batch).items():
                local[tasks.index(task)] += n
        total = all_reduce_sum(local.to(self.parts.ctx.device)).cpu()
        return {task: float(total[i]) for i, task in enumerate(tasks)}

    def _forward_backward(self, batch: MicroBatch, targets: dict[str, float], last: bool) -> TaskSums:
        parts = self.parts
        nlu, dlm = batch.to(parts.ctx.device)
        dtype = autocast_dtype(parts.config.runtime.precision, parts.ctx.device)
        sync = contextlib.nullcontext() if last or parts.no_sync is None else parts.no_sync()
        with sync:
            with torch.autocast(
                parts.ctx.device.type, dtype=dtype or torch.float32, enabled=dtype is not None
            ):
                sums, mems = parts.wrapped(nlu, dlm, self.mems)
            self.mems = None if mems is None else mems.map(torch.Tensor.detach)
            self._check_finite(sums)
            loss: torch.Tensor = window_loss(sums, targets, parts.ctx.world_size)
            loss.backward()  # type: ignore[no-untyped-call]
        result: TaskSums = sums
        return result

    def _check_finite(self, sums: TaskSums) -> None:
        values = torch.stack([loss.detach().float() for loss in sums.loss.values()])
        finite = torch.isfinite(all_reduce_sum(values.clone()))
        if not bool(finite.all()):
            task = list(sums.loss)[int((~finite).nonzero()[0])]
            raise TrainingDivergedError(
                f"step {self.step}: the {task} loss is {float(values[list(sums.loss).index(task)])} (NaN/inf); "
                "stopping without an update (the last checkpoint is the last good state)"
            )

    def train_step(self) -> dict[str, float]:
        """One optimizer step; returns the step's per-task mean losses and counters (global)."""
        parts, cfg = self.parts, self.parts.config
        factors = self.factors()
        lr = self._apply_factors(factors)
        window = [parts.data.next(factors.batch_size, factors.seq_len) for _ in range(cfg.optim.grad_accum)]
        tasks: list[str] = [*parts.data.tasks]
        targets = self._window_targets(window, tasks)
        loss_sum = torch.zeros(len(tasks), dtype=torch.float64, device=parts.ctx.device)
        for i, batch in enumerate(window):
            sums = self._forward_backward(batch, targets, last=i == len(window) - 1)
            for task, loss in sums.loss.items():
                loss_sum[tasks.index(task)] += loss.detach().double()
        if cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(parts.objective.parameters(), cfg.optim.grad_clip)
        parts.optimizer.step()
        parts.optimizer.zero_grad(set_to_none=True)
        reduced = all_reduce_sum(
            torch.cat(
                [
                    loss_sum,
                    torch.tensor(
                        [float(sum(b.tokens for b in window))], dtype=torch.float64, device=parts.ctx.device
                    ),
                ]
            )
        ).cpu()
        out = {f"loss/{t}": float(reduced[i]) / max(1.0, targets[t]) for i, t in enumerate(tasks)}
        out["loss"] = sum(out[f"loss/{t}"] for t in tasks)
        out.update(lr=lr, tokens=float(reduced[-1]), seq_len=factors.seq_len, batch_size=factors.batch_size)
        self.step += 1
        self.tokens_seen += int(reduced[-1])
        self.step_losses.append(out["loss"])
        return out

    # ---- the loop ------------------------------------------------------------------------------------
    def _log(self, out: dict[str, float]) -> None:
        for key, value in out.items():
            self._interval[key] = self._interval.get(key, 0.0) + value
        self._interval["steps"] = self._interval.get("steps", 0.0) + 1
        if self.step % self.parts.config.log.interval and self.step != self.parts.config.optim.max_steps:
            return
        now = time.perf_counter()
        wall = now - self._interval_start
        n = self._interval.pop("steps")
        record: dict[str, Any] = {"step": self.step, "loss": self._interval["loss"] / n}
        record.update({k: v / n for k, v in self._interval.items() if k.startswith("loss/")})
        record.update(
            lr=out["lr"],
            tokens_per_s=self._interval["tokens"] / max(wall, 1e-9),
            seq_len=int(out["seq_len"]),
            batch_size=int(out["batch_size"]),
            pad_fraction=round(self.parts.data.collator.pad_stats.pad_fraction, 4),
            elapsed_s=round(self.elapsed_s, 3),
            tokens_seen=self.tokens_seen,
            mem_len=self.mems.length if self.mems is not None else 0,
            **{f"dropped/{t}": n for t, n in self.parts.data.dropped_rows().items()},
        )
        if self.parts.ctx.rank == 0:
            logger.info(format_line(record, self.parts.config.optim.max_steps))
        self.parts.metrics.write(record)
        self._interval = {}
        self._interval_start = now

    def fit(self) -> None:
        """Train until ``optim.max_steps``, evaluating and checkpointing at their intervals."""
        cfg = self.parts.config
        last = cfg.optim.max_steps
        self._interval_start = time.perf_counter()
        while self.step < last:
            start = time.perf_counter()
            out = self.train_step()
            self.elapsed_s += time.perf_counter() - start
            if not math.isfinite(out["loss"]):
                raise TrainingDivergedError(f"step {self.step}: total loss {out['loss']}")
            self._log(out)
            at_end = self.step == last
            paused = time.perf_counter()
            if (
                self.parts.evaluator is not None
                and cfg.eval.interval
                and (self.step % cfg.eval.interval == 0 or at_end)
            ):
                record = {"step": self.step, "kind": "eval", **self.parts.evaluator(self.step)}
                self.parts.metrics.write(record)
            if self.step % cfg.checkpoint.interval == 0 or at_end:
                self.parts.checkpointer(self)
            self._interval_start += time.perf_counter() - paused  # tokens/s counts training time only
        if self.parts.ctx.rank == 0:
            self._log_summary()

    def _log_summary(self) -> None:
        """One line comparing each task's mean loss over the first and the last quarter of the run."""
        train = [r for r in read_metrics(self.parts.run_dir) if "kind" not in r]
        if len(train) < 2:
            return
        # Means over the first and the last quarter of the logged intervals (single intervals are noisy).
        part = max(1, len(train) // 4)
        head, tail = train[:part], train[-part:]
        tasks = [k for k in head[0] if k.startswith("loss/") and all(k in r for r in head + tail)]

        def mean(records: list[dict[str, Any]], key: str) -> float:
            return float(sum(r[key] for r in records)) / len(records)

        change = ", ".join(f"{k[5:]} {mean(head, k):.3f} -> {mean(tail, k):.3f}" for k in tasks)
        logger.info(
            "mean training loss, steps %d-%d -> %d-%d: %s",
            head[0]["step"],
            head[-1]["step"],
            tail[0]["step"],
            tail[-1]["step"],
            change,
        )
