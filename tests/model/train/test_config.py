"""TrainConfig: validation naming the field, --set overrides, round trip, presets."""

from __future__ import annotations

import enum
import typing

import pytest

from kgtext.model.config import ModelConfig
from kgtext.model.presets import get_preset
from kgtext.model.train.config import (
    DataConfig,
    OptimConfig,
    Parallel,
    Precision,
    ProgressiveConfig,
    TrainConfig,
    apply_overrides,
    valid_keys,
)
from kgtext.model.train.presets import train_preset


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


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("optim.learning_rate=1", "unknown --set key 'optim.learning_rate' (did you mean optim.lr?)"),
        ("optim.max_step=9", "unknown --set key 'optim.max_step' (did you mean optim.max_steps?)"),
        ("optim.wd=0", "unknown --set key 'optim.wd' (did you mean optim.weight_decay?)"),
        ("model.batch_size=8", "unknown --set key 'model.batch_size' (did you mean data.batch_size?)"),
        ("model.drop=0", "unknown --set key 'model.drop' (did you mean model.dropout or model.dropatt?)"),
        ("chekpoint.keep=2", "unknown --set key 'chekpoint.keep' (did you mean checkpoint.keep?)"),
        ("optim.nosuch=1", "unknown --set key 'optim.nosuch'; kgtext pretrain --list-keys shows them all"),
        ("nosuch.key=1", "unknown --set key 'nosuch.key'; kgtext pretrain --list-keys shows them all"),
        (
            "model.universal=3",
            "unknown --set key 'model.universal'; kgtext pretrain --list-keys shows them all",
        ),
        ("lr=1", "--set 'lr=1' is not section.key=value (did you mean optim.lr=1?)"),
        ("seed=3", "--set 'seed=3' is not section.key=value (did you mean data.seed=3 or runtime.seed=3?)"),
        ("optim.lr", "--set 'optim.lr' is not section.key=value (did you mean optim.lr=VALUE?)"),
        ("data.batch_size=many", "--set data.batch_size: expected an int, got 'many'"),
        ("optim.lr=fast", "--set optim.lr: expected a float, got 'fast'"),
        ("progressive.enabled=maybe", "--set progressive.enabled: expected true or false, got 'maybe'"),
        (
            "runtime.precision=bf61",
            "--set runtime.precision: expected one of auto, fp32, bf16, got 'bf61' (did you mean bf16?)",
        ),
        ("model.recurrence=x", "--set model.recurrence: expected one of same_layer, lower_layer, got 'x'"),
        ("model.mem_len=1.5", "--set model.mem_len: expected an int, got '1.5'"),
        ("optim.lr=-1", "--set optim.lr=-1: lr must be > 0, got -1.0"),
        ("data.batch_size=0", "--set data.batch_size=0: batch_size must be a positive int, got 0"),
    ],
)
def test_bad_overrides_say_what_and_suggest(item: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        apply_overrides(TrainConfig(), [item])
    assert str(err.value) == message


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
