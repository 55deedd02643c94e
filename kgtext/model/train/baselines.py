"""Trivial baselines of the pre-training tasks and the verdict "does this task beat its baseline?".

Pure arithmetic (no torch): target counts -> :class:`Baseline`, an accuracy over ``n`` targets -> its
one-sided 95% lower confidence bound, and evaluation figures -> one :class:`TaskVerdict` per task.
:class:`kgtext.model.train.eval.Evaluator` writes the figures; ``kgtext evaluate`` and ``kgtext plot`` read them
through :func:`task_verdicts` and :func:`verdict_line`, so both say the same thing.

**Baselines**, computed over exactly the targets the evaluation scored:

- ``baseline_accuracy``: the share of the most frequent target (the most frequent piece for kmlm, uktp and
  dlm; the majority class for sr and sd, which is also written as ``chance``);
- ``unigram_loss``: the cross-entropy, in nats per target, of the targets under their own frequency
  distribution (their entropy). That unigram is fitted on the very targets it scores (an oracle), so no
  unigram model fitted on other text does better on them on average: a model must go below this loss to
  have learned more than word frequencies. For sr and sd it is the loss of always predicting the class prior.

**Verdict**: a task *beats its baseline* when the one-sided 95% lower bound of its accuracy (Wilson score
interval, :func:`wilson_lower_bound`, over the evaluated targets) is above ``baseline_accuracy``. For kmlm,
uktp and dlm the targets are tokens, and tokens of one row are not independent (one sentence, one masked
phrase), so the bound is too narrow for them; the guard is the row count: a task evaluated on fewer than
:data:`MIN_ROWS` rows is *too few to tell* and never counts as a pass. A row is one sequence of the
evaluated batch: a sentence row of kmlm/uktp/sr/sd (for kmlm/uktp, one with at least one masked target)
and one ``tgt_len`` stream segment of dlm (the row of a DLM batch; like an NLU row it is at most a
sequence length of one document's text).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from kgtext.corpus.tasks.task import TASKS

TASK_FIGURES = ("loss", "accuracy", "baseline_accuracy", "unigram_loss", "lower_bound", "rows", "targets")
"""What every evaluation writes per task (``eval/<task>/<figure>``; :class:`kgtext.model.train.eval.Evaluator`)."""
MIN_ROWS = 200
"""Evaluated rows a task needs before its verdict means anything (fewer: too few to tell)."""
Z_95 = 1.6448536269514722
"""The standard normal's 0.95 quantile: z of a one-sided 95% bound."""


class Verdict(enum.StrEnum):
    """How a task's accuracy compares with its trivial baseline."""

    BEATS = "beats baseline"
    FAILS = "does not beat baseline"
    TOO_FEW = "too few to tell"


class Baseline(NamedTuple):
    """The trivial baselines of one set of targets."""

    accuracy: float
    """Share of the most frequent target (0.0 without targets)."""
    unigram_loss: float
    """Entropy of the targets' frequencies in nats per target (0.0 without targets)."""


class TaskVerdict(NamedTuple):
    """One task's accuracy against its baseline."""

    task: str
    accuracy: float
    baseline: float
    lower_bound: float
    """One-sided 95% lower bound of ``accuracy`` over the evaluated targets."""
    rows: int
    targets: int
    verdict: Verdict


def frequency_baseline(counts: Sequence[float]) -> Baseline:
    """The baselines of targets whose value ``i`` occurs ``counts[i]`` times (see the module docstring)."""
    total = float(sum(counts))
    if total <= 0:
        return Baseline(0.0, 0.0)
    entropy = -sum(c / total * math.log(c / total) for c in counts if c > 0)
    return Baseline(max(counts) / total, max(0.0, entropy))


def wilson_lower_bound(accuracy: float, n: float, z: float = Z_95) -> float:
    """Lower end of the Wilson score interval of a proportion ``accuracy`` observed on ``n`` trials.

    ``(p + z^2/2n - z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``; with the default ``z`` it is the one-sided
    95% lower confidence bound. 0.0 for ``n <= 0``.
    """
    if n <= 0:
        return 0.0
    p = min(1.0, max(0.0, accuracy))
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z2 / n))


def verdict(accuracy: float, targets: float, rows: int, baseline: float) -> Verdict:
    """Beats, does not beat, or too few rows to tell (see the module docstring)."""
    if rows < MIN_ROWS:
        return Verdict.TOO_FEW
    return Verdict.BEATS if wilson_lower_bound(accuracy, targets) > baseline else Verdict.FAILS


def task_verdicts(figures: Mapping[str, Any], prefix: str = "") -> dict[str, TaskVerdict]:
    """The verdict of every task with ``{prefix}<task>/accuracy``, ``baseline_accuracy``, ``targets`` and
    ``rows`` in ``figures`` (an evaluation record: ``prefix="eval/"`` for ``metrics.jsonl``), in task order.

    Records written before baselines existed lack those keys: their tasks are left out.
    """
    out: dict[str, TaskVerdict] = {}
    for task in TASKS:
        keys = [
            f"{prefix}{task.value}/{name}" for name in ("accuracy", "baseline_accuracy", "targets", "rows")
        ]
        if not all(isinstance(figures.get(key), int | float) for key in keys):
            continue
        accuracy, baseline, targets, rows = (figures[key] for key in keys)
        out[task.value] = TaskVerdict(
            task.value,
            float(accuracy),
            float(baseline),
            wilson_lower_bound(float(accuracy), float(targets)),
            int(rows),
            int(targets),
            verdict(float(accuracy), float(targets), int(rows), float(baseline)),
        )
    return out


def verdict_line(verdicts: Mapping[str, TaskVerdict]) -> str:
    """One sentence: which tasks beat their baselines, which do not, which are too few to tell."""
    if not verdicts:
        return "no task has baseline figures to compare with"
    groups = {v: [t.task for t in verdicts.values() if t.verdict is v] for v in Verdict}
    parts = [
        f"beat their baselines: {', '.join(groups[Verdict.BEATS]) or 'none'}",
        f"do not: {', '.join(groups[Verdict.FAILS]) or 'none'}",
        f"too few to tell (< {MIN_ROWS} rows): {', '.join(groups[Verdict.TOO_FEW]) or 'none'}",
    ]
    return "; ".join(parts) + " (one-sided 95% Wilson bound of the accuracy above the baseline accuracy)"
