"""Model presets: Python functions that return a ``ModelConfig`` (torchtitan recipe style, no YAML).

- ``tiny``: trains on 2 CPU cores in minutes (universal 2 x 128, task modules 1 x 128).
- ``base-ablation``: the ERNIE 3.0 §5 ablation shape (universal 12 / 768 / 12, task modules 3 / 256 / 4).
- ``ernie3-10b``: the paper's 10B model (universal 48 / 4096 / 64, task modules 12 / 768 / 12, context 512,
  memory 128). Build it on the meta device (``with torch.device("meta"):``) to count parameters.

``get_preset(name, **overrides)`` applies ``ModelConfig.replace(**overrides)`` on top of the preset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kgtext.model.config import ModelConfig, StackConfig


def _stack(n_layer: int, d_model: int, n_head: int) -> StackConfig:
    # FFN inner width 4 x d_model: the sources leave it open for ERNIE 3.0 (spec §1.1), BERT/TXL convention.
    return StackConfig(n_layer=n_layer, d_model=d_model, n_head=n_head, d_inner=4 * d_model)


def tiny() -> ModelConfig:
    """A model small enough to pre-train on a laptop CPU (1.31M parameters at vocab 1000)."""
    return ModelConfig(
        universal=_stack(2, 128, 4),
        nlu=_stack(1, 128, 4),
        nlg=_stack(1, 128, 4),
        vocab_size=1000,
        tgt_len=128,
        mem_len=64,
        dropout=0.1,
        dropatt=0.0,
        # Untied token heads, unit-variance embeddings and 0.05 weights: with 0.02 everywhere and tied heads the
        # tiny model's states collapsed onto one direction within 100 steps (docs/TRAINING.md, "The recipe").
        tie_token_heads=False,
        embed_init_std=1.0,
        init_std=0.05,
    )


def base_ablation() -> ModelConfig:
    """ERNIE 3.0 §5 task-module ablation: a base universal network with small task modules."""
    return ModelConfig(
        universal=_stack(12, 768, 12),
        nlu=_stack(3, 256, 4),
        nlg=_stack(3, 256, 4),
        vocab_size=40000,
        tgt_len=512,
        mem_len=128,
    )


def ernie3_10b() -> ModelConfig:
    """The paper's ERNIE 3.0 10B configuration (spec §1.1); vocabulary 40000 as in the open checkpoints."""
    return ModelConfig(
        universal=_stack(48, 4096, 64),
        nlu=_stack(12, 768, 12),
        nlg=_stack(12, 768, 12),
        vocab_size=40000,
        tgt_len=512,
        mem_len=128,
    )


PRESETS: dict[str, Callable[..., ModelConfig]] = {
    "tiny": tiny,
    "base-ablation": base_ablation,
    "ernie3-10b": ernie3_10b,
}


def get_preset(name: str, **overrides: Any) -> ModelConfig:
    """The preset ``name`` with ``overrides`` applied (validated by ``ModelConfig.__post_init__``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; known: {sorted(PRESETS)}")
    config = PRESETS[name]()
    return config.replace(**overrides) if overrides else config
