"""ModelConfig / StackConfig validation, round trip through plain values, and the presets."""

from __future__ import annotations

import dataclasses

import pytest

from kgtext.model.config import ModelConfig, Recurrence, StackConfig
from kgtext.model.presets import PRESETS, get_preset
from tests.model.conftest import small_config


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"n_layer": 0}, "n_layer"),
        ({"d_model": -8}, "d_model"),
        ({"n_head": 3}, "n_head"),
        ({"d_inner": 1.5}, "d_inner"),
        ({"n_layer": True}, "n_layer"),
    ],
)
def test_stack_config_rejects_bad_fields(changes: dict[str, object], field: str) -> None:
    kwargs: dict[str, object] = {"n_layer": 2, "d_model": 32, "n_head": 4, "d_inner": 64} | changes
    with pytest.raises(ValueError, match=field):
        StackConfig(**kwargs)  # type: ignore[arg-type]


def test_stack_config_d_head() -> None:
    assert StackConfig(n_layer=1, d_model=4096, n_head=64, d_inner=16384).d_head == 64


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"vocab_size": 1}, "vocab_size"),
        ({"tgt_len": 0}, "tgt_len"),
        ({"mem_len": -1}, "mem_len"),
        ({"clamp_len": -5}, "clamp_len"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropatt": -0.1}, "dropatt"),
        ({"recurrence": "same_layer"}, "recurrence"),
        ({"pad_id": 50}, "pad_id"),
        ({"sr_classes": 1}, "sr_classes"),
        ({"sd_classes": 0}, "sd_classes"),
        ({"n_segment": 0}, "n_segment"),
        ({"init_std": 0.0}, "init_std"),
        ({"layer_norm_eps": 0.0}, "layer_norm_eps"),
        ({"nlu": {"n_layer": 1}}, "nlu"),
    ],
)
def test_model_config_rejects_bad_fields(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        small_config(**changes)


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        small_config().dropout = 0.5  # type: ignore[misc]


def test_replace_returns_validated_copy() -> None:
    config = small_config()
    assert config.replace(dropout=0.3).dropout == 0.3
    assert config.dropout == 0.0
    with pytest.raises(ValueError, match="dropout"):
        config.replace(dropout=2.0)


def test_to_dict_is_plain_and_round_trips() -> None:
    config = small_config(recurrence=Recurrence.LOWER_LAYER)
    data = config.to_dict()
    assert data["recurrence"] == "lower_layer"
    assert data["nlu"] == {"n_layer": 1, "d_model": 16, "n_head": 2, "d_inner": 32}
    assert ModelConfig.from_dict(data) == config


def test_from_dict_rejects_unknown_keys_and_bad_recurrence() -> None:
    data = small_config().to_dict()
    with pytest.raises(ValueError, match="unknown ModelConfig keys: \\['n_embd'\\]"):
        ModelConfig.from_dict(data | {"n_embd": 3})
    with pytest.raises(ValueError, match="recurrence"):
        ModelConfig.from_dict(data | {"recurrence": "sideways"})


def test_presets_have_the_paper_shapes() -> None:
    assert sorted(PRESETS) == ["base-ablation", "ernie3-10b", "tiny"]
    base = get_preset("base-ablation")
    assert (base.universal.n_layer, base.universal.d_model, base.universal.n_head) == (12, 768, 12)
    assert (base.nlu.n_layer, base.nlu.d_model, base.nlu.n_head) == (3, 256, 4)
    assert base.nlg == base.nlu
    big = get_preset("ernie3-10b")
    assert (big.universal.n_layer, big.universal.d_model, big.universal.n_head) == (48, 4096, 64)
    assert (big.nlg.n_layer, big.nlg.d_model, big.nlg.n_head) == (12, 768, 12)
    assert (big.tgt_len, big.mem_len, big.universal.d_inner) == (512, 128, 16384)
    assert big.recurrence is Recurrence.SAME_LAYER


def test_get_preset_applies_overrides_and_rejects_unknown() -> None:
    config = get_preset("tiny", vocab_size=8000, dropout=0.0)
    assert (config.vocab_size, config.dropout) == (8000, 0.0)
    with pytest.raises(ValueError, match="unknown model preset 'huge'"):
        get_preset("huge")
    with pytest.raises(ValueError, match="unknown ModelConfig fields: \\['n_layers'\\]"):
        get_preset("tiny", n_layers=3)
