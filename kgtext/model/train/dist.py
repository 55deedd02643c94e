"""Process-group helpers: who am I, reductions, and wrapping the objective for DDP or FSDP.

One process (no ``torchrun``) is world size 1 and every helper is a no-op. Under ``torchrun`` the trainer
uses gloo on CPU and NCCL on CUDA. DDP runs with ``find_unused_parameters=True`` by default so that a
micro-batch which leaves a module unused (an NLU-only step never touches the NLG stack) still reduces
(docs/TRAINING.md weighs the cost). FSDP uses FSDP2 ``fully_shard`` on every Transformer-XL layer and
then on the whole model; checkpoints are either full (unsharded) state dicts gathered on the CPU
(:func:`full_state`) or, with ``checkpoint.sharded``, every rank's own shards written and read with
``torch.distributed.checkpoint`` (:func:`save_sharded`, :func:`load_sharded`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, NamedTuple, cast

import torch
import torch.distributed as dist
from torch import nn

from kgtext.model.sharded import load_tensors, save_tensors, stored_keys
from kgtext.model.train.config import Parallel, RuntimeConfig

logger = logging.getLogger(__name__)


class DistContext(NamedTuple):
    """This process's place in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device


def init_distributed(runtime: RuntimeConfig) -> DistContext:
    """Join the ``torchrun`` process group if there is one; choose the device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = runtime.device == "cuda" or (runtime.device == "auto" and torch.cuda.is_available())
    if runtime.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("runtime.device is cuda but no CUDA device is available")
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    return DistContext(rank, world_size, local_rank, device)


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum over ranks (in place; returns the tensor)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def wrap(objective: nn.Module, runtime: RuntimeConfig, ctx: DistContext) -> nn.Module:
    """The module the training loop calls: the objective itself, or wrapped in DDP / sharded by FSDP."""
    if ctx.world_size == 1:
        return objective
    if runtime.parallel is Parallel.FSDP:
        from torch.distributed.fsdp import fully_shard

        for sub in objective.modules():
            if sub.__class__.__name__ == "TxlLayer":  # one FSDP unit per Transformer-XL layer
                fully_shard(sub)
        fully_shard(objective)
        return objective
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(
        objective, device_ids=device_ids, find_unused_parameters=runtime.find_unused_parameters
    )


def full_state(
    model: nn.Module, optimizer: torch.optim.Optimizer, sharded: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Unsharded model and optimizer state dicts on the CPU (collective under FSDP: call on every rank)."""
    if not sharded:
        return model.state_dict(), optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_state_dict(model, optimizer, options=options)


def load_full_state(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    model_state: dict[str, Any],
    optim_state: dict[str, Any],
    sharded: bool,
) -> None:
    """Inverse of :func:`full_state` (every rank passes the full dicts)."""
    if not sharded:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optim_state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=False)
    set_state_dict(
        model, optimizer, model_state_dict=model_state, optim_state_dict=optim_state, options=options
    )


SHARDED_MODEL_PREFIX = "model.model."
"""Where the Ernie3Model's weights are in a :func:`save_sharded` folder: under ``model`` (the objective's
state), then the objective's ``model`` attribute."""


def save_sharded(folder: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """Write this rank's shards of ``model`` and ``optimizer`` into DCP folder ``folder`` (collective).

    The folder holds tensors only: ``{"model": model state, "optimizer": optimizer state per parameter}``
    (names are FQNs, so any world size can read it back). The optimizer's param groups (lr, betas, the FQNs
    of each group) are plain values: they are returned, for the caller to store beside the folder.
    """
    from torch.distributed.checkpoint.state_dict import get_state_dict

    model_state, optim_state = get_state_dict(model, optimizer)
    save_tensors({"model": model_state, "optimizer": optim_state["state"]}, folder)
    return cast(list[dict[str, Any]], optim_state["param_groups"])


def load_sharded(
    folder: Path, model: nn.Module, optimizer: torch.optim.Optimizer, param_groups: list[dict[str, Any]]
) -> None:
    """Inverse of :func:`save_sharded`: every rank reads its shards (collective under a process group)."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_state_dict,
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    # get_state_dict allocates the optimizer state of every parameter (a zero-lr step on zero gradients)
    # so DCP can fill it. A parameter that never had a gradient when the checkpoint was saved (NLU-only
    # runs never touch the NLG stack) has no state there, and gets none here either, as in the saving run
    # (so the optimizer is loaded with strict=False; the model stays strict).
    model_state, optim_state = get_state_dict(model, optimizer)
    stored = stored_keys(folder)
    saved = {
        fqn: values
        for fqn, values in cast(dict[str, Any], optim_state["state"]).items()
        if isinstance(values, dict) and all(f"optimizer.{fqn}.{name}" in stored for name in values)
    }
    state: dict[str, Any] = {"model": model_state, "optimizer": saved}
    load_tensors(state, folder, distributed=is_distributed())
    set_model_state_dict(model, state["model"])
    set_optimizer_state_dict(
        model,
        optimizer,
        {"state": state["optimizer"], "param_groups": param_groups},
        options=StateDictOptions(strict=False),
    )


def autocast_dtype(precision: Any, device: torch.device) -> torch.dtype | None:
    """bf16 for BF16, or for AUTO on a CUDA device with bf16 support; None (fp32) otherwise."""
    value = getattr(precision, "value", precision)
    if value == "bf16":
        return torch.bfloat16
    if value == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def all_ranks_agree(ok: bool, device: torch.device) -> bool:
    """True when ``ok`` is True on every rank (collective under a process group: every rank calls it)."""
    if not is_distributed():
        return ok
    failures = all_reduce_sum(torch.tensor([0.0 if ok else 1.0], device=device))
    return float(failures.item()) == 0.0
