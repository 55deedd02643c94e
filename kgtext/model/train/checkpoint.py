"""Atomic training checkpoints: ``RUN_DIR/checkpoints/step-XXXXXXXX/``, the last K kept.

A checkpoint directory holds ``model.pt`` (:func:`kgtext.model.checkpoint.model_payload`: config + state dict),
``trainer.pt`` (optimizer state, step, train config, data position, corpus identity, counters), one
``rank-XXXXX.pt`` per process (torch RNG state and the DLM memory of that rank's streams) and
``meta.json`` listing the sha256 of every file. It is written under a temporary name and renamed into
place, so a crash never leaves a half checkpoint under a real name; :func:`find_resumable` re-hashes
the files and falls back to the previous checkpoint when one is corrupt. Everything is loaded with
``torch.load(weights_only=True)``, and :func:`load_part` checks the shape of what it read: a file whose
hash matches but whose content is not what kgtext writes (``trainer.pt`` = ``{}``, a pickle naming a
global) is a one-line ValueError naming the file. A failed write (a full disk) is a
:class:`kgtext.model.files.WriteError` naming the file and the free space, and removes the temporary
checkpoint directory. A resumed run keeps the checkpoint's model: :func:`override_problem` names a
``--set model.*`` that asks for another value (it would be recorded in ``config.json`` but not used).

A **sharded** checkpoint (FSDP with ``checkpoint.sharded``; ``"layout": "sharded"`` in ``meta.json``) holds
the model and optimizer tensors in ``sharded/`` instead, a DCP folder every rank writes its shards into
(:mod:`kgtext.model.sharded`); ``model.pt`` then holds only the model config and where its weights are
(:func:`kgtext.model.checkpoint.sharded_payload`), ``trainer.pt`` the optimizer's param groups but not its state.
``meta.json`` lists the DCP files too (``sharded/.metadata``, ``sharded/__R_0.distcp``), and a sharded
checkpoint is only sound when every file DCP's index refers to is listed and intact.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from kgtext.corpus.shards import sha256_file
from kgtext.model.checkpoint import SHARDED as SHARDED_STATE
from kgtext.model.config import ModelConfig
from kgtext.model.files import WriteError, read_torch_file, save_torch_file, write_error
from kgtext.model.sharded import METADATA, SafeFileSystemReader

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
    path = target / rank_file(rank)
    try:
        target.mkdir(parents=True, exist_ok=True)
        save_torch_file(payload, path)
    except OSError as err:
        path.unlink(missing_ok=True)
        raise err if isinstance(err, WriteError) else write_error(path, err) from None


def finalize(
    run_dir: Path, step: int, model_payload: dict[str, Any], trainer: dict[str, Any], keep: int
) -> Path:
    """Rank 0, after every rank saved its part: write model + trainer state, hash, rename, prune.

    A failed write removes the temporary directory and raises :class:`kgtext.model.checkpoint.WriteError`
    (the previous checkpoints are untouched)."""
    target = tmp_dir(run_dir, step)
    try:
        _write_parts(target, step, model_payload, trainer)
    except OSError as err:
        shutil.rmtree(target, ignore_errors=True)
        raise err if isinstance(err, WriteError) else write_error(target, err) from None
    final = run_dir / CHECKPOINTS / step_dir_name(step)
    if final.exists():
        shutil.rmtree(final)
    os.replace(target, final)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    logger.info("saved checkpoint %s", final)
    return final


def _write_parts(target: Path, step: int, model_payload: dict[str, Any], trainer: dict[str, Any]) -> None:
    """Model and trainer files, ``meta.json`` with every file's sha256, all fsync-ed (into ``target``)."""
    target.mkdir(parents=True, exist_ok=True)
    save_torch_file(model_payload, target / MODEL)
    save_torch_file(trainer, target / TRAINER)
    layout = "sharded" if SHARDED_STATE in model_payload else "full"
    files = {name: sha256_file(target / name) for name in _file_names(target) if name != META}
    meta = {"step": step, "layout": layout, "files": files}
    try:
        (target / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        raise write_error(target / META, err) from None
    for name in _file_names(target):
        with open(target / name, "rb") as handle:
            os.fsync(handle.fileno())


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


FIELDS: dict[str, type | tuple[type, ...]] = {
    "step": int,
    "optimizer": dict,
    "train_config": dict,
    "data": dict,
    "corpus": dict,
    "tokens_seen": int,
    "elapsed_s": (int, float),
    "config": dict,
    "state_dict": dict,
    "rng": torch.Tensor,
    "mems": (type(None), list, dict),
}
"""The type of every field a checkpoint file holds (``trainer.pt``: step ... elapsed_s; ``model.pt``: config,
state_dict; ``rank-*.pt``: rng, mems), as :func:`kgtext.model.train.setup.save_checkpoint` writes them."""
TRAINER_FIELDS = ("step", "optimizer", "train_config", "data", "corpus", "tokens_seen", "elapsed_s")
RANK_FIELDS = ("rng", "mems")


def content_problem(payload: Any, keys: tuple[str, ...]) -> str | None:
    """Why a checkpoint file's content is not what kgtext writes: not a dict, or one of ``keys`` missing or
    of the wrong type (see :data:`FIELDS`); None when it is right."""
    if not isinstance(payload, dict):
        return f"not a checkpoint dict (a {type(payload).__name__})"
    for key in keys:
        if key not in payload:
            return f"lacks {key!r}"
        if not isinstance(payload[key], FIELDS[key]) or isinstance(payload[key], bool):
            return f"{key!r} is a {type(payload[key]).__name__}"
    if "corpus" in keys:
        corpus = payload["corpus"]
        if not isinstance(corpus.get("tokenizer"), str) or not isinstance(corpus.get("shards"), dict):
            return "'corpus' lacks the tokenizer and shard hashes"
    return None


def load_part(path: Path, name: str, *keys: str) -> dict[str, Any]:
    """One file of a checkpoint directory (weights_only: plain tensors and Python values only), holding
    ``keys`` with their types (:func:`content_problem`); every problem is a one-line ValueError naming the
    file (a pickle naming a global, a truncated file, ``{}`` where a trainer state should be ...)."""
    return check_part(path, name, read_torch_file(path / name, "cpu"), *keys)


def check_part(path: Path, name: str, payload: Any, *keys: str) -> dict[str, Any]:
    """``payload`` (read from ``path / name``) if it holds ``keys`` with their types, else the one-line
    ValueError of :func:`load_part`."""
    problem = content_problem(payload, keys)
    if problem is not None:
        raise ValueError(f"{path / name}: not a kgtext checkpoint file: {problem}")
    result: dict[str, Any] = payload
    return result


def override_problem(saved: ModelConfig, overrides: dict[str, Any]) -> str | None:
    """Why ``model.*`` overrides cannot apply to a resumed model: the first key whose requested value
    differs from the checkpoint's (a resumed run keeps the checkpoint's model), or None."""
    for name, value in sorted(overrides.items()):
        have = getattr(saved, name)
        have_plain = have.value if isinstance(have, enum.Enum) else have
        want_plain = value.value if isinstance(value, enum.Enum) else value
        if have_plain != want_plain or isinstance(have_plain, bool) != isinstance(want_plain, bool):
            return (
                f"--set model.{name}={_text(want_plain)} differs from the checkpoint's model.{name}="
                f"{_text(have_plain)}; a resumed run keeps the checkpoint's model (start a new run to change it)"
            )
    return None


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
