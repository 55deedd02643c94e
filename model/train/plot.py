"""``kgtext plot RUN_DIR``: draw a run's loss curves (``metrics.jsonl``) to ``RUN_DIR/loss.png``.

Left panel: the training loss of every task and the total against the step; right panel: the evaluation
loss of every task on the ``valid`` split (when the run evaluated). Uses matplotlib's Agg backend (no display).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from model.train.log import METRICS_NAME, read_metrics

logger = logging.getLogger(__name__)


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """Write the loss curves of ``run_dir`` to ``out`` (default ``RUN_DIR/loss.png``); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(run_dir)
    train = [r for r in records if r.get("kind", "train") == "train"]
    evals = [r for r in records if r.get("kind") == "eval"]
    if not train:
        raise ValueError(f"{run_dir / METRICS_NAME}: no training records to plot")
    fig, axes = plt.subplots(1, 2 if evals else 1, figsize=(12 if evals else 7, 4.5), squeeze=False)
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
    fig.tight_layout()
    target = out or run_dir / "loss.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext plot RUN_DIR [--out PNG]``."""
    parser = argparse.ArgumentParser(prog="kgtext plot", description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="a kgtext pretrain run directory")
    parser.add_argument("--out", type=Path, default=None, help="PNG path (default: RUN_DIR/loss.png)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        path = plot_run(args.run_dir, args.out)
    except (OSError, ValueError) as err:
        print(f"kgtext plot: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
