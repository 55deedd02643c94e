"""Periodic evaluation on the corpus's ``valid`` split: per-task loss, accuracy and trivial baselines, DLM
perplexity, representation health, and per-task gradient norms on a fixed train micro-batch.

Every evaluation reads the same rows (the split in file order, no shuffling, masks drawn with epoch 0), at
the full sequence length and batch size, with dropout off, so numbers are comparable across steps. Each NLU
task is read alone, in batches of its share of ``data.batch_size``: ``batches`` such batches, or the whole
split when ``batches`` is None, and never a row twice (a split smaller than that is read once; under data
parallelism the last ``world_size - 1`` rows may be left out so every rank gets rows). DLM reads ``batches``
micro-batches of its ``data.dlm_streams`` stream segments, or all of them, stopping before the first
segment that would reach a document of the split's second pass (so no token is scored twice, and the last
partial segments of the streams are not scored; at least one micro-batch is). ``kgtext evaluate`` reports
whole documents apart. Accuracy is masked-token accuracy for kmlm and uktp (for uktp the relation tokens
when the relation is masked, otherwise sentence words), class accuracy for sr and sd, and next-token
accuracy for dlm.

Beside each task, over exactly the targets it scored (:mod:`kgtext.model.train.baselines`): ``baseline_accuracy``
(most frequent piece or class; sr/sd also as ``chance``), ``unigram_loss`` (dlm also
``unigram_perplexity``), the one-sided 95% ``lower_bound`` of the accuracy, ``rows`` and ``targets``.

``grad_norm/<task>`` and ``grad_norm/<task>/<group>`` (:class:`GradNormProbe`): the L2 norm of the gradient
of each task's mean loss alone, overall and per module group, on one fixed train micro-batch.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks.task import CLASS_TASKS, NLU_TASKS, TOKEN_TASKS, Task
from kgtext.model.data.batch import IGNORE, DlmBatch, NluBatch
from kgtext.model.data.config import DataConfig
from kgtext.model.data.mixture import MicroBatch, PretrainData, split_batch
from kgtext.model.data.source import FILTERED_TASKS, TaskSource
from kgtext.model.train.baselines import frequency_baseline, wilson_lower_bound
from kgtext.model.train.dist import DistContext, all_reduce_sum
from kgtext.model.train.health import HealthProbe, collapse_warning

logger = logging.getLogger(__name__)

CHANCE_CLASSES = 64
"""Class ids counted for the chance level (SR has 9 classes at the default 3 segments, SD 3)."""
GROUPS = ("embed", "universal", "nlu", "nlg")
"""Module groups of the gradient norms, by the parameter name's first part; every other part is "heads"
(:class:`kgtext.model.ernie.Ernie3Model`: mlm_head, lm_head, cls_heads; the output projection tied to the word
embedding counts as embed)."""


def usable_split_rows(source: TaskSource) -> int:
    """Rows of the source's split that its task trains on (SR: rows with >= 2 segments)."""
    if Task(source.task) not in FILTERED_TASKS:
        return source.num_rows
    total = 0
    for shard, info in enumerate(source.shard_infos):
        usable = source.cache.usable(shard) if info.rows else None
        total += info.rows if usable is None else int(usable.sum())
    return total


