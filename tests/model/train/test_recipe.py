"""The tiny recipe keeps its representations apart (issue 26): no collapse onto a few directions.

A tiny run of the shipped recipe (``train_preset("tiny")``) on the fixture corpus (24 Re-DocRED documents,
tests/fixtures/trainer): at every evaluation from the end of the lr warm-up to step 300, the participation
ratio of the mean-pooled non-pad final NLU states and of the [CLS] state over the probe rows (the fixture's
KMLM valid rows, eval mode) is at least 8 (measured: NLU >= 14.7, [CLS] >= 10.5). The recipe before issue 26 fell
to about 1 within 100 steps. About 3 minutes on one core: marked ``long`` so that ``make test`` starts it first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kgtext.model.train.config import apply_overrides
from kgtext.model.train.health import COLLAPSED_PR
from kgtext.model.train.log import read_metrics
from kgtext.model.train.presets import train_preset
from kgtext.model.train.setup import build_trainer


@pytest.mark.long
def test_tiny_recipe_does_not_collapse(corpus_dir: Path, tmp_path: Path) -> None:
    config = apply_overrides(
        train_preset("tiny"),
        [
            "eval.interval=30",
            "eval.batches=1",
            "checkpoint.interval=1000",
            "log.tensorboard=false",
            "optim.max_steps=300",
        ],
    )
    trainer = build_trainer(corpus_dir, "tiny", tmp_path / "run", config, overwrite=True)
    trainer.fit()
    trainer.parts.metrics.close()
    evals = [r for r in read_metrics(tmp_path / "run") if "eval/health/nlu_pr" in r]
    steps = [r["step"] for r in evals]
    assert steps == list(range(30, 301, 30))  # the warm-up ends at step 30
    ratios = [
        (r["step"], round(r["eval/health/nlu_pr"], 1), round(r["eval/health/cls_pr"], 1)) for r in evals
    ]
    assert all(nlu >= COLLAPSED_PR and cls >= COLLAPSED_PR for _, nlu, cls in ratios), ratios
