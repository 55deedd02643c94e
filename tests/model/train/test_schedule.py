"""Learning-rate and progressive-learning schedules (pure functions of the step)."""

from __future__ import annotations

import pytest

from kgtext.model.train.config import OptimConfig, ProgressiveConfig
from kgtext.model.train.schedule import StepFactors, lr_at, progressive_at


def test_warmup_then_linear_decay() -> None:
    optim = OptimConfig(lr=1e-3, warmup_steps=10, max_steps=110, min_lr_ratio=0.0)
    assert lr_at(0, optim) == pytest.approx(1e-4)
    assert lr_at(9, optim) == pytest.approx(1e-3)
    assert lr_at(10, optim) == pytest.approx(1e-3)
    assert lr_at(60, optim) == pytest.approx(5e-4)
    assert lr_at(110, optim) == pytest.approx(0.0)
    assert lr_at(500, optim) == pytest.approx(0.0)


def test_min_lr_ratio_floor() -> None:
    optim = OptimConfig(lr=1e-3, warmup_steps=0, max_steps=100, min_lr_ratio=0.1)
    assert lr_at(0, optim) == pytest.approx(1e-3)
    assert lr_at(100, optim) == pytest.approx(1e-4)


def test_progressive_ramps_all_factors_together() -> None:
    prog = ProgressiveConfig(steps=100, start_seq_len=32, start_batch_fraction=0.25, start_dropout=0.0)
    kwargs = {"max_seq_len": 128, "batch_size": 64, "dropout": 0.1}
    assert progressive_at(0, prog, **kwargs) == StepFactors(32, 16, 0.0, 0.0)
    mid = progressive_at(50, prog, **kwargs)
    assert (mid.seq_len, mid.batch_size) == (80, 40) and mid.dropout == pytest.approx(0.05)
    assert progressive_at(100, prog, **kwargs) == StepFactors(128, 64, 0.1, 1.0)
    assert progressive_at(10_000, prog, **kwargs) == StepFactors(128, 64, 0.1, 1.0)


def test_progressive_lengths_move_in_steps_of_8_and_batches_by_world_size() -> None:
    prog = ProgressiveConfig(steps=100, start_seq_len=32, start_batch_fraction=0.1)
    seen = [
        progressive_at(s, prog, max_seq_len=128, batch_size=30, dropout=0.1, multiple=4) for s in range(101)
    ]
    assert all(f.seq_len % 8 == 0 for f in seen)
    assert all(f.batch_size % 4 == 0 and f.batch_size >= 4 for f in seen)
    assert [f.seq_len for f in seen] == sorted(f.seq_len for f in seen)


def test_progressive_off_gives_full_values() -> None:
    prog = ProgressiveConfig(enabled=False)
    assert progressive_at(0, prog, max_seq_len=64, batch_size=8, dropout=0.1) == StepFactors(64, 8, 0.1, 1.0)