class _Tally:
    """Per-task sums of one evaluation on this rank: loss, targets, hits, rows, and target counts."""

    def __init__(self, tasks: Sequence[Task], vocab_size: int) -> None:
        self.tasks = list(tasks)
        self.sums = torch.zeros(4, len(tasks), dtype=torch.float64)  # loss, targets, correct, rows
        self.counts = {
            t: torch.zeros(CHANCE_CLASSES if t in CLASS_TASKS else vocab_size, dtype=torch.float64)
            for t in tasks
        }

    def add(self, task: Task, sums: Any, labels: Tensor, rows: int) -> None:
        """One forward's ``TaskSums`` for ``task``; ``labels``: its scored targets on the CPU (1-D)."""
        i = self.tasks.index(task)
        self.sums[:, i] += torch.tensor(
            [float(sums.loss[task]), float(sums.targets[task]), float(sums.correct[task]), rows],
            dtype=torch.float64,
        )
        size = self.counts[task].numel()
        self.counts[task] += torch.bincount(labels, minlength=size)[:size].double()

    def figures(self, device: torch.device) -> dict[str, Any]:
        """``eval/<task>/...`` over all ranks (collective: every rank calls it)."""
        sums = all_reduce_sum(self.sums.to(device)).cpu()
        out: dict[str, Any] = {}
        for i, task in enumerate(self.tasks):
            targets = float(sums[1, i])
            n = max(1.0, targets)
            accuracy = float(sums[2, i]) / n
            counts = all_reduce_sum(self.counts[task].to(device)).cpu()
            base = frequency_baseline(counts.tolist())
            out[f"eval/{task}/loss"] = float(sums[0, i]) / n
            out[f"eval/{task}/accuracy"] = accuracy
            out[f"eval/{task}/baseline_accuracy"] = base.accuracy
            out[f"eval/{task}/unigram_loss"] = base.unigram_loss
            out[f"eval/{task}/lower_bound"] = wilson_lower_bound(accuracy, targets)
            out[f"eval/{task}/rows"] = int(sums[3, i])
            out[f"eval/{task}/targets"] = int(targets)
            if task in CLASS_TASKS:
                out[f"eval/{task}/chance"] = base.accuracy
            if task == Task.DLM:
                out["eval/dlm/perplexity"] = math.exp(min(out["eval/dlm/loss"], 50.0))
                out["eval/dlm/unigram_perplexity"] = math.exp(min(base.unigram_loss, 50.0))
        return out


def module_group(name: str) -> str:
    """The gradient-norm group of a parameter of the model (``universal.layers.0.attn.qkv.weight``)."""
    top = name.split(".", 1)[0]
    return top if top in GROUPS else "heads"


Named = list[tuple[str, nn.Parameter]]
"""(group, parameter) of every trainable parameter of the model."""


def _squares_by_grad(loss: Tensor, named: Named) -> dict[str, float]:
    """Squared gradient norm per group, by ``torch.autograd.grad`` (gradients summed over ranks)."""
    grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
    squares: dict[str, float] = {}
    for (group, _), grad in zip(named, grads, strict=True):
        if grad is not None:
            squares[group] = squares.get(group, 0.0) + float(all_reduce_sum(grad).double().pow(2).sum())
    return squares


def _squares_by_backward(loss: Tensor, named: Named, world_size: int) -> dict[str, float]:
    """The same under FSDP, whose sharded parameters autograd cannot reach: an ordinary backward (FSDP
    reduce-scatters the average over ranks, hence ``* world_size``), the squares of the local shards summed
    over ranks, and every ``.grad`` put back as it was."""
    saved = [p.grad for _, p in named]
    groups = [*GROUPS, "heads"]
    local = torch.zeros(2, len(groups), dtype=torch.float64, device=loss.device)  # squares, present
    try:
        for _, p in named:
            p.grad = None
        (loss * world_size).backward()  # type: ignore[no-untyped-call]
        for group, p in named:
            if p.grad is not None:
                shard = p.grad.to_local() if hasattr(p.grad, "to_local") else p.grad  # a DTensor's shard
                local[0, groups.index(group)] += shard.double().pow(2).sum()
                local[1, groups.index(group)] = 1.0
    finally:
        for (_, p), grad in zip(named, saved, strict=True):
            p.grad = grad
    total = all_reduce_sum(local).cpu()
    return {g: float(total[0, i]) for i, g in enumerate(groups) if total[1, i] > 0}


