"""model.train.baselines: trivial baselines from counts, the one-sided Wilson bound, verdicts, the summary line."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from kgtext.model.train.baselines import (
    MIN_ROWS,
    Z_95,
    Baseline,
    TaskVerdict,
    Verdict,
    frequency_baseline,
    task_verdicts,
    verdict,
    verdict_line,
    wilson_lower_bound,
)


def test_z_is_the_normal_95_percent_quantile() -> None:
    assert Z_95 == pytest.approx(NormalDist().inv_cdf(0.95), abs=1e-12)


def test_baseline_of_uniform_counts_is_one_over_k_and_log_k() -> None:
    assert frequency_baseline([2, 2, 2, 2]) == Baseline(0.25, pytest.approx(math.log(4)))


def test_baseline_of_skewed_counts() -> None:
    # Shares 3/8, 1/8, 0, 4/8: most frequent 0.5; entropy -(3/8 ln 3/8 + 1/8 ln 1/8 + 1/2 ln 1/2) = 0.974315.
    base = frequency_baseline([3, 1, 0, 4])
    assert base.accuracy == 0.5
    assert base.unigram_loss == pytest.approx(0.9743147528693494, abs=1e-12)


def test_baseline_of_one_value_and_of_nothing() -> None:
    assert frequency_baseline([0, 5, 0]) == Baseline(1.0, 0.0)
    assert frequency_baseline([0, 0]) == Baseline(0.0, 0.0)
    assert frequency_baseline([]) == Baseline(0.0, 0.0)


def test_wilson_bound_of_half_on_100() -> None:
    # By hand: p = 0.5, z^2 = 2.705543; (0.5 + 0.013528 - 1.644854 * sqrt(0.0025 + 0.0000676)) / 1.027055.
    lower = wilson_lower_bound(0.5, 100)
    assert lower == pytest.approx(0.41884779611252954, abs=1e-12)
    # The Wilson bound inverts the score test: (p_hat - p0) / sqrt(p0 (1 - p0) / n) = z at p0 = the bound.
    assert (0.5 - lower) / math.sqrt(lower * (1 - lower) / 100) == pytest.approx(Z_95, abs=1e-9)


def test_wilson_bound_at_the_edges() -> None:
    assert wilson_lower_bound(1.0, 100) == pytest.approx(100 / (100 + Z_95**2), abs=1e-15)  # = n / (n + z^2)
    assert wilson_lower_bound(0.0, 100) == 0.0
    assert wilson_lower_bound(0.7, 0) == 0.0


def test_wilson_bound_narrows_with_more_targets() -> None:
    assert wilson_lower_bound(0.5, 100) < wilson_lower_bound(0.5, 10_000) < 0.5


def test_199_rows_are_too_few_and_200_are_enough() -> None:
    assert MIN_ROWS == 200
    assert verdict(0.9, 10_000, 199, 0.1) is Verdict.TOO_FEW
    assert verdict(0.9, 10_000, 200, 0.1) is Verdict.BEATS


def test_bound_just_above_or_below_the_baseline() -> None:
    # The bound of 0.5 over 100 targets is 0.418848 (above).
    assert verdict(0.5, 100, 200, 0.4188) is Verdict.BEATS
    assert verdict(0.5, 100, 200, 0.4189) is Verdict.FAILS
    assert verdict(0.5, 100, 200, wilson_lower_bound(0.5, 100)) is Verdict.FAILS  # equal is not above


def test_accuracy_above_baseline_without_a_bound_above_it_does_not_beat() -> None:
    assert verdict(0.06, 400, 300, 0.05) is Verdict.FAILS


def test_task_verdicts_read_a_metrics_record_in_task_order() -> None:
    record = {
        "step": 300,
        "eval/sd/accuracy": 0.5,
        "eval/sd/baseline_accuracy": 0.4,
        "eval/sd/targets": 100,
        "eval/sd/rows": 250,
        "eval/kmlm/accuracy": 0.2,
        "eval/kmlm/baseline_accuracy": 0.05,
        "eval/kmlm/targets": 900,
        "eval/kmlm/rows": 150,
        "eval/sr/accuracy": 0.5,  # a record from before baselines: left out
        "eval/sr/chance": 0.3,
    }
    verdicts = task_verdicts(record, prefix="eval/")
    assert list(verdicts) == ["kmlm", "sd"]
    assert verdicts["sd"] == TaskVerdict(
        "sd", 0.5, 0.4, pytest.approx(0.41884779611252954), 250, 100, Verdict.BEATS
    )
    assert verdicts["kmlm"].verdict is Verdict.TOO_FEW
    assert task_verdicts({k.removeprefix("eval/"): v for k, v in record.items()}) == verdicts


def test_verdict_line_names_each_group() -> None:
    verdicts = task_verdicts(
        {
            "uktp/accuracy": 0.3, "uktp/baseline_accuracy": 0.05, "uktp/targets": 3000, "uktp/rows": 600,
            "sd/accuracy": 0.36, "sd/baseline_accuracy": 0.37, "sd/targets": 500, "sd/rows": 500,
            "sr/accuracy": 0.6, "sr/baseline_accuracy": 0.5, "sr/targets": 27, "sr/rows": 27,
            "dlm/accuracy": 0.1, "dlm/baseline_accuracy": 0.04, "dlm/targets": 6400, "dlm/rows": 100,
        }
    )  # fmt: skip
    assert verdict_line(verdicts) == (
        "beat their baselines: uktp; do not: sd; too few to tell (< 200 rows): sr, dlm "
        "(one-sided 95% Wilson bound of the accuracy above the baseline accuracy)"
    )
    assert verdict_line({}) == "no task has baseline figures to compare with"
