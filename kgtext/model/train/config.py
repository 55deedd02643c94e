"""Typed configuration of a pre-training run: ``TrainConfig`` with one nested section per component.

Every section is a frozen ``@dataclass(kw_only=True, slots=True)`` validated in ``__post_init__``.
The training defaults that go with a model preset are in :mod:`kgtext.model.train.presets`. ``apply_overrides(config, ["section.key=value", ...])``
applies ``kgtext pretrain --set`` overrides, parsing each value by the field's type; an unknown key is a
one-line ValueError that suggests the closest valid keys (``kgtext pretrain --list-keys`` shows them all,
with types, defaults and help). The ``model`` section is special: its keys are the scalar fields of
:class:`kgtext.model.config.ModelConfig`, collected in ``TrainConfig.model_overrides`` and applied to the preset.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from kgtext.common.cli_parser import INT64_MAX, INT64_MIN, did_you_mean, suggest
from kgtext.model.config import ModelConfig
from kgtext.model.data.config import DataConfig
from kgtext.model.validate import fraction, non_negative, positive


class Precision(str, enum.Enum):
    """Autocast policy of the forward pass."""

    AUTO = "auto"
    """bf16 on CUDA devices that support it, fp32 elsewhere (measured slower on CPUs: docs/TRAINING.md)."""
    FP32 = "fp32"
    BF16 = "bf16"


class Parallel(str, enum.Enum):
    """How the model is replicated across the processes of a ``torchrun`` job."""

    DDP = "ddp"
    """A full replica per process, gradients all-reduced (DistributedDataParallel)."""
    FSDP = "fsdp"
    """Parameters, gradients and optimizer state sharded across processes (FSDP2 ``fully_shard``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OptimConfig:
    """AdamW and its schedule (ERNIE 3.0 §3.3.3: lr 1e-4, betas 0.9/0.999, weight decay 0.01)."""

    lr: float = 1e-4
    """Peak learning rate, reached at the end of warm-up."""
    beta1: float = 0.9
    """AdamW beta1."""
    beta2: float = 0.999
    """AdamW beta2."""
    eps: float = 1e-8
    """AdamW epsilon."""
    weight_decay: float = 0.01
    """Decoupled weight decay (not applied to biases, LayerNorms and embeddings' padding row)."""
    warmup_steps: int = 10_000
    """Linear warm-up from 0 to ``lr`` over this many steps (the lr ramp of progressive learning)."""
    max_steps: int = 100_000
    """Total optimizer steps; the lr decays linearly to ``min_lr_ratio * lr`` at this step."""
    min_lr_ratio: float = 0.0
    """Final lr as a fraction of the peak."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this (0 disables clipping)."""
    grad_accum: int = 1
    """Micro-batches per optimizer step; losses are normalised by the targets of the whole window."""
    stack_lr_scale: float = 1.0
    """Learning-rate multiplier of the weight matrices inside the Transformer stacks (universal, NLU, NLG;
    not embeddings, heads, biases or LayerNorms). Adam moves a weight by about lr per step whatever the
    size of its gradient, so at small widths a high lr turns the early, coherent updates into a few large
    directions that swamp the random matrix (docs/TRAINING.md, "The recipe")."""

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        fraction("beta1", self.beta1)
        fraction("beta2", self.beta2)
        if not self.eps > 0:
            raise ValueError(f"eps must be > 0, got {self.eps!r}")
        non_negative("weight_decay", self.weight_decay)
        non_negative("warmup_steps", self.warmup_steps)
        positive("max_steps", self.max_steps)
        fraction("min_lr_ratio", self.min_lr_ratio)
        non_negative("grad_clip", self.grad_clip)
        positive("grad_accum", self.grad_accum)
        if not self.stack_lr_scale > 0 or math.isinf(self.stack_lr_scale):
            raise ValueError(f"stack_lr_scale must be a finite number > 0, got {self.stack_lr_scale!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class InitConfig:
    """How a new run's weights start beyond the preset's random initialisation (not applied on ``--resume``)."""

    unigram_bias: bool = True
    """Start the MLM and LM heads' output biases at the log unigram distribution of the corpus's DLM train
    tokens (add-one smoothed), so the first steps need not build an input-independent vector to predict it."""
    unigram_tokens: int = 5_000_000
    """Count at most this many DLM train tokens (shards in order) for the unigram distribution."""

    def __post_init__(self) -> None:
        positive("unigram_tokens", self.unigram_tokens)


@dataclass(frozen=True, kw_only=True, slots=True)
class ProgressiveConfig:
    """Progressive learning (ERNIE 3.0 §3.3.1): seq length, batch size, lr and dropout ramped together."""

    enabled: bool = True
    """Ramp the factors over the first ``steps`` steps (the lr ramp is ``optim.warmup_steps``)."""
    steps: int = 10_000
    """Length of the ramp (steps); the paper uses the first 10,000 steps."""
    start_seq_len: int = 128
    """NLU row length cap and DLM segment length at step 0 (tokens; ramps to the model's tgt_len)."""
    start_batch_fraction: float = 0.004
    """NLU batch size at step 0 as a fraction of ``data.batch_size`` (ablation: 8 -> 2048 = 0.004)."""
    start_dropout: float = 0.0
    """Dropout at step 0 (the paper keeps it at 0 during the warm-up), ramped to the model's dropout."""

    def __post_init__(self) -> None:
        non_negative("steps", self.steps)
        positive("start_seq_len", self.start_seq_len)
        fraction("start_batch_fraction", self.start_batch_fraction)
        fraction("start_dropout", self.start_dropout)


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckpointConfig:
    """Periodic atomic checkpoints in ``RUN_DIR/checkpoints/step-XXXXXXXX``."""

    interval: int = 1000
    """Save every this many steps (and at the last step)."""
    keep: int = 3
    """Keep the last this many checkpoints."""
    sharded: bool = True
    """Under FSDP, every process writes its own shards of model and optimizer (torch.distributed.checkpoint)
    instead of rank 0 gathering full state dicts (which does not fit at 10B); ignored without FSDP."""

    def __post_init__(self) -> None:
        positive("interval", self.interval)
        positive("keep", self.keep)


@dataclass(frozen=True, kw_only=True, slots=True)
class LogConfig:
    """One log line, one ``metrics.jsonl`` record and TensorBoard scalars per interval."""

    interval: int = 10
    """Log every this many steps."""
    tensorboard: bool = True
    """Write TensorBoard event files to ``RUN_DIR/tensorboard``."""

    def __post_init__(self) -> None:
        positive("interval", self.interval)


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalConfig:
    """Periodic evaluation on the corpus's ``valid`` split."""

    interval: int = 1000
    """Evaluate every this many steps (and at the last step); 0 disables evaluation."""
    batches: int = 8
    """Micro-batches per task per evaluation (the same rows every time); 0 = the whole valid split."""
    health_rows: int = 256
    """Valid rows of the representation-health probe (participation ratios, norms; 0 disables it)."""

    def __post_init__(self) -> None:
        non_negative("interval", self.interval)
        non_negative("batches", self.batches)
        non_negative("health_rows", self.health_rows)


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeConfig:
    """Device, precision, compilation and distribution."""

    device: str = "auto"
    """``auto`` (cuda when available, else cpu), ``cpu`` or ``cuda``."""
    precision: Precision = Precision.AUTO
    """Autocast policy."""
    compile: bool = False
    """Wrap the objective in ``torch.compile(dynamic=True)`` (minutes of compilation on CPU; for GPU runs)."""
    parallel: Parallel = Parallel.DDP
    """Replication under ``torchrun`` (ignored in a single process)."""
    find_unused_parameters: bool = True
    """DDP: tolerate steps that leave a module unused (e.g. NLU-only steps); see docs/TRAINING.md."""
    threads: int = 0
    """torch intra-op threads on CPU (0 = torch's default)."""
    seed: int = 1234
    """Seed of the model initialisation and of dropout."""

    def __post_init__(self) -> None:
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if not isinstance(self.precision, Precision):
            raise ValueError(f"precision must be a Precision, got {self.precision!r}")
        if not isinstance(self.parallel, Parallel):
            raise ValueError(f"parallel must be a Parallel, got {self.parallel!r}")
        non_negative("threads", self.threads)


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig:
    """A whole pre-training run (the model shape comes from the preset plus ``model_overrides``)."""

    data: DataConfig = field(default_factory=DataConfig)
    """Task mixture and batching."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimiser and lr schedule."""
    init: InitConfig = field(default_factory=InitConfig)
    """Initialisation of a new run beyond the preset's."""
    progressive: ProgressiveConfig = field(default_factory=ProgressiveConfig)
    """Progressive learning."""
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    """Checkpointing."""
    log: LogConfig = field(default_factory=LogConfig)
    """Logging."""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """Evaluation."""
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    """Device and distribution."""
    model_overrides: dict[str, Any] = field(default_factory=dict)
    """``ModelConfig`` scalar fields to replace in the preset (``--set model.dropout=0.0``)."""

    def __post_init__(self) -> None:
        valid = _model_scalar_fields()
        for key in self.model_overrides:
            if key not in valid:
                raise ValueError(f"model_overrides: unknown key {key!r}; valid: {', '.join(sorted(valid))}")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (enums as their values)."""
        out: dict[str, Any] = {}
        for section in SECTIONS:
            part = getattr(self, section)
            out[section] = {f.name: _plain(getattr(part, f.name)) for f in dataclasses.fields(part)}
        out["model_overrides"] = {k: _plain(v) for k, v in self.model_overrides.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of ``to_dict``."""
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, Any] = {}
        for section in SECTIONS:
            section_cls = hints[section]
            section_hints = typing.get_type_hints(section_cls)
            values = data.get(section, {})
            kwargs[section] = section_cls(**{k: _coerce(section_hints[k], v) for k, v in values.items()})
        kwargs["model_overrides"] = dict(data.get("model_overrides", {}))
        return cls(**kwargs)


SECTIONS = ("data", "optim", "init", "progressive", "checkpoint", "log", "eval", "runtime")
"""The nested sections of :class:`TrainConfig`, in ``--set`` order."""


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _model_scalar_fields() -> dict[str, Any]:
    hints = typing.get_type_hints(ModelConfig)
    return {
        f.name: hints[f.name]
        for f in dataclasses.fields(ModelConfig)
        if hints[f.name] in (int, float, bool)
        or (isinstance(hints[f.name], type) and issubclass(hints[f.name], enum.Enum))
    }


def _coerce(kind: Any, value: Any) -> Any:
    """Turn a JSON/CLI value into the field type ``kind`` (ValueError when it does not parse)."""
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return value if isinstance(value, kind) else kind(value)
    if not isinstance(value, str):
        return float(value) if kind is float and isinstance(value, int) else value
    if kind is bool:
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{value!r} is not a boolean (true/false)")
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    if isinstance(kind, types.UnionType) or kind is str:
        return value
    raise ValueError(f"cannot parse {value!r} as {kind}")


def valid_keys() -> list[str]:
    """Every ``section.key`` that ``--set`` accepts."""
    keys = []
    for section in SECTIONS:
        section_cls = typing.get_type_hints(TrainConfig)[section]
        keys += [f"{section}.{f.name}" for f in dataclasses.fields(section_cls)]
    keys += [f"model.{name}" for name in sorted(_model_scalar_fields())]
    return keys


LIST_KEYS_HINT = "kgtext pretrain --list-keys shows them all"


def key_type(key: str) -> Any:
    """The field type of a valid ``section.key`` (``int``, ``float``, ``bool``, ``str``, an enum ...)."""
    section, name = key.split(".", 1)
    if section == "model":
        return _model_scalar_fields()[name]
    return typing.get_type_hints(typing.get_type_hints(TrainConfig)[section])[name]


def _initials(name: str) -> str:
    """``learning_rate`` -> ``lr`` (empty for a one-word name)."""
    words = [word for word in name.split("_") if word]
    return "".join(word[0] for word in words) if len(words) > 1 else ""


def close_keys(key: str, keys: list[str]) -> list[str]:
    """Up to 3 valid keys a mistyped ``key`` probably meant, surest first.

    Sure: the same name in another section (``model.batch_size`` -> ``data.batch_size``), a name whose
    initials match (``optim.learning_rate`` -> ``optim.lr``, ``optim.wd`` -> ``optim.weight_decay``) or a
    near-identical spelling. Otherwise the close names of the same section (plain ``difflib``: the shared
    ``section.`` prefix would make every key of a section look close).
    """
    section, name = key.split(".", 1) if "." in key else ("", key)
    names = {k: k.split(".", 1)[1] for k in keys}
    sure = [
        k for k, n in names.items() if n == name or n == _initials(name) or name == (_initials(n) or None)
    ]
    sure += difflib.get_close_matches(key, keys, n=3, cutoff=0.85)
    if sure:
        return list(dict.fromkeys(sure))[:3]
    in_section = [n for k, n in names.items() if k.startswith(f"{section}.")]
    if in_section:
        return [f"{section}.{n}" for n in difflib.get_close_matches(name, in_section, n=3)]
    return difflib.get_close_matches(key, keys, n=3)


def _expected(kind: Any) -> str:
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return "one of " + ", ".join(str(member.value) for member in kind)
    return {bool: "true or false", int: "an int", float: "a float"}.get(
        kind, getattr(kind, "__name__", str(kind))
    )


def _parse_value(key: str, kind: Any, raw: str) -> Any:
    """``raw`` as the field type ``kind``; a ValueError names the key, the expected type and the value.

    Like every numeric command-line option (:class:`kgtext.common.cli_parser.Number`), a float must be finite and
    an int must fit in 64 bits (a seed of 10**23 would overflow torch)."""
    try:
        value = _coerce(kind, raw)
    except ValueError:
        choices = (
            [str(m.value) for m in kind] if isinstance(kind, type) and issubclass(kind, enum.Enum) else []
        )
        raise ValueError(
            f"--set {key}: expected {_expected(kind)}, got {raw!r}{suggest(raw, choices)}"
        ) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"--set {key}: expected a finite float, got {raw!r}")
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"--set {key}: expected an int that fits in 64 bits, got {raw}")
    return value


def apply_overrides(config: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Apply ``section.key=value`` strings (``--set``), each value parsed by its field's type.

    Errors are one-line ValueErrors: an unknown key names the closest valid keys (:func:`close_keys`),
    a bad value the key, the expected type and the value, a refused value the section's validation error.
    """
    keys = valid_keys()
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        section, dot, name = key.partition(".")
        if not sep or not dot:
            close = [key] if key in keys else close_keys(key, keys)
            shown = raw if sep else "VALUE"
            raise ValueError(
                f"--set {item!r} is not section.key=value{did_you_mean([f'{k}={shown}' for k in close])}"
            )
        if key not in keys:
            raise ValueError(
                f"unknown --set key {key!r}{did_you_mean(close_keys(key, keys)) or '; ' + LIST_KEYS_HINT}"
            )
        value = _parse_value(key, key_type(key), raw)
        if section == "model":
            config = config.replace(model_overrides={**config.model_overrides, name: value})
            continue
        part = getattr(config, section)
        try:
            part = dataclasses.replace(part, **{name: value})
        except ValueError as err:  # the section's __post_init__ refused the value
            raise ValueError(f"--set {key}={raw}: {err}") from None
        config = config.replace(**{section: part})
    return config