class GradNormProbe:
    """``probe(objective, ctx) -> {"grad_norm/<task>": ..., "grad_norm/<task>/<group>": ...}``.

    For one fixed micro-batch (this rank's part of it), the gradient of each task's mean loss alone, in eval
    mode (no dropout, so the figure depends on the weights only and is comparable across evaluations), taken
    with ``torch.autograd.grad`` on the unwrapped objective: no DDP hook fires and no ``.grad`` is touched.
    Under data parallelism each rank's gradient (its rows' loss sum over all ranks' targets) is summed over
    ranks, so the figures do not depend on the world size. Under FSDP (:func:`fsdp_units`) an ordinary backward
    through the sharded objective instead (:func:`_squares_by_backward`). A group a task's loss does not
    reach has no key.
    """

    def __init__(self, batch: MicroBatch) -> None:
        self.batch = batch

    def __call__(self, objective: nn.Module, ctx: DistContext) -> dict[str, float]:
        inner = getattr(objective, "module", objective)  # a DDP wrapper's module; the objective itself
        model = getattr(inner, "model", inner)
        units = fsdp_units(inner)
        for unit in units:  # FSDP registers the gathered tensors while a unit is unsharded: take the shards
            unit.reshard()
        named = [(module_group(n), p) for n, p in model.named_parameters() if p.requires_grad]
        nlu, dlm = self.batch.to(ctx.device)
        tasks = list(nlu) + ([Task.DLM] if dlm is not None else [])
        was_training = inner.training
        inner.eval()
        out: dict[str, float] = {}
        try:
            for task in tasks:
                with torch.enable_grad():
                    sums, _ = inner(
                        {task: nlu[task]} if task in nlu else {}, dlm if task == Task.DLM else None, None
                    )
                    targets = all_reduce_sum(sums.targets[task].detach().double().reshape(1))
                    loss = sums.loss[task] / float(targets.clamp(min=1))
                    if units:
                        squares = _squares_by_backward(loss, named, ctx.world_size)
                    else:
                        squares = _squares_by_grad(loss, named)
                out[f"grad_norm/{task}"] = math.sqrt(sum(squares.values()))
                out.update({f"grad_norm/{task}/{g}": math.sqrt(v) for g, v in squares.items()})
        finally:
            inner.train(was_training)
        return out


def fsdp_units(objective: nn.Module) -> list[Any]:
    """The modules of ``objective`` that FSDP's ``fully_shard`` sharded (none outside a process group)."""
    if not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return []
    from torch.distributed.fsdp import FSDPModule

    return [m for m in objective.modules() if isinstance(m, FSDPModule)]


