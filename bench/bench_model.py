"""Benchmark: training-step tokens/s of the ERNIE 3.0 Transformer-XL model vs a vanilla TransformerEncoder.

Both models get the same depth, widths, heads, FFN size, vocabulary, tied output structure, batch and sequence
length, and run the same step (forward, cross-entropy over every position, backward, AdamW). The baseline is
``torch.nn.TransformerEncoder`` (universal shape) -> linear projection -> ``TransformerEncoder`` (task shape),
i.e. the same network without relative positions and memory. Rows:

- ``nlu``: bidirectional path, padding-only mask, no memory (baseline: no mask);
- ``nlg``: causal path with segment-level memory of ``mem_len`` positions (baseline: causal, no memory, so the
  ratio includes the cost of attending to the memory as well as relative attention).

On CPU the shapes are cut to a short sequence and base-ablation to a vocabulary of 8000 (the 2-core budget);
with CUDA the base-ablation shape also runs in bf16 autocast at its full context (512, memory 128), eager and
with both sides under ``torch.compile``, reporting tokens/s and model FLOPs utilisation.
Uses no data files (random token ids; speed does not depend on the values). Run: ``python -m bench.bench_model``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from kgtext.model.config import ModelConfig, StackConfig
from kgtext.model.ernie import Ernie3Model, Memory
from kgtext.model.presets import get_preset

logger = logging.getLogger(__name__)

# Dense bf16 peak (FLOP/s) of GPUs we may meet, for MFU; unknown devices report no MFU.
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


class Shape(NamedTuple):
    preset: str
    batch: int
    seq_len: int
    mem_len: int
    steps: int
    vocab_size: int | None = None
    """Override of the preset's vocabulary (None keeps it)."""


class Timing(NamedTuple):
    tokens_per_s: float
    seconds_per_step: float


def _encoder(stack: StackConfig, config: ModelConfig) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        stack.d_model,
        stack.n_head,
        stack.d_inner,
        dropout=config.dropout,
        activation="gelu",
        batch_first=True,
        norm_first=config.pre_lnorm,
    )
    return nn.TransformerEncoder(layer, stack.n_layer, enable_nested_tensor=False)


