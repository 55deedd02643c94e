"""``kgtext plot RUN_DIR``: draw a run's curves to ``RUN_DIR/loss.png`` and say which tasks beat baselines.

The curves come from ``RUN_DIR/metrics.jsonl``. Panels: the training loss of every task and the total against the step; when the run evaluated, the
evaluation loss of every task on the ``valid`` split, the evaluation accuracy of every task with its
baseline accuracy (dashed: the most frequent piece for kmlm/uktp/dlm, the majority class for sr/sd), the
representation health (participation ratios) and the gradient norm of each task's mean loss on a fixed
train micro-batch (log scale), each when the records have them. Prints the last evaluation's verdicts
(:func:`kgtext.model.train.baselines.task_verdicts`: the one-sided 95% lower bound of the accuracy above the
baseline, at least 200 evaluated rows). Uses matplotlib's Agg backend (no display).

A torn last line of ``metrics.jsonl`` (a full disk cut an append short) is skipped with a WARNING; any other
bad line stops with one line naming ``file:line`` (exit 1).
"""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path
from typing import Any

from kgtext.common.cli_parser import HelpfulParser
from kgtext.corpus.tasks.task import CLASS_TASKS, TASKS
from kgtext.model.train.baselines import task_verdicts, verdict_line
from kgtext.model.train.log import METRICS_NAME, read_metrics

logger = logging.getLogger(__name__)


def _series(records: list[dict[str, Any]], key: str) -> list[float]:
    return [r.get(key, float("nan")) for r in records]


def _draw_eval_loss(ax: Any, evals: list[dict[str, Any]]) -> None:
    steps = [r["step"] for r in evals]
    for task in TASKS:
        if any(f"eval/{task}/loss" in r for r in evals):
            ax.plot(steps, _series(evals, f"eval/{task}/loss"), marker="o", label=task.value)
    ax.set(xlabel="step", ylabel="loss", title="valid loss", yscale="log")
    ax.legend()


def _draw_accuracy(ax: Any, evals: list[dict[str, Any]]) -> None:
    steps = [r["step"] for r in evals]
    for task in TASKS:
        if not any(f"eval/{task}/accuracy" in r for r in evals):
            continue
        (line,) = ax.plot(steps, _series(evals, f"eval/{task}/accuracy"), marker="o", label=task.value)
        # Runs from before baselines recorded only sr/sd's chance: draw it where there is no baseline.
        base = [
            r.get(f"eval/{task}/baseline_accuracy", r.get(f"eval/{task}/chance", math.nan)) for r in evals
        ]
        if not all(math.isnan(b) for b in base):
            ax.plot(steps, base, linestyle="--", color=line.get_color(), label=f"{task} baseline")
    ax.set(xlabel="step", ylabel="accuracy", title="valid accuracy (dashed: baseline)", ylim=(0, 1))
    ax.legend(fontsize="small")


def _draw_health(ax: Any, evals: list[dict[str, Any]], keys: list[str]) -> None:
    for key in keys:
        ax.plot([r["step"] for r in evals], _series(evals, key), marker="o",
                label=key.removeprefix("eval/health/"))  # fmt: skip
    ax.set(xlabel="step", ylabel="participation ratio", title="representation health (1 = collapsed)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")


def _draw_grad_norms(ax: Any, evals: list[dict[str, Any]], keys: list[str]) -> None:
    for key in keys:
        ax.plot([r["step"] for r in evals], _series(evals, key), marker="o",
                label=key.removeprefix("eval/grad_norm/"))  # fmt: skip
    ax.set(xlabel="step", ylabel="L2 norm", title="gradient norm of each task's mean loss", yscale="log")
    ax.legend(fontsize="small")


