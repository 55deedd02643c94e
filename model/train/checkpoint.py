"""Atomic training checkpoints: ``RUN_DIR/checkpoints/step-XXXXXXXX/``, the last K kept.

A checkpoint directory holds ``model.pt`` (:func:`model.checkpoint.model_payload`: config + state dict),
``trainer.pt`` (optimizer state, step, train config, data position, corpus identity, counters), one
``rank-XXXXX.pt`` per process (torch RNG state and the DLM memory of that rank's streams) and
``meta.json`` listing the sha256 of every file. It is written under a temporary name and renamed into
place, so a crash never leaves a half checkpoint under a real name; :func:`find_resumable` re-hashes
the files and falls back to the previous checkpoint when one is corrupt. Everything is loaded with
``torch.load(weights_only=True)``.

A **sharded** checkpoint (FSDP with ``checkpoint.sharded``; ``"layout": "sharded"`` in ``meta.json``) holds
the model and optimizer tensors in ``sharded/`` instead, a DCP folder every rank writes its shards into
(:mod:`model.sharded`); ``model.pt`` then holds only the model config and where its weights are
(:func:`model.checkpoint.sharded_payload`), ``trainer.pt`` the optimizer's param groups but not its state.
``meta.json`` lists the DCP files too (``sharded/.metadata``, ``sharded/__R_0.distcp``), and a sharded
checkpoint is only sound when every file DCP's index refers to is listed and intact.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from corpus.shards import sha256_file
from model.checkpoint import SHARDED as SHARDED_STATE
from model.sharded import METADATA, SafeFileSystemReader

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
META = "meta.json"
MODEL = "model.pt"
TRAINER = "trainer.pt"
SHARDED = "sharded"
"""The DCP folder of a sharded checkpoint (model and optimizer tensors, every rank's shards)."""


def rank_file(rank: int) -> str:
    return f"rank-{rank:05d}.pt"


def step_dir_name(step: int) -> str:
    return f"step-{step:08d}"


def tmp_dir(run_dir: Path, step: int) -> Path:
    """The temporary directory every rank writes its part of checkpoint ``step`` into."""
    return run_dir / CHECKPOINTS / f".tmp-{step_dir_name(step)}"


def save_rank_part(run_dir: Path, step: int, rank: int, payload: dict[str, Any]) -> None:
    """Write one rank's file (RNG state, DLM memory) into the temporary checkpoint directory."""
    target = tmp_dir(run_dir, step)
    target.mkdir(parents=True, exist_ok=True)
    torch.save(payload, target / rank_file(rank))


def finalize(
    run_dir: Path, step: int, model_payload: dict[str, Any], trainer: dict[str, Any], keep: int
) -> Path:
    """Rank 0, after every rank saved its part: write model + trainer state, hash, rename, prune."""
    target = tmp_dir(run_dir, step)
    target.mkdir(parents=True, exist_ok=True)
    torch.save(model_payload, target / MODEL)
    torch.save(trainer, target / TRAINER)
    layout = "sharded" if SHARDED_STATE in model_payload else "full"
    files = {name: sha256_file(target / name) for name in _file_names(target) if name != META}
    meta = {"step": step, "layout": layout, "files": files}
    (target / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    for name in _file_names(target):
        with open(target / name, "rb") as handle:
            os.fsync(handle.fileno())
    final = run_dir / CHECKPOINTS / step_dir_name(step)
    if final.exists():
        shutil.rmtree(final)
    os.replace(target, final)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    logger.info("saved checkpoint %s", final)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoint directories, oldest first (temporary directories are ignored)."""
    root = run_dir / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))


def problem_of(path: Path, world_size: int) -> str | None:
    """Why checkpoint directory ``path`` cannot be resumed from (None when it is sound)."""
    meta_path = path / META
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        files = dict(meta["files"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"unreadable {META} ({err})"
    needed = [MODEL, TRAINER] + [rank_file(r) for r in range(world_size)]
    for name in needed:
        if name not in files:
            return f"has no {name} (saved by a run with another number of processes?)"
    for name, digest in files.items():
        file = path / name
        if not file.is_file():
            return f"{name} is missing"
        if sha256_file(file) != digest:
            return f"{name} is corrupt (sha256 differs from {META})"
    if meta.get("layout") == "sharded":
        return _sharded_problem(path, files)
    return None


def _sharded_problem(path: Path, files: dict[str, str]) -> str | None:
    """Why the DCP folder of a sharded checkpoint is incomplete (its files are already hash-checked)."""
    index = f"{SHARDED}/{METADATA}"
    if index not in files:
        return f"has no {index}"
    try:
        metadata = SafeFileSystemReader(path / SHARDED).read_metadata()
    except (OSError, ValueError) as err:
        return f"{index} is unreadable ({type(err).__name__}: {err})"
    referred = sorted({f"{SHARDED}/{info.relative_path}" for info in (metadata.storage_data or {}).values()})
    unlisted = [name for name in referred if name not in files]
    if unlisted:
        return f"{index} refers to {unlisted[0]}, which {META} does not list"
    return None


def _file_names(folder: Path) -> list[str]:
    """Every file under ``folder``, as a ``/``-separated path relative to it, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def find_resumable(run_dir: Path, world_size: int) -> Path | None:
    """The newest sound checkpoint; corrupt ones are reported and skipped (the previous one is used)."""
    for path in reversed(list_checkpoints(run_dir)):
        problem = problem_of(path, world_size)
        if problem is None:
            return path
        logger.warning("checkpoint %s: %s; trying the previous one", path, problem)
    return None


def load_part(path: Path, name: str) -> dict[str, Any]:
    """One file of a checkpoint directory (weights_only: plain tensors and Python values only)."""
    payload = torch.load(path / name, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict):
        raise ValueError(f"{path / name}: not a checkpoint dict")
    return payload
