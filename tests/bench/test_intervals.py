"""The interval arithmetic behind bench/PROOF.md and bench/ABLATIONS.md (Welch over per-seed means)."""

from __future__ import annotations

import math

from bench.ablations import diff_interval, welch
from bench.proof import verdict


def test_welch_interval_of_two_three_seed_samples() -> None:
    # Equal variances 1 and n = 3: se = sqrt(2/3), Welch df = 4, t(0.975, 4) = 2.776.
    mean, low, high = welch([1.0, 2.0, 3.0], [0.0, 1.0, 2.0]) or (0.0, 0.0, 0.0)
    half = 2.776 * math.sqrt(2 / 3)
    assert mean == 1.0 and math.isclose(low, 1 - half) and math.isclose(high, 1 + half)
    assert diff_interval([1.0, 2.0, 3.0], [0.0, 1.0, 2.0]) == "+1.000 [-1.267, +3.267]"
    assert welch([0.5], [0.4, 0.3]) is None
    assert diff_interval([0.5], [0.4, 0.3]) == "+0.150 (one seed: no interval)"


def test_verdicts_need_the_interval_above_zero_and_the_target() -> None:
    assert verdict((0.05, 0.01, 0.09), 0.03) == "holds"
    assert verdict((0.02, 0.01, 0.03), 0.03) == "above 0, below the 0.03 target"
    assert verdict((0.02, -0.01, 0.05)) == "positive in the mean, interval includes 0"
    assert verdict((-0.02, -0.05, 0.01)) == "does not hold"
    assert verdict(None) == "one seed: no interval"
