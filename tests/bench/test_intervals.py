"""The interval arithmetic behind bench/PROOF.md and bench/ABLATIONS.md (Welch over per-seed means)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import proof
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
    assert verdict((-0.018, -0.034, -0.002)) == "the opposite holds: interval below 0"
    assert verdict(None) == "one seed: no interval"


def test_welch_takes_the_next_lower_degrees_of_freedom() -> None:
    # Variances 1 and 0.25, n = 3 each: Welch df = 2.94, between the table's 2 (4.303) and 3 (3.182).
    mean, low, _ = welch([1.0, 2.0, 3.0], [0.0, 0.5, 1.0]) or (0.0, 0.0, 0.0)
    assert math.isclose(mean - low, 4.303 * math.sqrt(1 / 3 + 0.25 / 3))


def test_a_work_folder_of_another_budget_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proof, "WORK", tmp_path)
    proof.check_budget({"steps": 1000, "preset": "tiny", "epochs": 8})
    proof.check_budget({"steps": 1000, "preset": "tiny", "epochs": 8})  # the same budget goes on
    with pytest.raises(SystemExit, match="holds the results of"):
        proof.check_budget({"steps": 2000, "preset": "tiny", "epochs": 8})
    with pytest.raises(SystemExit, match="holds the results of"):  # another recipe: its runs are not these
        proof.check_budget(
            {"steps": 1000, "preset": "tiny", "epochs": 8, "recipe": ["optim.stack_lr_scale=0.03"]}
        )
    assert (tmp_path / "budget.json").is_file()
