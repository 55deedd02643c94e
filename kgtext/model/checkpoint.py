"""Model checkpoints: an Ernie3Model <-> a ``.pt`` file, a sharded (DCP) checkpoint or an export folder.

The ``.pt`` file is a dict of plain values and tensors (never a pickled module), read with
``torch.load(weights_only=True)``::

    {"format": "kgtext-ernie3", "format_version": 1, "config": ModelConfig.to_dict(), "state_dict": {...}}

``model_payload`` / ``model_from_payload`` expose the same dict so a trainer checkpoint can nest it next to
optimizer state. A **sharded** checkpoint (the trainer under FSDP) has the same file without ``state_dict``
and with ``"sharded_state_dict": {"path": "sharded", "prefix": "model.model."}`` instead: the weights are the
keys ``prefix + name`` of the DCP folder ``path`` beside the file (:mod:`kgtext.model.sharded`).

An **export folder** (``kgtext export-model``) needs neither torch's pickle format nor kgtext to read::

    config.json          {"format": "kgtext-ernie3-export", "format_version": 1, "kgtext_version": ...,
                          "model": ModelConfig.to_dict(), "aliases": {name: stored name}, ...}
    model.safetensors    the state dict, each tensor once (safetensors refuses shared storage)

Shared tensors: names whose tensors are the same view of one storage (``shared_task_module=true`` registers
the NLU stack as ``nlg`` too) are written once, under the first of those names in state-dict order; the
others are listed in ``aliases`` and point at it again on load. Tensors that only overlap a storage
(different views; the model has none) are written as separate contiguous copies.

:func:`load_model` reads any of the three: a ``.pt`` file, an export folder, or its ``config.json`` or
``model.safetensors``. Every problem is one ValueError line naming the file: a file torch cannot read or a
pickle naming a global (:func:`kgtext.model.files.read_torch_file`), a state dict that is not a mapping of tensors
of the config's shapes and kinds (the first tensor at fault is named, not torch's list of every mismatch),
malformed ``aliases``, NaN or infinite weights. :func:`save_model` writes through
:func:`kgtext.model.files.save_torch_file`: a failed write is a :class:`kgtext.model.files.WriteError` naming the file
and, on a full disk, the free space. For fine-tuning::

    from kgtext.model.checkpoint import load_for_finetuning
    encoder = load_for_finetuning("run/model.pt", "nlu")   # Ernie3ForNlu: embeddings + universal + NLU
    hidden = encoder(input_ids, segment_ids, pad_mask)      # (B, T, d_nlu); encoder.pool(hidden) -> (B, d_nlu)
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
from torch import nn

from kgtext.model.config import ModelConfig
from kgtext.model.ernie import Ernie3Model
from kgtext.model.files import WriteError, read_torch_file, remove_temporary, save_torch_file, write_error
from kgtext.model.finetune import Paradigm, split_for_finetuning
from kgtext.model.layers import SinusoidalEncoding
from kgtext.model.sharded import load_tensors

logger = logging.getLogger(__name__)

FORMAT = "kgtext-ernie3"
FORMAT_VERSION = 1
SHARDED = "sharded_state_dict"
"""Key of a model payload whose weights are in a DCP folder beside it (instead of ``state_dict``)."""
EXPORT_FORMAT = "kgtext-ernie3-export"
EXPORT_FORMAT_VERSION = 1
EXPORT_CONFIG = "config.json"
EXPORT_WEIGHTS = "model.safetensors"


def checkpoint_payload(config: ModelConfig, state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The one model checkpoint dict: format tag and version, ``config`` as plain values, ``state_dict``.

    Every writer (:func:`model_payload`, the trainer's checkpoints) builds it here; :func:`model_from_payload`
    reads it back.
    """
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "state_dict": state_dict,
    }


