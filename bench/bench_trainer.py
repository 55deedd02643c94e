"""Benchmark: the trainer's data path vs what the tiny preset consumes, and the trainer vs in-memory batches.

Input: the corpus ``kgtext build-corpus`` makes from the bundled ``data/sample`` (500 Re-DocRED documents;
built once into ``bench/_work/trainer/corpus``), the ``tiny`` preset with its training defaults on CPU.
Figures, each against a baseline measured in the same run:

1. loader rows/s (``PretrainData.next`` at the full tiny batch and sequence length: reading memory-mapped
   shards, masking, permuting, padding) over the rows/s one training step consumes (aim >= 10x);
2. trainer tokens/s fed by the real loader over the same trainer fed from pre-built in-memory batches
   (interleaved blocks of steps on one model; aim >= 0.95);
3. fp32 vs bf16 autocast tokens/s on this CPU (why ``runtime.precision=auto`` means fp32 on CPUs).

Times are CPU seconds of this process (``time.process_time``; the tiny preset runs one torch thread), so
the figures hold on a shared, loaded machine where wall-clock time does not.

Run: ``python -m bench.bench_trainer``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import torch

from kgtext.model.train.config import apply_overrides
from kgtext.model.train.loop import Trainer
from kgtext.model.train.presets import train_preset
from kgtext.model.train.setup import build_trainer

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work" / "trainer"
BLOCK = 8
"""Steps per timed block; blocks of real-loader and in-memory steps alternate."""
ROUNDS = 4
"""Rounds of (real, in-memory) blocks; odd rounds run in-memory first (ABBA order cancels drift)."""

logger = logging.getLogger(__name__)


def corpus() -> Path:
    """The sample corpus (built once with ``kgtext build-corpus``)."""
    out = WORK / "corpus"
    if not (out / "manifest.json").is_file():
        command = [
            sys.executable,
            "-m",
            "kgtext",
            "build-corpus",
            "--kg",
            str(ROOT / "data/sample/kg.ttl"),
            "--docs",
            str(ROOT / "data/sample/docs.jsonl"),
            "--out",
            str(out),
            "--overwrite",
            "--runner=DirectRunner",
        ]
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return out


def make_trainer(precision: str = "fp32") -> Trainer:
    config = apply_overrides(
        train_preset("tiny"),
        [
            "eval.interval=0",
            "checkpoint.interval=100000",
            "log.interval=100000",
            "log.tensorboard=false",
            f"runtime.precision={precision}",
            "optim.max_steps=100000",
        ],
    )
    trainer = build_trainer(corpus(), "tiny", WORK / f"run-{precision}", config, overwrite=True)
    trainer.step = config.progressive.steps  # past the ramp: full batch and sequence length
    return trainer


def time_steps(trainer: Trainer, steps: int) -> tuple[float, int]:
    """(CPU seconds, tokens) of ``steps`` optimizer steps."""
    tokens = 0
    start = time.process_time()
    for _ in range(steps):
        tokens += int(trainer.train_step()["tokens"])
    return time.process_time() - start, tokens


def loader_vs_consumption(trainer: Trainer) -> tuple[float, float, float]:
    """(loader rows/s, trainer rows/s, pad fraction) at the full tiny factors."""
    factors = trainer.factors()
    data = trainer.parts.data
    rows_per_step = factors.batch_size + trainer.parts.config.data.dlm_streams
    count = 60
    start = time.process_time()
    for _ in range(count):
        data.next(factors.batch_size, factors.seq_len)
    loader = count * rows_per_step / (time.process_time() - start)
    seconds, _ = time_steps(trainer, BLOCK)
    consumed = BLOCK * rows_per_step * trainer.parts.config.optim.grad_accum / seconds
    return loader, consumed, data.collator.pad_stats.pad_fraction


def real_vs_memory(trainer: Trainer) -> tuple[float, float]:
    """Tokens/s with the real loader and with pre-built batches, interleaved on one model."""
    factors = trainer.factors()
    real_loader = trainer.parts.data.next
    cached = [real_loader(factors.batch_size, factors.seq_len) for _ in range(BLOCK * ROUNDS)]
    totals = {"real": [0.0, 0], "memory": [0.0, 0]}
    for r in range(ROUNDS):
        for kind in ("real", "memory") if r % 2 == 0 else ("memory", "real"):
            if kind == "memory":
                batches = iter(cached[r * BLOCK : (r + 1) * BLOCK])
                trainer.parts.data.next = lambda *_, it=batches: next(it)  # type: ignore[method-assign]
            seconds, tokens = time_steps(trainer, BLOCK)
            trainer.parts.data.next = real_loader  # type: ignore[method-assign]
            totals[kind][0] += seconds
            totals[kind][1] += tokens
    return totals["real"][1] / totals["real"][0], totals["memory"][1] / totals["memory"][0]


def fp32_vs_bf16() -> tuple[float, float]:
    """Tokens/s of two fresh trainers (same data, same start) in fp32 and in bf16 autocast, ABBA blocks."""
    trainers = {"fp32": make_trainer("fp32"), "bf16": make_trainer("bf16")}
    totals = {kind: [0.0, 0] for kind in trainers}
    for r in range(ROUNDS):
        for kind in ("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32"):
            seconds, tokens = time_steps(trainers[kind], BLOCK)
            totals[kind][0] += seconds
            totals[kind][1] += tokens
    return totals["fp32"][1] / totals["fp32"][0], totals["bf16"][1] / totals["bf16"][0]


def run() -> str:
    torch.manual_seed(0)
    trainer = make_trainer()
    time_steps(trainer, 2)  # warm-up
    loader, consumed, pad = loader_vs_consumption(trainer)
    real, memory = real_vs_memory(trainer)
    fp32_tps, bf16_tps = fp32_vs_bf16()
    factors = trainer.factors()
    return "\n".join(
        [
            "## Trainer (`kgtext pretrain`, tiny preset, CPU)",
            "",
            f"Corpus built from `data/sample` (500 Re-DocRED documents); tiny preset training defaults after the "
            f"progressive ramp (global NLU batch {factors.batch_size}, {trainer.parts.config.data.dlm_streams} DLM "
            f"streams, sequence length {factors.seq_len}, {torch.get_num_threads()} torch thread(s)); rates in "
            "CPU seconds of the benchmark process.",
            "",
            "| measure | value | baseline | ratio |",
            "|---|---|---|---|",
            f"| loader rows/s vs rows/s the trainer consumes | {loader:,.0f} | {consumed:,.1f} | {loader / consumed:.1f}x |",
            f"| trainer tokens/s, real loader vs in-memory batches | {real:,.0f} | {memory:,.0f} | {real / memory:.3f} |",
            f"| bf16 autocast vs fp32 tokens/s (CPU) | {bf16_tps:,.0f} | {fp32_tps:,.0f} | {bf16_tps / fp32_tps:.2f} |",
            "",
            f"NLU padding fraction with length bucketing: {pad:.1%} of token slots.",
            "",
        ]
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(run())
