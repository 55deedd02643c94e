"""``kgtext plot RUN_DIR``: draw a run's loss curves (``metrics.jsonl``) to ``RUN_DIR/loss.png``.

Left panel: the training loss of every task and the total against the step; when the run evaluated, the
evaluation loss of every task on the ``valid`` split, and the evaluation accuracy of every task with the
chance levels of SR and SD (dashed: the accuracy of always answering their most frequent class). Prints
which tasks beat chance at the last evaluation. Uses matplotlib's Agg backend (no display).

A torn last line of ``metrics.jsonl`` (a full disk cut an append short) is skipped with a WARNING; any other
bad line stops with one line naming ``file:line`` (exit 1).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from corpus.cli_parser import HelpfulParser
from model.train.log import METRICS_NAME, read_metrics

logger = logging.getLogger(__name__)


def plot_run(run_dir: Path, out: Path | None = None, records: list[dict[str, Any]] | None = None) -> Path:
    """Write the loss curves of ``run_dir`` (its ``records``, read when not given) to ``out`` (default
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
    panels = 1 + (2 if evals else 0) + (1 if health else 0)
    fig, axes = plt.subplots(1, panels, figsize=(5.7 * panels if evals else 7, 4.5), squeeze=False)
    ax = axes[0][0]
    keys = sorted({k for r in train for k in r if k.startswith("loss/")})
    steps = [r["step"] for r in train]
    for key in keys:
        ax.plot(steps, [r.get(key, float("nan")) for r in train], label=key.split("/", 1)[1])
    ax.plot(steps, [r["loss"] for r in train], label="total", color="black", linewidth=2)
    ax.set(xlabel="step", ylabel="loss", title="training loss", yscale="log")
    ax.legend()
    if evals:
        ax = axes[0][1]
        eval_keys = sorted({k for r in evals for k in r if k.startswith("eval/") and k.endswith("/loss")})
        for key in eval_keys:
            ax.plot(
                [r["step"] for r in evals],
                [r.get(key, float("nan")) for r in evals],
                marker="o",
                label=key.split("/")[1],
            )
        ax.set(xlabel="step", ylabel="loss", title="valid loss", yscale="log")
        ax.legend()
        ax = axes[0][2]
        steps_e = [r["step"] for r in evals]
        for key in sorted({k for r in evals for k in r if k.startswith("eval/") and k.endswith("/accuracy")}):
            task = key.split("/")[1]
            (line,) = ax.plot(steps_e, [r.get(key, float("nan")) for r in evals], marker="o", label=task)
            chance = f"eval/{task}/chance"
            if any(chance in r for r in evals):
                ax.plot(steps_e, [r.get(chance, float("nan")) for r in evals], linestyle="--",
                        color=line.get_color(), label=f"{task} chance")  # fmt: skip
        ax.set(xlabel="step", ylabel="accuracy", title="valid accuracy (dashed: chance)", ylim=(0, 1))
        ax.legend(fontsize="small")
    if health:
        ax = axes[0][3]
        for key in health:
            ax.plot([r["step"] for r in evals], [r.get(key, float("nan")) for r in evals], marker="o",
                    label=key.removeprefix("eval/health/"))  # fmt: skip
        ax.set(xlabel="step", ylabel="participation ratio", title="representation health (1 = collapsed)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small")
    fig.tight_layout()
    target = out or run_dir / "loss.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target


def chance_summary(run_dir: Path, records: list[dict[str, Any]] | None = None) -> list[str]:
    """One line per task of the last evaluation: its accuracy, and for SR/SD whether it beats chance."""
    evals = [r for r in (read_metrics(run_dir) if records is None else records) if r.get("kind") == "eval"]
    if not evals:
        return ["no evaluation in this run (eval.interval = 0): nothing to compare with chance"]
    last = evals[-1]
    lines = [f"last evaluation (step {last['step']}, valid split):"]
    for key in sorted(k for k in last if k.endswith("/accuracy")):
        task = key.split("/")[1]
        accuracy = last[key]
        chance = last.get(f"eval/{task}/chance")
        if chance is None:
            lines.append(f"  {task}: accuracy {accuracy:.3f}")
        else:
            verdict = "beats chance" if accuracy > chance else "does not beat chance"
            lines.append(f"  {task}: accuracy {accuracy:.3f} vs chance {chance:.3f}: {verdict}")
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
