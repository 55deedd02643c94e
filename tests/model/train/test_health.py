"""Representation health (model/train/health.py): participation ratios on known data, and the probe wired
into the trainer's evaluation, metrics.jsonl, the plot and the summary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kgtext.corpus.reader import CorpusReader
from kgtext.model.ernie import Ernie3Model
from kgtext.model.train.cli import main as pretrain_main
from kgtext.model.train.health import HealthProbe, collapse_warning, participation_ratio, probe_rows
from kgtext.model.train.plot import chance_summary
from kgtext.model.train.setup import health_probe
from tests.model.conftest import small_config


def test_participation_ratio_counts_equal_directions() -> None:
    x = torch.zeros(8, 5)
    x[:4, 0], x[4:, 0] = 1.0, -1.0  # one direction
    assert participation_ratio(x) == pytest.approx(1.0)
    eye = torch.cat([torch.eye(4), -torch.eye(4)])  # four directions of equal variance
    assert participation_ratio(eye) == pytest.approx(4.0)
    assert participation_ratio(torch.ones(1, 3)) == 0.0
    assert participation_ratio(torch.ones(6, 3)) == 0.0  # no variance at all


def test_probe_rows_are_the_first_valid_rows_cut_with_sep(corpus_dir: Path) -> None:
    reader = CorpusReader(corpus_dir)
    rows = probe_rows(reader, seq_len=16, sep_id=3, rows=5)
    first = next(reader.iter_tables("kmlm", "valid")).column("input_ids").to_pylist()[:5]
    assert len(rows) == 5
    for row, full in zip(rows, first, strict=True):
        expected = full if len(full) <= 16 else [*full[:15], 3]
        assert row.tolist() == expected


def test_probe_of_a_random_model_is_healthy_and_of_a_collapsed_one_is_not(corpus_dir: Path) -> None:
    torch.manual_seed(0)
    model = Ernie3Model(small_config(vocab_size=CorpusReader(corpus_dir).vocab_size(), tgt_len=32))
    probe = health_probe(CorpusReader(corpus_dir), model.config, 64)
    healthy = probe(model)
    assert healthy["health/nlu_pr"] > 4 and healthy["health/cls_pr"] > 4
    assert set(healthy) >= {"health/embed_pr", "health/embed_norm", "health/resid_norm/universal.0",
                            "health/resid_norm/nlu.0"}  # fmt: skip
    with torch.no_grad():  # every output position the same: the final LayerNorm's input is constant
        model.nlu.ln_final.weight.zero_()
        model.nlu.ln_final.bias.copy_(torch.linspace(-1, 1, model.nlu.ln_final.bias.numel()))
    collapsed = probe(model)
    assert collapsed["health/nlu_pr"] == 0.0 and collapsed["health/cls_pr"] == 0.0
    assert model.training is True  # the probe evaluates in eval mode and restores the mode it found


def test_probe_with_padded_rows_ignores_pads() -> None:
    probe = HealthProbe([np.array([2, 7, 3]), np.array([2, 9, 8, 3])], pad_id=0)
    assert probe.pad_mask.tolist() == [[True, True, True, False], [True, True, True, True]]


def test_pretrain_writes_health_to_metrics_and_summary(corpus_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    pretrain_main(["--corpus", str(corpus_dir), "--preset", "tiny", "--out", str(run), "--max-steps", "4",
                   "--set", "eval.interval=2", "--set", "eval.batches=1", "--set", "log.tensorboard=false",
                   "--set", "eval.health_rows=32"])  # fmt: skip
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().split("\n") if '"eval"' in line]
    assert [r["step"] for r in evals] == [2, 4]
    for record in evals:
        assert record["eval/health/nlu_pr"] > 0 and record["eval/health/cls_pr"] > 0
        assert record["eval/health/resid_norm/universal.0"] > 0
    assert any("participation ratio of the pooled NLU states" in line for line in chance_summary(run))


def test_collapse_warning_names_the_step_and_both_ratios_only_below_the_line() -> None:
    healthy = {"eval/health/nlu_pr": 14.2, "eval/health/cls_pr": 8.0, "eval/health/embed_pr": 3.0}
    assert collapse_warning(healthy, 100) is None  # embed_pr is not part of the line
    assert collapse_warning({"eval/kmlm/loss": 1.0}, 100) is None  # no health figures: nothing to say
    assert collapse_warning({"health/nlu_pr": 6.62, "health/cls_pr": 4.59}, 500) == (
        "representation collapsing at step 500: participation ratio cls_pr 4.6 and nlu_pr 6.6, below 8; "
        "a run this long needs a lower optim.stack_lr_scale (docs/TRAINING.md, 'Longer runs')"
    )