def plot_run(run_dir: Path, out: Path | None = None, records: list[dict[str, Any]] | None = None) -> Path:
    """Write the curves of ``run_dir`` (its ``records``, read when not given) to ``out`` (default
    ``RUN_DIR/loss.png``); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(run_dir) if records is None else records
    train = [r for r in records if r.get("kind", "train") == "train"]
    evals = [r for r in records if r.get("kind") == "eval"]
    if not train:
        raise ValueError(f"{run_dir / METRICS_NAME}: no training records to plot")
    health = sorted({k for r in evals for k in r if k.startswith("eval/health/") and k.endswith("_pr")})
    grads = [f"eval/grad_norm/{t}" for t in TASKS if any(f"eval/grad_norm/{t}" in r for r in evals)]
    panels = 1 + (2 if evals else 0) + (1 if health else 0) + (1 if grads else 0)
    cols = min(panels, 3)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.7 * cols if evals else 7, 4.5 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    ax = flat[0]
    steps = [r["step"] for r in train]
    for task in TASKS:  # the task order (and so the colours) of the evaluation panels
        if any(f"loss/{task}" in r for r in train):
            ax.plot(steps, _series(train, f"loss/{task}"), label=task.value)
    ax.plot(steps, [r["loss"] for r in train], label="total", color="black", linewidth=2)
    ax.set(xlabel="step", ylabel="loss", title="training loss", yscale="log")
    ax.legend()
    used = 1
    if evals:
        _draw_eval_loss(flat[1], evals)
        _draw_accuracy(flat[2], evals)
        used = 3
    if health:
        _draw_health(flat[used], evals, health)
        used += 1
    if grads:
        _draw_grad_norms(flat[used], evals, grads)
        used += 1
    for spare in flat[used:]:
        spare.set_visible(False)
    fig.tight_layout()
    target = out or run_dir / "loss.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target


def chance_summary(run_dir: Path, records: list[dict[str, Any]] | None = None) -> list[str]:
    """The last evaluation, one line per task: its accuracy, the lower bound and baseline it is compared
    with and the verdict; then which tasks beat their baselines; then the representation health."""
    evals = [r for r in (read_metrics(run_dir) if records is None else records) if r.get("kind") == "eval"]
    if not evals:
        return ["no evaluation in this run (eval.interval = 0): nothing to compare with a baseline"]
    last = evals[-1]
    lines = [f"last evaluation (step {last['step']}, valid split):"]
    verdicts = task_verdicts(last, prefix="eval/")
    for task in TASKS:
        accuracy = last.get(f"eval/{task}/accuracy")
        if accuracy is None:
            continue
        found = verdicts.get(task.value)
        if found is not None:
            what = "chance (majority class)" if task in CLASS_TASKS else "most frequent piece"
            lines.append(
                f"  {task}: accuracy {found.accuracy:.3f} (95% lower bound {found.lower_bound:.3f}) vs {what} "
                f"{found.baseline:.3f} over {found.rows} rows: {found.verdict}"
            )
        elif f"eval/{task}/chance" in last:  # a record from before baselines: the old comparison
            chance = last[f"eval/{task}/chance"]
            said = "beats chance" if accuracy > chance else "does not beat chance"
            lines.append(
                f"  {task}: accuracy {accuracy:.3f} vs chance {chance:.3f}: {said} (no bound recorded)"
            )
        else:
            lines.append(f"  {task}: accuracy {accuracy:.3f}")
    if verdicts:
        lines.append(f"  {verdict_line(verdicts)}")
    if "eval/health/nlu_pr" in last:
        first = next(r for r in evals if "eval/health/nlu_pr" in r)
        lines.append(
            f"  representation: participation ratio of the pooled NLU states {last['eval/health/nlu_pr']:.1f}, "
            f"of [CLS] {last.get('eval/health/cls_pr', float('nan')):.1f} (step {first['step']}: "
            f"{first['eval/health/nlu_pr']:.1f}; about 1 means every sentence maps to one direction)"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext plot RUN_DIR [--out PNG]``."""
    parser = HelpfulParser(prog="kgtext plot", description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="a kgtext pretrain run directory")
    parser.add_argument("--out", type=Path, default=None, help="PNG path (default: RUN_DIR/loss.png)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        records = read_metrics(args.run_dir)
        path = plot_run(args.run_dir, args.out, records)
    except (OSError, ValueError) as err:
        print(f"kgtext plot: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"wrote {path}")
    print("\n".join(chance_summary(args.run_dir, records)))


if __name__ == "__main__":
    main()
