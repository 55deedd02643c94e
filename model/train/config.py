"""Typed configuration of a pre-training run: ``TrainConfig`` with one nested section per component.

Every section is a frozen ``@dataclass(kw_only=True, slots=True)`` validated in ``__post_init__``.
``train_preset(name)`` gives the training defaults that go with a model preset (the paper's settings for
the big presets, a fast CPU recipe for ``tiny``). ``apply_overrides(config, ["section.key=value", ...])``
applies ``kgtext pretrain --set`` overrides, parsing each value by the field's type; an unknown key is a
ValueError that lists every valid key. The ``model`` section is special: its keys are the scalar fields of
:class:`model.config.ModelConfig`, collected in ``TrainConfig.model_overrides`` and applied to the preset.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from model.config import ModelConfig

TASKS = ("kmlm", "uktp", "sr", "sd", "dlm")
"""The five pre-training tasks; ``dlm`` trains the NLG module, the others the NLU module."""
NLU_TASKS = ("kmlm", "uktp", "sr", "sd")


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


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _non_negative(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def _fraction(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class DataConfig:
    """What each step reads: the task mixture, batch sizes, sequence lengths and masking rates."""

    batch_size: int = 64
    """Global NLU rows per micro-batch (all ranks, all NLU tasks), split between tasks by the weights."""
    dlm_streams: int = 8
    """Global number of persistent DLM document streams = DLM rows per micro-batch (fixed, not ramped)."""
    kmlm_weight: float = 1.0
    """Share of the NLU batch given to knowledge masked LM (relative weight; 0 disables the task)."""
    uktp_weight: float = 1.0
    """Share of the NLU batch given to universal knowledge-text prediction (relative weight)."""
    sr_weight: float = 1.0
    """Share of the NLU batch given to sentence reordering (relative weight)."""
    sd_weight: float = 1.0
    """Share of the NLU batch given to sentence distance (relative weight)."""
    use_dlm: bool = True
    """Train document language modelling on the NLG module."""
    require_all_tasks: bool = False
    """Fail (instead of warning) when the corpus lacks the train split of an enabled task."""
    bucket_batches: int = 32
    """Length bucketing window: this many batches of rows are sorted by length, then cut into batches."""
    mask_prob: float = 0.15
    """KMLM unit selection probability (ERNIE 1.0: whole unit with p = 0.15, then 80/10/10 per token)."""
    uktp_relation_prob: float = 0.5
    """UKTP: probability that a row masks its relation (otherwise sentence words are masked)."""
    uktp_word_prob: float = 0.15
    """UKTP: selection probability of sentence words when words are masked."""
    sr_max_segments: int = 3
    """SR: paragraphs are split into 1..m segments (m = 3 gives the model's 9 classes)."""
    seed: int = 1234
    """Seed of the global data order and of the dynamic masking."""

    def __post_init__(self) -> None:
        _positive("batch_size", self.batch_size)
        _non_negative("dlm_streams", self.dlm_streams)
        for task in NLU_TASKS:
            _non_negative(f"{task}_weight", getattr(self, f"{task}_weight"))
        _positive("bucket_batches", self.bucket_batches)
        _fraction("mask_prob", self.mask_prob)
        _fraction("uktp_relation_prob", self.uktp_relation_prob)
        _fraction("uktp_word_prob", self.uktp_word_prob)
        _positive("sr_max_segments", self.sr_max_segments)
        if self.use_dlm and self.dlm_streams == 0:
            raise ValueError("dlm_streams must be positive when use_dlm is true, got 0")

    def weights(self) -> dict[str, float]:
        """NLU task -> relative weight (zero-weight tasks included)."""
        return {task: float(getattr(self, f"{task}_weight")) for task in NLU_TASKS}


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

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        _fraction("beta1", self.beta1)
        _fraction("beta2", self.beta2)
        if not self.eps > 0:
            raise ValueError(f"eps must be > 0, got {self.eps!r}")
        _non_negative("weight_decay", self.weight_decay)
        _non_negative("warmup_steps", self.warmup_steps)
        _positive("max_steps", self.max_steps)
        _fraction("min_lr_ratio", self.min_lr_ratio)
        _non_negative("grad_clip", self.grad_clip)
        _positive("grad_accum", self.grad_accum)


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
        _non_negative("steps", self.steps)
        _positive("start_seq_len", self.start_seq_len)
        _fraction("start_batch_fraction", self.start_batch_fraction)
        _fraction("start_dropout", self.start_dropout)


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckpointConfig:
    """Periodic atomic checkpoints in ``RUN_DIR/checkpoints/step-XXXXXXXX``."""

    interval: int = 1000
    """Save every this many steps (and at the last step)."""
    keep: int = 3
    """Keep the last this many checkpoints."""

    def __post_init__(self) -> None:
        _positive("interval", self.interval)
        _positive("keep", self.keep)


@dataclass(frozen=True, kw_only=True, slots=True)
class LogConfig:
    """One log line, one ``metrics.jsonl`` record and TensorBoard scalars per interval."""

    interval: int = 10
    """Log every this many steps."""
    tensorboard: bool = True
    """Write TensorBoard event files to ``RUN_DIR/tensorboard``."""

    def __post_init__(self) -> None:
        _positive("interval", self.interval)


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalConfig:
    """Periodic evaluation on the corpus's ``valid`` split."""

    interval: int = 1000
    """Evaluate every this many steps (and at the last step); 0 disables evaluation."""
    batches: int = 8
    """Micro-batches per task per evaluation (the same rows every time)."""

    def __post_init__(self) -> None:
        _non_negative("interval", self.interval)
        _positive("batches", self.batches)


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
        _non_negative("threads", self.threads)


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig:
    """A whole pre-training run (the model shape comes from the preset plus ``model_overrides``)."""

    data: DataConfig = field(default_factory=DataConfig)
    """Task mixture and batching."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimiser and lr schedule."""
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


SECTIONS = ("data", "optim", "progressive", "checkpoint", "log", "eval", "runtime")
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


def apply_overrides(config: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Apply ``section.key=value`` strings; unknown keys and unparsable values raise ValueError."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise ValueError(f"override {item!r} is not section.key=value")
        if f"{section}.{name}" not in valid_keys():
            raise ValueError(f"unknown override key {key!r}; valid keys: {', '.join(valid_keys())}")
        if section == "model":
            kind = _model_scalar_fields()[name]
            try:
                value = _coerce(kind, raw)
            except ValueError as err:
                raise ValueError(f"override {key}: {err}") from None
            config = config.replace(model_overrides={**config.model_overrides, name: value})
            continue
        part = getattr(config, section)
        kind = typing.get_type_hints(type(part))[name]
        try:
            value = _coerce(kind, raw)
        except ValueError as err:
            raise ValueError(f"override {key}: {err}") from None
        config = config.replace(**{section: dataclasses.replace(part, **{name: value})})
    return config


def train_preset(name: str) -> TrainConfig:
    """Training defaults for a model preset: the paper's settings, or a CPU-friendly recipe for ``tiny``."""
    if name != "tiny":
        return TrainConfig()
    # tiny: ~2-4 minutes for 300 steps on 2 CPU cores, every task's loss visibly falling (docs/TRAINING.md).
    return TrainConfig(
        data=DataConfig(batch_size=32, dlm_streams=4),
        optim=OptimConfig(lr=1e-3, warmup_steps=30, max_steps=300, weight_decay=0.01),
        progressive=ProgressiveConfig(steps=60, start_seq_len=32, start_batch_fraction=0.25),
        checkpoint=CheckpointConfig(interval=100, keep=3),
        log=LogConfig(interval=10),
        eval=EvalConfig(interval=100, batches=8),
        # One intra-op thread: tiny's matrices are too small for a second thread to pay (measured, TRAINING.md).
        runtime=RuntimeConfig(threads=1),
        model_overrides={"tgt_len": 64, "mem_len": 32},
    )
