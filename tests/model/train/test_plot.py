"""kgtext plot: the verdict summary of the last evaluation and the gradient-norm panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kgtext.model.train.plot import chance_summary, plot_run

TRAIN = [{"step": s, "loss": 3.0 / s, "loss/kmlm": 1.0 / s, "loss/sd": 2.0 / s} for s in (1, 2)]


def eval_record(step: int, **figures: Any) -> dict[str, Any]:
    return {"step": step, "kind": "eval", **{f"eval/{k.replace('__', '/')}": v for k, v in figures.items()}}


LAST = eval_record(
    2,
    kmlm__accuracy=0.2, kmlm__baseline_accuracy=0.05, kmlm__targets=2000, kmlm__rows=400, kmlm__loss=5.0,
    sd__accuracy=0.40, sd__baseline_accuracy=0.39, sd__targets=250, sd__rows=250, sd__chance=0.39, sd__loss=1.0,
    sr__accuracy=0.6, sr__baseline_accuracy=0.5, sr__targets=27, sr__rows=27, sr__chance=0.5, sr__loss=0.7,
    grad_norm__kmlm=2.5, grad_norm__sd=0.25, grad_norm__kmlm__embed=2.0,
)  # fmt: skip


def test_summary_gives_each_tasks_verdict_and_one_line() -> None:
    # Wilson bounds by hand, z^2 = 2.70554: kmlm (0.2 + 0.000676 - 1.644854 sqrt(0.00008 + 1.7e-7)) / 1.001353
    # = 0.1857; sr (0.6 + 0.050103 - 1.644854 sqrt(0.0088889 + 0.00092783)) / 1.100205 = 0.4428;
    # sd (0.4 + 0.005411 - 1.644854 sqrt(0.00096 + 0.0000108)) / 1.010822 = 0.3504.
    records = [*TRAIN, eval_record(1, kmlm__accuracy=0.01), LAST]
    assert chance_summary(Path("unused"), records) == [
        "last evaluation (step 2, valid split):",
        "  kmlm: accuracy 0.200 (95% lower bound 0.186) vs most frequent piece 0.050 over 400 rows: beats baseline",
        "  sr: accuracy 0.600 (95% lower bound 0.443) vs chance (majority class) 0.500 over 27 rows: too few to tell",
        "  sd: accuracy 0.400 (95% lower bound 0.350) vs chance (majority class) 0.390 over 250 rows: "
        "does not beat baseline",
        "  beat their baselines: kmlm; do not: sd; too few to tell (< 200 rows): sr "
        "(one-sided 95% Wilson bound of the accuracy above the baseline accuracy)",
    ]


def test_summary_of_a_run_from_before_baselines() -> None:
    old = eval_record(4, sd__accuracy=0.5, sd__chance=0.4, kmlm__accuracy=0.1)
    assert chance_summary(Path("unused"), [*TRAIN, old]) == [
        "last evaluation (step 4, valid split):",
        "  kmlm: accuracy 0.100",
        "  sd: accuracy 0.500 vs chance 0.400: beats chance (no bound recorded)",
    ]
    assert chance_summary(Path("unused"), TRAIN) == [
        "no evaluation in this run (eval.interval = 0): nothing to compare with a baseline"
    ]


def test_plot_draws_the_gradient_norm_panel(tmp_path: Path) -> None:
    png = plot_run(
        tmp_path, tmp_path / "curves.png", [*TRAIN, eval_record(1, **{"grad_norm__kmlm": 3.0}), LAST]
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