class Evaluator:
    """``evaluator(step) -> {"eval/<task>/loss": ..., "eval/<task>/accuracy": ..., ...}`` (module docstring)."""

    def __init__(
        self,
        reader: CorpusReader,
        config: DataConfig,
        tasks: Sequence[str],
        objective: nn.Module,
        ctx: DistContext,
        *,
        batches: int | None,
        seq_len: int,
        split: str = "valid",
        health: HealthProbe | None = None,
        grad_norms: bool = True,
    ) -> None:
        self.reader = reader
        self.config = config
        self.split = split
        self.tasks = [t for t in tasks if sum(s.rows for s in reader.shards(t, split)) > 0]
        self.objective = objective
        self.ctx = ctx
        self.batches = batches
        """Batches per task (DLM: micro-batches of stream segments), or None for the whole split."""
        self.seq_len = seq_len
        self.health = health
        """Representation health of the wrapped model on fixed probe rows (``eval/health/...``), or None."""
        self.grad_norms = grad_norms
        """Per-task gradient norms on the first train micro-batch (``eval/grad_norm/...``)."""
        self._grad_probe: GradNormProbe | None = None
        self._warned = False
        """Whether the collapse warning was logged (once per run)."""
        tok = reader.manifest.tokenizer
        self.vocab_size = tok.vocab_size if tok is not None else 0
        if not self.tasks:
            logger.warning("corpus has no %s rows for the trained tasks: evaluation is off", split)

    def _nlu_batches(self, data: PretrainData, task: Task) -> Iterator[NluBatch]:
        """This rank's part of each evaluation batch of ``task`` (the module docstring says which rows)."""
        source = data.batches[task].source
        rows = split_batch(self.config.batch_size, data.weights, self.ctx.world_size)[task]
        limit = usable_split_rows(source)
        if self.batches is not None:
            limit = min(limit, self.batches * rows)
        limit -= limit % self.ctx.world_size
        taken = 0
        while taken < limit:
            refs = source.take(min(rows, limit - taken))
            taken += len(refs)
            refs.sort(key=lambda r: (r.num_tokens, r.epoch, r.row_index))  # as BucketedBatches cuts a batch
            mine = refs[self.ctx.rank :: self.ctx.world_size]
            yield data.collator.collate(task, source.cache.rows(mine, task), mine, self.seq_len)

    def _dlm_batches(self, data: PretrainData) -> Iterator[DlmBatch]:
        """This rank's streams of each evaluated DLM micro-batch (stops before the split's second pass)."""
        streams = data.dlm
        assert streams is not None
        count = 0
        while self.batches is None or count < self.batches:
            segments = streams.next_segments(self.seq_len)
            if count and streams.queue[0] > 0:  # a document of epoch 1 reached this micro-batch
                return
            part = slice(self.ctx.rank, None, self.ctx.world_size)
            yield DlmBatch(torch.from_numpy(segments.inputs[part]), torch.from_numpy(segments.targets[part]))
            count += 1

    def _score(self, data: PretrainData) -> _Tally:
        """Every evaluated batch through the objective (no grad, eval mode)."""
        tally = _Tally(data.tasks, self.vocab_size)
        device = self.ctx.device
        with torch.no_grad():
            for task in (t for t in data.tasks if t in NLU_TASKS):
                for batch in self._nlu_batches(data, task):
                    nlu, _ = MicroBatch({task: batch}, None, 0).to(device)
                    sums, _ = self.objective(nlu, None, None)
                    if task in TOKEN_TASKS:
                        scored = batch.labels != IGNORE
                        tally.add(task, sums, batch.labels[scored], int(scored.any(1).sum()))
                    else:
                        tally.add(task, sums, batch.labels, batch.labels.numel())
            if data.dlm is not None:
                mems = None
                for dlm in self._dlm_batches(data):
                    sums, mems = self.objective(
                        {}, DlmBatch(dlm.inputs.to(device), dlm.targets.to(device)), mems
                    )
                    tally.add(Task.DLM, sums, dlm.targets.reshape(-1), dlm.targets.size(0))
        return tally

    def _grad_norms(self) -> dict[str, Any]:
        """``eval/grad_norm/...`` on the first train micro-batch (built at the first call, then kept)."""
        if not self.grad_norms:
            return {}
        if self._grad_probe is None:
            tasks = [t for t in self.tasks if sum(s.rows for s in self.reader.shards(t, "train")) > 0]
            if not tasks:
                self.grad_norms = False
                return {}
            train = PretrainData(
                self.reader,
                self.config,
                tasks,
                split="train",
                rank=self.ctx.rank,
                world_size=self.ctx.world_size,
                shuffle=False,
            )
            self._grad_probe = GradNormProbe(train.next(self.config.batch_size, self.seq_len))
        return {f"eval/{k}": v for k, v in self._grad_probe(self.objective, self.ctx).items()}

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
        model = self.objective
        was_training = model.training
        model.eval()
        try:
            tally = self._score(data)
        finally:
            model.train(was_training)
        out = tally.figures(self.ctx.device)
        for name, dropped in data.dropped_rows().items():
            out[f"eval/{name}/dropped"] = dropped
        if self.health is not None:
            wrapped = getattr(model, "model", model)
            out.update({f"eval/{key}": value for key, value in self.health(wrapped).items()})
            warning = collapse_warning(out, step)
            if warning and not self._warned and self.ctx.rank == 0:
                logger.warning(warning)
                self._warned = True
        out.update(self._grad_norms())
        if self.ctx.rank == 0:
            shown = " ".join(
                f"{k[5:]} {v:.3f}" if isinstance(v, float) else f"{k[5:]} {v}"
                for k, v in out.items()
                if k.endswith(("/loss", "/accuracy", "/baseline_accuracy", "/rows"))
            )
            logger.info("eval step %d: %s", step, shown)
        return out