class VanillaBaseline(nn.Module):
    """Embedding -> TransformerEncoder (universal) -> Linear -> TransformerEncoder (task) -> tied vocab logits."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        task = config.nlu
        self.embed = nn.Embedding(config.vocab_size, config.d_embed)
        self.universal = _encoder(config.universal, config)
        self.proj = nn.Linear(config.d_embed, task.d_model)
        self.task = _encoder(task, config)
        self.out_proj = nn.Linear(task.d_model, config.d_embed, bias=False)

    def forward(self, ids: Tensor, causal: bool) -> Tensor:
        t = ids.size(1)
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=ids.device) if causal else None
        h = self.universal(self.embed(ids), mask=mask, is_causal=causal)
        h = self.task(self.proj(h), mask=mask, is_causal=causal)
        return F.linear(self.out_proj(h), self.embed.weight)


def _time_interleaved(
    steps: dict[str, Callable[[], None]], n: int, rounds: int, sync: Callable[[], None]
) -> dict[str, float]:
    """Best seconds/step of each step function over ``rounds`` alternating rounds of ``n`` steps.

    Alternating and taking the best round keeps a shared, noisy CPU from favouring whichever runs first.
    """
    best = dict.fromkeys(steps, float("inf"))
    for step in steps.values():  # warm-up (allocator, kernels, optimizer state)
        step()
        step()
    for _ in range(rounds):
        for name, step in steps.items():
            sync()
            start = time.perf_counter()
            for _ in range(n):
                step()
            sync()
            best[name] = min(best[name], (time.perf_counter() - start) / n)
    return best


def _step_fn(
    model: nn.Module, forward: Callable[[], Tensor], targets: Tensor, autocast: AbstractContextManager[None]
) -> Callable[[], None]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        with autocast:
            logits = forward()
            loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def measure(
    shape: Shape, paradigm: str, device: torch.device, bf16: bool, compile_: bool = False
) -> tuple[Timing, Timing]:
    """(ours, baseline) timings of one training step shape on ``device``."""
    config = get_preset(shape.preset, tgt_len=max(shape.seq_len, 8), mem_len=shape.mem_len)
    if shape.vocab_size is not None:
        config = config.replace(vocab_size=shape.vocab_size)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1, config.vocab_size, (shape.batch, shape.seq_len), generator=gen).to(device)
    pad = torch.ones_like(ids, dtype=torch.bool)
    autocast: AbstractContextManager[None] = (
        torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    )
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    ours = Ernie3Model(config).to(device).train()
    state: dict[str, Memory | None] = {"mems": None}

    def ours_forward() -> Tensor:
        if paradigm == "nlu":
            return ours.mlm_logits(ours.forward_nlu(ids, None, pad))
        out = ours.forward_nlg(ids, state["mems"])
        state["mems"] = out.mems
        return ours.lm_logits(out.hidden)

    base = VanillaBaseline(config).to(device).train()
    forwards: dict[str, Callable[[], Tensor]] = {
        "ours": ours_forward,
        "base": lambda: base(ids, paradigm == "nlg"),
    }
    if compile_:  # both sides compiled, so the ratio stays like for like
        forwards = {name: torch.compile(fn) for name, fn in forwards.items()}
    steps = {
        "ours": _step_fn(ours, forwards["ours"], ids, autocast),
        "base": _step_fn(base, forwards["base"], ids, autocast),
    }
    best = _time_interleaved(steps, shape.steps, rounds=3, sync=sync)
    tokens = shape.batch * shape.seq_len
    return Timing(tokens / best["ours"], best["ours"]), Timing(tokens / best["base"], best["base"])


def flops_per_token(config: ModelConfig, paradigm: str, seq_len: int, mem_len: int) -> float:
    """Training FLOPs per token of our model: 6 x matmul parameters used + attention (QK, PV, relative term)."""
    task = config.nlu if paradigm == "nlu" else config.nlg
    k_len = seq_len + (mem_len if paradigm == "nlg" else 0)
    p_len = k_len + seq_len - 1
    total = 0.0
    for stack in (config.universal, task):
        per_layer = 5 * stack.d_model**2 + 2 * stack.d_model * stack.d_inner  # q, kv (2), r, o + FFN
        total += 6 * stack.n_layer * per_layer + 6 * stack.n_layer * stack.d_model * (2 * k_len + p_len)
    total += 6 * (config.d_embed * task.d_model + config.d_embed * config.vocab_size)  # proj + tied head
    return total


def _cpu_section() -> list[str]:
    # One intra-op thread: on a shared 2-core machine two threads spin against other processes and the
    # timings swing 10x; one thread keeps the ratio (the point of this bench) stable.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _cpu_rows()
    finally:
        torch.set_num_threads(threads)  # run_all runs every bench in one process


def _cpu_rows() -> list[str]:
    torch.manual_seed(0)
    shapes = [Shape("tiny", 8, 128, 64, 4), Shape("base-ablation", 2, 128, 32, 2, vocab_size=8000)]
    rows = [
        "| shape | vocab | path | batch x seq (mem) | ours tok/s | TransformerEncoder tok/s | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for shape in shapes:
        for paradigm in ("nlu", "nlg"):
            ours, base = measure(shape, paradigm, torch.device("cpu"), bf16=False)
            mem = f" ({shape.mem_len})" if paradigm == "nlg" else ""
            rows.append(
                f"| {shape.preset} | {shape.vocab_size or get_preset(shape.preset).vocab_size} | {paradigm} | "
                f"{shape.batch} x {shape.seq_len}{mem} | {ours.tokens_per_s:,.0f} | "
                f"{base.tokens_per_s:,.0f} | {ours.tokens_per_s / base.tokens_per_s:.2f} |"
            )
            logger.info("%s", rows[-1])
    return rows


def _gpu_section() -> list[str]:
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
    shape = Shape("base-ablation", 16, 512, 128, 5)
    config = get_preset(shape.preset)
    rows = [
        f"GPU: {name}, bf16 autocast, base-ablation, batch {shape.batch} x {shape.seq_len}, memory {shape.mem_len}.",
        "",
        "| path | ours tok/s | TransformerEncoder tok/s | ratio | ours TFLOP/s | MFU |",
        "|---|---|---|---|---|---|",
    ]
    for paradigm, compile_ in (("nlu", False), ("nlg", False), ("nlu", True), ("nlg", True)):
        ours, base = measure(shape, paradigm, device, bf16=True, compile_=compile_)
        flops = flops_per_token(config, paradigm, shape.seq_len, shape.mem_len) * ours.tokens_per_s
        mfu = f"{flops / peak:.1%}" if peak else "n/a (unknown peak)"
        label = f"{paradigm} + torch.compile" if compile_ else paradigm
        rows.append(
            f"| {label} | {ours.tokens_per_s:,.0f} | {base.tokens_per_s:,.0f} | "
            f"{ours.tokens_per_s / base.tokens_per_s:.2f} | {flops / 1e12:.1f} | {mfu} |"
        )
    return rows


def run() -> str:
    """Measure and return the Markdown section for bench/RESULTS.md."""
    lines = [
        "## Model: training-step throughput (ERNIE 3.0 Transformer-XL vs vanilla TransformerEncoder)",
        "",
        "One training step (forward, CE over all positions, backward, AdamW) of our model vs "
        "`torch.nn.TransformerEncoder` stacks of the same depth/width/heads/FFN/vocab/sequence, same run. "
        "CPU: float32, 1 intra-op thread, random ids; nlg includes attending to the memory.",
        "",
        *_cpu_section(),
    ]
    if torch.cuda.is_available():
        lines += ["", *_gpu_section()]
    else:
        lines += ["", "No CUDA device: the bf16 / MFU rows were not measured."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark section (``python -m bench.bench_model``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(run())


if __name__ == "__main__":
    main()
