"""Schedules of a run as pure functions of the step: learning rate and progressive-learning factors.

``lr_at(step)``: linear warm-up from 0 to the peak over ``warmup_steps``, then linear decay to
``min_lr_ratio * lr`` at ``max_steps`` (ERNIE 3.0 §3.3.3). ``progressive_at(step)``: the NLU sequence-length
cap, the DLM segment length, the NLU batch size and the dropout rate, each ramped linearly from its start
value to its full value over the first ``progressive.steps`` steps (ERNIE 3.0 §3.3.1; the lr part of the
ramp is the warm-up). Being functions of the step only, they need no state in checkpoints.
"""

from __future__ import annotations

from typing import NamedTuple

from kgtext.model.train.config import OptimConfig, ProgressiveConfig


class StepFactors(NamedTuple):
    """The progressive-learning factors of one step."""

    seq_len: int
    """NLU rows are cut to this many tokens; DLM segments have this length."""
    batch_size: int
    """Global NLU rows per micro-batch."""
    dropout: float
    """Dropout rate (attention dropout is scaled by the same fraction of its full value)."""
    dropout_fraction: float
    """``dropout / full dropout`` (1.0 once the ramp is over)."""


def lr_at(step: int, optim: OptimConfig) -> float:
    """Learning rate of optimizer step ``step`` (0-based)."""
    if step < optim.warmup_steps:
        return optim.lr * (step + 1) / optim.warmup_steps
    span = max(1, optim.max_steps - optim.warmup_steps)
    done = min(1.0, (step - optim.warmup_steps) / span)
    return optim.lr * (1.0 - (1.0 - optim.min_lr_ratio) * done)


def _ramp(start: float, end: float, step: int, steps: int) -> float:
    if steps <= 0 or step >= steps:
        return end
    return start + (end - start) * step / steps


def progressive_at(
    step: int,
    prog: ProgressiveConfig,
    *,
    max_seq_len: int,
    batch_size: int,
    dropout: float,
    multiple: int = 1,
) -> StepFactors:
    """Factors at ``step``; batch sizes are rounded to a multiple of ``multiple`` (the world size)."""
    if not prog.enabled:
        return StepFactors(max_seq_len, batch_size, dropout, 1.0)
    start_len = min(prog.start_seq_len, max_seq_len)
    # Lengths move in steps of 8 tokens so shapes repeat (fewer distinct shapes for kernels and compile).
    seq_len = int(_ramp(start_len, max_seq_len, step, prog.steps))
    seq_len = min(max_seq_len, max(start_len, seq_len - seq_len % 8))
    start_batch = max(1.0, prog.start_batch_fraction * batch_size)
    batch = int(round(_ramp(start_batch, batch_size, step, prog.steps)))
    batch = max(multiple, batch - batch % multiple)
    fraction = _ramp(prog.start_dropout / dropout if dropout > 0 else 1.0, 1.0, step, prog.steps)
    return StepFactors(seq_len, batch, dropout * fraction, fraction)