def sharded_payload(config: ModelConfig, folder: str, prefix: str) -> dict[str, Any]:
    """The model file of a sharded checkpoint: the weights are keys ``prefix + name`` of DCP folder ``folder``
    (relative to the file's folder); :func:`load_model` reads them without a process group."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        SHARDED: {"path": folder, "prefix": prefix},
    }


def model_payload(model: Ernie3Model) -> dict[str, Any]:
    """The checkpoint dict of ``model`` (state dict on its current device)."""
    return checkpoint_payload(model.config, model.state_dict())


def _check_format(payload: Any, source: str) -> None:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{source}: not a kgtext ERNIE 3.0 model checkpoint (no format={FORMAT!r})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{source}: checkpoint format_version {payload.get('format_version')!r}, this code reads {FORMAT_VERSION}"
        )


def _config_of(data: Any, source: str) -> ModelConfig:
    try:
        return ModelConfig.from_dict(data)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: bad model config: {err}") from err


def _reset_buffers(model: Ernie3Model, device: torch.device) -> Ernie3Model:
    """Recompute the non-persistent buffers (sinusoid frequencies) of a model built on the meta device."""
    for sub in model.modules():
        if isinstance(sub, SinusoidalEncoding):
            sub.reset_buffers(device)
    return model


def _kind(tensor: torch.Tensor) -> str:
    return f"{tensor.dtype} {list(tensor.shape)}".replace("torch.", "")


def state_problem(expected: Mapping[str, torch.Tensor], state: Any) -> str | None:
    """Why ``state`` cannot be loaded into a model whose state dict is ``expected``: the first missing,
    unexpected, non-tensor, wrongly shaped or wrongly typed (integer for floating point) tensor, or None."""
    if not isinstance(state, Mapping):
        return f"the state dict is a {type(state).__name__}, not a mapping of names to tensors"
    for name, want in expected.items():
        have = state.get(name)
        if have is None:
            missing = sum(1 for key in expected if key not in state)
            return f"it lacks tensor {name!r} ({missing} missing)"
        if not isinstance(have, torch.Tensor):
            return f"{name!r} is a {type(have).__name__}, not a tensor"
        if have.shape != want.shape or have.is_floating_point() != want.is_floating_point():
            return f"tensor {name!r} is {_kind(have)}, the model needs {_kind(want)}"
    extra = [key for key in state if key not in expected]
    if extra:
        return f"it holds tensor {str(extra[0])!r}, which the model does not have ({len(extra)} unexpected)"
    return None


def nonfinite_tensor(tensors: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding NaN or inf, or None."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def _assemble(config: ModelConfig, state: Any, source: str) -> Ernie3Model:
    """The model of ``config`` holding the tensors of ``state`` (assigned, not copied: nothing is initialised).

    Every problem is one line naming ``source`` and the first tensor at fault (a state dict of another shape
    or dtype, a non-tensor value, NaN or infinite weights)."""
    with torch.device("meta"):
        model = Ernie3Model(config)
    problem = state_problem(model.state_dict(), state)
    if problem is not None:
        raise ValueError(f"{source}: state dict does not match the stored config: {problem}")
    bad = nonfinite_tensor(state)
    if bad is not None:
        raise ValueError(f"{source}: tensor {bad!r} holds NaN or infinite values; the model is broken")
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as err:  # the checks above leave nothing known: keep the message to one line
        first = str(err).strip().splitlines()[-1].strip()
        raise ValueError(f"{source}: state dict does not match the stored config: {first}") from None
    device = next(iter(state.values())).device if state else torch.device("cpu")
    return _reset_buffers(model, device)


def model_from_payload(payload: dict[str, Any], *, source: str = "<payload>") -> Ernie3Model:
    """Rebuild the model of a ``model_payload`` dict; ``source`` names the file in error messages.

    The model is built on the meta device and the stored tensors are assigned, so nothing is
    initialised twice (a 10B model loads in the time it takes to read it).
    """
    _check_format(payload, source)
    if SHARDED in payload:
        raise ValueError(f"{source}: a sharded checkpoint's model file; read it with load_model(path)")
    missing = [key for key in ("config", "state_dict") if key not in payload]
    if missing:
        raise ValueError(f"{source}: checkpoint lacks {missing}")
    return _assemble(_config_of(payload["config"], source), payload["state_dict"], source)


def save_model(path: str | os.PathLike[str], model: Ernie3Model) -> None:
    """Write ``model`` (config + state dict) to ``path`` atomically (temp file, then rename); a failed
    write is a :class:`WriteError` and leaves no temporary file."""
    tmp = f"{os.fspath(path)}.tmp"
    try:
        save_torch_file(model_payload(model), tmp)
        os.replace(tmp, path)
    except OSError as err:
        remove_temporary(tmp)
        raise err if isinstance(err, WriteError) else write_error(path, err) from None
    logger.info("saved model (%d parameters) to %s", model.num_parameters(), path)


def load_model(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Ernie3Model:
    """An Ernie3Model on ``map_location`` from a ``save_model`` file, a trainer checkpoint's ``model.pt``
    (full or sharded), or an export folder (the folder, its ``config.json`` or its ``model.safetensors``).

    ``.pt`` files are read with ``torch.load(weights_only=True)``; a sharded one's DCP folder through
    :class:`kgtext.model.sharded.SafeFileSystemReader`, in this process alone (no process group needed).
    """
    root = Path(path)
    if root.is_dir() or root.name == EXPORT_CONFIG or root.suffix == ".safetensors":
        return load_export(root if root.is_dir() else root.parent, map_location)
    payload = read_torch_file(root, map_location)
    if isinstance(payload, dict) and SHARDED in payload:
        return _load_sharded(root, payload, torch.device(map_location))
    return model_from_payload(payload, source=os.fspath(path))


def _load_sharded(path: Path, payload: dict[str, Any], device: torch.device) -> Ernie3Model:
    """The model of a sharded checkpoint's model file: allocate it, then fill it from the DCP folder."""
    _check_format(payload, str(path))
    info = payload[SHARDED]
    if not (
        isinstance(info, dict) and isinstance(info.get("path"), str) and isinstance(info.get("prefix"), str)
    ):
        raise ValueError(f"{path}: {SHARDED} must be {{'path': str, 'prefix': str}}, got {info!r:.100}")
    config = _config_of(payload.get("config"), str(path))
    with torch.device("meta"):
        model = Ernie3Model(config)
    model.to_empty(device=device)
    state = {f"{info['prefix']}{name}": tensor for name, tensor in model.state_dict().items()}
    try:
        load_tensors(state, path.parent / info["path"])
    except (RuntimeError, ValueError, OSError) as err:
        raise ValueError(f"{path}: cannot read its sharded weights ({type(err).__name__}: {err})") from err
    bad = nonfinite_tensor(model.state_dict())
    if bad is not None:
        raise ValueError(f"{path}: tensor {bad!r} holds NaN or infinite values; the model is broken")
    return _reset_buffers(model, device)


