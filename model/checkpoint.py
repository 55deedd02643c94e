"""Model checkpoints: an Ernie3Model <-> one ``.pt`` file holding the config beside the state dict.

The file is a dict of plain values and tensors (never a pickled module), read with
``torch.load(weights_only=True)``::

    {"format": "kgtext-ernie3", "format_version": 1, "config": ModelConfig.to_dict(), "state_dict": {...}}

``model_payload`` / ``model_from_payload`` expose the same dict so a trainer checkpoint can nest it next to
optimizer state. For fine-tuning::

    from model.checkpoint import load_for_finetuning
    encoder = load_for_finetuning("run/model.pt", "nlu")   # Ernie3ForNlu: embeddings + universal + NLU
    hidden = encoder(input_ids, segment_ids, pad_mask)      # (B, T, d_nlu); encoder.pool(hidden) -> (B, d_nlu)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from model.config import ModelConfig
from model.ernie import Ernie3Model
from model.finetune import Paradigm, split_for_finetuning
from model.layers import SinusoidalEncoding

logger = logging.getLogger(__name__)

FORMAT = "kgtext-ernie3"
FORMAT_VERSION = 1


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


def model_payload(model: Ernie3Model) -> dict[str, Any]:
    """The checkpoint dict of ``model`` (state dict on its current device)."""
    return checkpoint_payload(model.config, model.state_dict())


def model_from_payload(payload: dict[str, Any], *, source: str = "<payload>") -> Ernie3Model:
    """Rebuild the model of a ``model_payload`` dict; ``source`` names the file in error messages.

    The model is built on the meta device and the stored tensors are assigned, so nothing is
    initialised twice (a 10B model loads in the time it takes to read it).
    """
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{source}: not a kgtext ERNIE 3.0 model checkpoint (no format={FORMAT!r})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{source}: checkpoint format_version {payload.get('format_version')!r}, this code reads {FORMAT_VERSION}"
        )
    missing = [key for key in ("config", "state_dict") if key not in payload]
    if missing:
        raise ValueError(f"{source}: checkpoint lacks {missing}")
    try:
        config = ModelConfig.from_dict(payload["config"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: bad model config: {err}") from err
    with torch.device("meta"):
        model = Ernie3Model(config)
    state = payload["state_dict"]
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as err:
        raise ValueError(f"{source}: state dict does not match the stored config: {err}") from err
    device = next(iter(state.values())).device if state else torch.device("cpu")
    for sub in model.modules():
        if isinstance(sub, SinusoidalEncoding):
            sub.reset_buffers(device)
    return model


def save_model(path: str | os.PathLike[str], model: Ernie3Model) -> None:
    """Write ``model`` (config + state dict) to ``path`` atomically (temp file, then rename)."""
    tmp = f"{os.fspath(path)}.tmp"
    torch.save(model_payload(model), tmp)
    os.replace(tmp, path)
    logger.info("saved model (%d parameters) to %s", model.num_parameters(), path)


def load_model(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Ernie3Model:
    """Read a ``save_model`` file (``torch.load(weights_only=True)``) into an Ernie3Model on ``map_location``."""
    payload = torch.load(path, map_location=map_location, weights_only=True)
    return model_from_payload(payload, source=os.fspath(path))


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
