"""TrainConfig: validation naming the field, --set overrides, round trip, presets."""

from __future__ import annotations

import enum
import typing

import pytest

from model.config import ModelConfig
from model.presets import get_preset
from model.train.config import (
    DataConfig,
    OptimConfig,
    Parallel,
    Precision,
    ProgressiveConfig,
    TrainConfig,
    apply_overrides,
    valid_keys,
)
from model.train.presets import train_preset


def test_paper_defaults() -> None:
    optim = TrainConfig().optim
    assert (optim.lr, optim.beta1, optim.beta2, optim.weight_decay, optim.warmup_steps) == (
        1e-4,
        0.9,
        0.999,
        0.01,
        10_000,
    )
    assert TrainConfig().progressive.enabled and TrainConfig().progressive.steps == 10_000


def test_overrides_parse_by_field_type() -> None:
    config = apply_overrides(
        TrainConfig(),
        [
            "optim.lr=3e-4",
            "data.batch_size=16",
            "progressive.enabled=false",
            "runtime.precision=bf16",
            "runtime.parallel=fsdp",
            "model.dropout=0.0",
            "model.mem_len=16",
        ],
    )
    assert config.optim.lr == 3e-4 and config.data.batch_size == 16 and config.progressive.enabled is False
    assert config.runtime.precision is Precision.BF16 and config.runtime.parallel is Parallel.FSDP
    assert config.model_overrides == {"dropout": 0.0, "mem_len": 16}


def test_unknown_key_lists_valid_keys() -> None:
    with pytest.raises(ValueError, match="unknown override key 'optim.learning_rate'") as err:
        apply_overrides(TrainConfig(), ["optim.learning_rate=1"])
    for key in ("optim.lr", "data.batch_size", "progressive.steps", "model.dropout", "checkpoint.keep"):
        assert key in str(err.value)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("optim.lr", "is not section.key=value"),
        ("lr=1", "is not section.key=value"),
        ("nosuch.key=1", "unknown override key"),
        ("data.batch_size=many", "override data.batch_size"),
        ("progressive.enabled=maybe", "not a boolean"),
        ("runtime.precision=fp8", "override runtime.precision"),
        ("optim.lr=-1", "lr must be > 0"),
        ("data.batch_size=0", "batch_size must be a positive int"),
        ("model.universal=3", "unknown override key"),
    ],
)
def test_bad_overrides(item: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_overrides(TrainConfig(), [item])


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: OptimConfig(grad_accum=0), "grad_accum"),
        (lambda: OptimConfig(beta2=1.5), "beta2"),
        (lambda: DataConfig(mask_prob=2.0), "mask_prob"),
        (lambda: DataConfig(kmlm_weight=-1.0), "kmlm_weight"),
        (lambda: DataConfig(dlm_streams=0), "dlm_streams"),
        (lambda: ProgressiveConfig(start_seq_len=0), "start_seq_len"),
        (lambda: TrainConfig(model_overrides={"n_layer": 2}), "model_overrides"),
    ],
)
def test_validation_names_the_field(build, field: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=field):
        build()


def test_round_trip_through_plain_dict() -> None:
    config = apply_overrides(train_preset("tiny"), ["runtime.precision=bf16", "model.dropout=0.05"])
    assert TrainConfig.from_dict(config.to_dict()) == config


def _changed(kind: object, default: object) -> tuple[str, object]:
    """A ``--set`` string for a field of type ``kind`` and the value it must parse to (not the default)."""
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        member = next(m for m in kind if m != default)
        return member.value, member
    if kind is bool:
        return str(not default).lower(), not default
    if kind is int:
        return str(int(default or 0) + 1), int(default or 0) + 1
    if kind is float:
        value = float(default or 0.0) / 2 if default else 0.25
        return repr(value), value
    return "other", "other"  # str (or str | None)


def test_every_valid_key_is_settable() -> None:
    """Each of the keys (model.* included) parses by its field type and lands in the right place."""
    base = TrainConfig()
    model_defaults = get_preset("tiny")
    section_hints = typing.get_type_hints(TrainConfig)
    for key in valid_keys():
        section, name = key.split(".")
        if section == "model":
            kind = typing.get_type_hints(ModelConfig)[name]
            raw, expected = _changed(kind, getattr(model_defaults, name))
            assert apply_overrides(base, [f"{key}={raw}"]).model_overrides == {name: expected}, key
            continue
        part = getattr(base, section)
        kind = typing.get_type_hints(section_hints[section])[name]
        raw, expected = _changed(kind, getattr(part, name))
        try:
            changed = apply_overrides(base, [f"{key}={raw}"])
        except ValueError as err:  # a value the field's validator refuses still names the field
            assert name in str(err), (key, err)
            continue
        assert getattr(getattr(changed, section), name) == expected, key
        others = {k for k in valid_keys() if not k.startswith("model.") and k != key}
        for other in others:
            o_section, o_name = other.split(".")
            assert getattr(getattr(changed, o_section), o_name) == getattr(getattr(base, o_section), o_name)
    assert len(valid_keys()) == len(set(valid_keys()))


def test_tiny_preset_is_short() -> None:
    tiny = train_preset("tiny")
    assert tiny.optim.max_steps == 300 and tiny.progressive.steps < tiny.optim.max_steps
    assert train_preset("base-ablation") == TrainConfig()