def split_shared(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state dict as safetensors takes it: each shared tensor once, plus ``{alias: stored name}``.

    Rule (module docstring): a name whose tensor is the same view (storage, offset, shape, strides, dtype)
    as an earlier name's is an alias of the first such name in state-dict order; a tensor that shares a
    storage in any other way is stored as a contiguous copy. Every stored tensor is contiguous.
    """
    stored: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    first_view: dict[tuple[Any, ...], str] = {}
    storages: set[tuple[str, int]] = set()
    for name, tensor in state.items():
        storage = tensor.untyped_storage()
        view = (str(tensor.device), storage.data_ptr(), tensor.storage_offset(), tuple(tensor.shape),
                tensor.stride(), tensor.dtype)  # fmt: skip
        if storage.nbytes() and view in first_view:
            aliases[name] = first_view[view]
            continue
        key = (str(tensor.device), storage.data_ptr())
        overlaps = storage.nbytes() > 0 and key in storages
        first_view[view] = name
        storages.add(key)
        stored[name] = tensor.clone() if overlaps else tensor.contiguous()
    return stored, aliases


def kgtext_version() -> str:
    """The installed kgtext distribution's version (``unknown`` when run from an uninstalled tree)."""
    try:
        return importlib.metadata.version("kgtext")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def save_export(folder: str | os.PathLike[str], model: Ernie3Model, extra: Mapping[str, Any]) -> list[Path]:
    """Write ``config.json`` + ``model.safetensors`` of ``model`` into existing folder ``folder``.

    ``extra`` adds JSON fields to ``config.json`` (where the model came from, its training config); the
    format fields, ``model`` and ``aliases`` are always this function's. Returns the files written.
    """
    root = Path(folder)
    tensors, aliases = split_shared(model.state_dict())
    safetensors.torch.save_file(tensors, root / EXPORT_WEIGHTS, metadata={"format": "pt"})
    own = ("format", "format_version", "kgtext_version", "model", "aliases")
    config = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "kgtext_version": kgtext_version(),
        **{key: value for key, value in extra.items() if key not in own},
        "model": model.config.to_dict(),
        "aliases": aliases,
    }
    (root / EXPORT_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return [root / EXPORT_CONFIG, root / EXPORT_WEIGHTS]


def read_export_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of an export folder, format checked (ValueError naming the file otherwise)."""
    path = Path(folder) / EXPORT_CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read it ({err})") from err
    if not isinstance(config, dict) or config.get("format") != EXPORT_FORMAT:
        raise ValueError(f"{path}: not a kgtext model export (no format={EXPORT_FORMAT!r})")
    if config.get("format_version") != EXPORT_FORMAT_VERSION:
        raise ValueError(
            f"{path}: export format_version {config.get('format_version')!r}, this code reads {EXPORT_FORMAT_VERSION}"
        )
    return config


def load_export(folder: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Ernie3Model:
    """The Ernie3Model of an export folder (:func:`save_export`) on ``map_location``."""
    root = Path(folder)
    config = read_export_config(root)
    weights = root / EXPORT_WEIGHTS
    try:
        state = safetensors.torch.load_file(weights, device=str(torch.device(map_location)))
    except (OSError, RuntimeError, ValueError, safetensors.SafetensorError) as err:
        raise ValueError(f"{weights}: cannot read it ({type(err).__name__}: {err})") from err
    aliases = config.get("aliases", {})
    if not isinstance(aliases, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()
    ):
        raise ValueError(
            f"{root / EXPORT_CONFIG}: aliases must map tensor names to stored tensor names, got {aliases!r:.100}"
        )
    unknown = sorted(target for target in aliases.values() if target not in state)
    if unknown:
        raise ValueError(
            f"{root / EXPORT_CONFIG}: aliases point at tensors {weights.name} lacks: {unknown[:3]}"
        )
    state.update({alias: state[target] for alias, target in aliases.items()})
    return _assemble(_config_of(config.get("model"), str(root / EXPORT_CONFIG)), state, str(weights))


def load_for_finetuning(
    path: str | os.PathLike[str], paradigm: Paradigm | str, map_location: str | torch.device = "cpu"
) -> nn.Module:
    """The universal module plus one task module of a checkpoint, ready to fine-tune.

    ``paradigm="nlu"`` returns ``Ernie3ForNlu`` (embeddings, universal, NLU stack, [CLS] pooler);
    ``paradigm="nlg"`` returns ``Ernie3ForNlg`` (embeddings, universal, NLG stack, LM head). The other task
    module and the other heads are dropped. The module is in training mode.
    """
    try:
        kind = Paradigm(paradigm)
    except ValueError:
        raise ValueError(f"paradigm must be one of {[p.value for p in Paradigm]}, got {paradigm!r}") from None
    module = split_for_finetuning(load_model(path, map_location), kind)
    return module.train()
