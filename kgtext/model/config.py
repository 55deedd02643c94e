"""Typed configuration of the ERNIE 3.0 dual-module model: ``ModelConfig`` with one ``StackConfig`` per module.

A config is a frozen value: derive variants with ``ModelConfig.replace(**changes)``. ``to_dict`` / ``from_dict``
turn it into plain Python values (str, int, float, bool, nested dicts) so it can be stored beside a state dict
and read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any


class Recurrence(enum.Enum):
    """Which hidden states a layer's segment-level memory caches (ERNIE 3.0 spec §5.2, §5.3)."""

    SAME_LAYER = "same_layer"
    """ERNIE-Doc enhanced recurrence: layer n attends to layer n's own output of the previous segment."""
    LOWER_LAYER = "lower_layer"
    """Classic Transformer-XL: layer n attends to layer n-1's output (its own input) of the previous segment."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StackConfig:
    """Shape of one Transformer-XL stack (the universal module or one task module)."""

    n_layer: int
    """Number of Transformer-XL layers."""
    d_model: int
    """Hidden width of the stack (units)."""
    n_head: int
    """Attention heads; ``d_model`` must be divisible by it."""
    d_inner: int
    """Inner width of the GeLU feed-forward block (units; 4 x d_model by convention)."""

    def __post_init__(self) -> None:
        for name in ("n_layer", "d_model", "n_head", "d_inner"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.d_model % self.n_head != 0:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_head ({self.n_head})")

    @property
    def d_head(self) -> int:
        """Width of one attention head (units)."""
        return self.d_model // self.n_head


def _check_fraction(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}")


MAX_VOCAB_SIZE = 2**31 - 1
"""Token ids are int32 in the corpus shards (``list<int32>``)."""


def _check_int(name: str, value: int, minimum: int, maximum: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an int <= {maximum}, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelConfig:
    """The whole ERNIE 3.0 model: a shared universal stack, an NLU stack, an NLG stack and the heads."""

    universal: StackConfig
    """The universal representation module, shared by both paradigms; its width is the embedding width."""
    nlu: StackConfig
    """The NLU task module (bidirectional, no memory)."""
    nlg: StackConfig
    """The NLG task module (causal, with segment-level memory)."""
    vocab_size: int
    """Number of token ids (the corpus tokenizer's vocabulary)."""
    tgt_len: int = 512
    """Maximum segment length fed in one forward (tokens)."""
    mem_len: int = 128
    """Memory length of the NLG path (tokens kept per layer; 0 disables memory)."""
    clamp_len: int = 0
    """Relative distances beyond this reuse the encoding of this distance (tokens; 0 = no clamp)."""
    dropout: float = 0.1
    """Dropout on embeddings, positional encodings, residual branches and the feed-forward block."""
    dropatt: float = 0.0
    """Dropout on attention probabilities."""
    pre_lnorm: bool = True
    """Pre-LayerNorm blocks (True, with a final LayerNorm per stack) or post-LayerNorm (False, Transformer-XL)."""
    recurrence: Recurrence = Recurrence.SAME_LAYER
    """Which hidden states the NLG memory caches per layer."""
    shared_task_module: bool = False
    """One task module for both paradigms (the ERNIE 3.0 §5 "shared" ablation): the NLU stack also runs the
    NLG path, its attention switched by paradigm (bidirectional over real tokens for NLU, causal with
    memory for NLG); ``nlg`` is then unused. False = the paper's separate NLU and NLG modules."""
    tie_token_heads: bool = True
    """MLM and LM heads reuse the input embedding matrix through a projection to the embedding width."""
    sr_classes: int = 9
    """Sentence-reordering classes (9 = sum of i! for m = 3 segments)."""
    sd_classes: int = 3
    """Sentence-distance classes (adjacent, same document, other document)."""
    pad_id: int = 0
    """Token id of padding (its embedding row is kept at zero)."""
    n_segment: int = 4
    """Number of segment (token-type) ids the NLU path accepts."""
    init_std: float = 0.02
    """Standard deviation of the normal initialisation of weights."""
    embed_init_std: float = 0.0
    """Standard deviation of the token embeddings' initialisation (0 = ``init_std``). The tiny preset uses
    1.0 so the token's own identity stays larger than the layers' early, input-independent output
    (docs/TRAINING.md, "The recipe")."""
    layer_norm_eps: float = 1e-5
    """Epsilon of every LayerNorm."""

    def __post_init__(self) -> None:
        for name in ("universal", "nlu", "nlg"):
            if not isinstance(getattr(self, name), StackConfig):
                raise ValueError(f"{name} must be a StackConfig, got {getattr(self, name)!r}")
        _check_int("vocab_size", self.vocab_size, 2, MAX_VOCAB_SIZE)
        _check_int("tgt_len", self.tgt_len, 1)
        _check_int("mem_len", self.mem_len, 0)
        _check_int("clamp_len", self.clamp_len, 0)
        _check_int("sr_classes", self.sr_classes, 2)
        _check_int("sd_classes", self.sd_classes, 2)
        _check_int("n_segment", self.n_segment, 1)
        _check_fraction("dropout", self.dropout)
        _check_fraction("dropatt", self.dropatt)
        if not isinstance(self.recurrence, Recurrence):
            raise ValueError(f"recurrence must be a Recurrence, got {self.recurrence!r}")
        if not isinstance(self.pad_id, int) or not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(
                f"pad_id must be an int in [0, vocab_size={self.vocab_size}), got {self.pad_id!r}"
            )
        if not self.init_std > 0:
            raise ValueError(f"init_std must be > 0, got {self.init_std!r}")
        if not self.embed_init_std >= 0:
            raise ValueError(f"embed_init_std must be >= 0 (0 = init_std), got {self.embed_init_std!r}")
        if not self.layer_norm_eps > 0:
            raise ValueError(f"layer_norm_eps must be > 0, got {self.layer_norm_eps!r}")

    @property
    def nlg_stack(self) -> StackConfig:
        """The stack the NLG path runs: ``nlg``, or ``nlu`` with ``shared_task_module``."""
        return self.nlu if self.shared_task_module else self.nlg

    @property
    def d_embed(self) -> int:
        """Width of the token embeddings: the universal module's width."""
        return self.universal.d_model

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with ``changes`` applied and validated (e.g. ``dropout=0.0``, ``vocab_size=...``)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {unknown}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (safe for ``torch.load(weights_only=True)``)."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, StackConfig):
                value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            elif isinstance(value, Recurrence):
                value = value.value
            out[field.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of ``to_dict``; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {unknown}")
        kwargs = dict(data)
        for name in ("universal", "nlu", "nlg"):
            if isinstance(kwargs.get(name), dict):
                kwargs[name] = StackConfig(**kwargs[name])
        if "recurrence" in kwargs and not isinstance(kwargs["recurrence"], Recurrence):
            try:
                kwargs["recurrence"] = Recurrence(kwargs["recurrence"])
            except ValueError:
                raise ValueError(f"recurrence must be one of {[r.value for r in Recurrence]}") from None
        return cls(**kwargs)
