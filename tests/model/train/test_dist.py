"""``kgtext pretrain`` under ``torchrun`` on CPU (gloo): 2 processes agree with 1; NLU-only steps; FSDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.model.train.test_loop import SMALL

TORCHRUN = Path(sys.executable).with_name("torchrun")
# Same global batches for 1 and 2 processes: every task gets an even row count and no batch ramp
# (progressive batch sizes round to the world size); dropout off (its RNG is per process).
DDP_SETTINGS = [
    *SMALL,
    "data.batch_size=16",
    "progressive.start_batch_fraction=1.0",
    "model.dropout=0.0",
    "eval.interval=2",
    "eval.batches=1",
    "checkpoint.interval=2",
]


def _pretrain(corpus: Path, out: Path, procs: int, *extra: str, steps: int = 4) -> list[dict]:
    flags = [e for e in extra if e.startswith("--")]
    extra = tuple(e for e in extra if not e.startswith("--"))
    args = [
        "-m",
        "kgtext.model.pretrain",
        "--corpus",
        str(corpus),
        "--preset",
        "tiny",
        "--out",
        str(out),
        "--max-steps",
        str(steps),
        *sum((["--set", s] for s in [*DDP_SETTINGS, *extra]), []),
        *flags,
    ]
    command = (
        [sys.executable, *args]
        if procs == 1
        else [str(TORCHRUN), "--standalone", f"--nproc_per_node={procs}", *args]
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=240, env=env, cwd=Path(__file__).parents[3]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_two_processes_agree_with_one(corpus_dir: Path, tmp_path: Path) -> None:
    one = _pretrain(corpus_dir, tmp_path / "one", 1)
    two = _pretrain(corpus_dir, tmp_path / "two", 2)
    assert [r["step"] for r in one] == [r["step"] for r in two]
    for a, b in zip(one, two, strict=True):
        for key, value in a.items():
            if key.startswith(("loss", "eval/")):
                assert b[key] == pytest.approx(value, rel=1e-4, abs=1e-5), (a["step"], key)
        if "tokens_seen" in a:
            assert a["tokens_seen"] == b["tokens_seen"]


@pytest.mark.slow
def test_nlu_only_steps_run_under_ddp(corpus_dir: Path, tmp_path: Path) -> None:
    """Without DLM the NLG stack gets no gradient; find_unused_parameters=True lets DDP reduce anyway."""
    records = _pretrain(corpus_dir, tmp_path / "nlu", 2, "data.use_dlm=false", steps=2)
    assert "loss/dlm" not in records[0] and "loss/kmlm" in records[0]


@pytest.mark.slow
def test_fsdp_two_processes_agree_with_one(corpus_dir: Path, tmp_path: Path) -> None:
    one = _pretrain(corpus_dir, tmp_path / "one", 1, steps=3)
    fsdp = _pretrain(corpus_dir, tmp_path / "fsdp", 2, "runtime.parallel=fsdp", steps=3)
    assert [r["step"] for r in one] == [r["step"] for r in fsdp]
    for a, b in zip(one, fsdp, strict=True):
        for key in (k for k in a if k.startswith(("loss", "eval/"))):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), (a["step"], key)
    assert (tmp_path / "fsdp" / "checkpoints" / "step-00000003" / "model.pt").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_resume_under_two_processes(corpus_dir: Path, tmp_path: Path, parallel: str) -> None:
    """2 steps + resume + 2 steps under torchrun gives the losses of 4 uninterrupted steps."""
    setting = f"runtime.parallel={parallel}"
    whole = _pretrain(corpus_dir, tmp_path / "whole", 2, setting, steps=4)
    _pretrain(corpus_dir, tmp_path / "split", 2, setting, steps=2)
    resumed = _pretrain(corpus_dir, tmp_path / "split", 2, setting, "--resume", steps=4)
    assert [r["step"] for r in resumed] == [r["step"] for r in whole]
    for a, b in zip(whole, resumed, strict=True):
        for key in (k for k in a if k.startswith(("loss", "eval/"))):
            assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-7), (a["step"], key)
