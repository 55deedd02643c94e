"""model.train.eval: baselines over exactly the evaluated targets, whole-split reading, gradient norms."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks.task import Task
from kgtext.model.data.batch import IGNORE
from kgtext.model.data.mixture import PretrainData
from kgtext.model.data.source import usable_rows
from kgtext.model.train.baselines import TASK_FIGURES
from kgtext.model.train.dist import DistContext
from kgtext.model.train.eval import Evaluator, GradNormProbe, module_group
from kgtext.model.train.objective import PretrainObjective
from kgtext.model.train.setup import model_config_for
from tests.model.train.conftest import MockModel
from tests.model.train.test_loop import small_config

TASKS = ["kmlm", "uktp", "sr", "sd", "dlm"]
CTX = DistContext(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
SEQ_LEN = 32


@pytest.fixture(scope="module")
def objective(corpus_dir: Path) -> PretrainObjective:
    config = small_config()
    torch.manual_seed(0)
    return PretrainObjective(MockModel(model_config_for("tiny", config, CorpusReader(corpus_dir))))


def evaluate(corpus_dir: Path, objective: PretrainObjective, batches: int | None) -> dict:
    config = small_config()
    reader = CorpusReader(corpus_dir)
    evaluator = Evaluator(reader, config.data, TASKS, objective, CTX, batches=batches, seq_len=SEQ_LEN)
    return evaluator(0)


def share_and_entropy(values: list[int]) -> tuple[float, float]:
    counts = Counter(values)
    total = sum(counts.values())
    return max(counts.values()) / total, -sum(c / total * math.log(c / total) for c in counts.values())


def test_baselines_are_those_of_the_evaluated_targets(corpus_dir: Path, objective: PretrainObjective) -> None:
    out = evaluate(corpus_dir, objective, batches=1)
    # One batch per task = the first micro-batch of the trainer's valid order (the same rows and masks).
    config = small_config()
    first = PretrainData(CorpusReader(corpus_dir), config.data, TASKS, split="valid", shuffle=False).next(
        config.data.batch_size, SEQ_LEN
    )
    for task in ("kmlm", "uktp"):
        labels = first.nlu[Task(task)].labels
        scored = labels[labels != IGNORE].tolist()
        share, entropy = share_and_entropy(scored)
        assert out[f"eval/{task}/baseline_accuracy"] == pytest.approx(share, abs=1e-12)
        assert out[f"eval/{task}/unigram_loss"] == pytest.approx(entropy, abs=1e-12)
        assert out[f"eval/{task}/targets"] == len(scored)
        assert out[f"eval/{task}/rows"] == int((labels != IGNORE).any(1).sum())
    for task in ("sr", "sd"):
        labels = first.nlu[Task(task)].labels.tolist()
        share, entropy = share_and_entropy(labels)
        assert out[f"eval/{task}/baseline_accuracy"] == out[f"eval/{task}/chance"] == pytest.approx(share)
        assert out[f"eval/{task}/unigram_loss"] == pytest.approx(entropy, abs=1e-12)
        assert out[f"eval/{task}/rows"] == out[f"eval/{task}/targets"] == len(labels)
    assert first.dlm is not None
    share, entropy = share_and_entropy(first.dlm.targets.reshape(-1).tolist())
    assert out["eval/dlm/baseline_accuracy"] == pytest.approx(share, abs=1e-12)
    assert out["eval/dlm/unigram_perplexity"] == pytest.approx(math.exp(entropy))
    assert out["eval/dlm/rows"] == config.data.dlm_streams
    assert out["eval/dlm/targets"] == config.data.dlm_streams * SEQ_LEN


def test_whole_split_reads_every_row_once(corpus_dir: Path, objective: PretrainObjective) -> None:
    reader = CorpusReader(corpus_dir)
    whole = evaluate(corpus_dir, objective, batches=None)
    assert whole["eval/sd/rows"] == sum(s.rows for s in reader.shards("sd", "valid"))
    usable_sr = sum(int(usable_rows(Task.SR, t).sum()) for t in reader.iter_tables("sr", "valid"))
    assert whole["eval/sr/rows"] == usable_sr < sum(s.rows for s in reader.shards("sr", "valid"))
    assert whole["eval/kmlm/rows"] <= sum(s.rows for s in reader.shards("kmlm", "valid"))
    dlm_tokens = sum(
        len(ids) for t in reader.iter_tables("dlm", "valid") for ids in t.column("input_ids").to_pylist()
    )
    assert whole["eval/dlm/targets"] == whole["eval/dlm/rows"] * SEQ_LEN < dlm_tokens
    # More batches than the split holds: the same rows (a row is never read twice).
    many = evaluate(corpus_dir, objective, batches=10_000)
    for task in ("kmlm", "uktp", "sr", "sd", "dlm"):
        for name in ("rows", "targets", "loss", "accuracy", "baseline_accuracy"):
            assert many[f"eval/{task}/{name}"] == whole[f"eval/{task}/{name}"], (task, name)


def test_every_task_has_the_same_figures(corpus_dir: Path, objective: PretrainObjective) -> None:
    out = evaluate(corpus_dir, objective, batches=1)
    for task in TASKS:
        for name in TASK_FIGURES:
            assert f"eval/{task}/{name}" in out, (task, name)
        assert 0 <= out[f"eval/{task}/lower_bound"] <= out[f"eval/{task}/accuracy"]
        assert out[f"eval/grad_norm/{task}"] > 0
    assert out["eval/grad_norm/kmlm/embed"] > 0 and "eval/grad_norm/kmlm/nlg" not in out
    assert out["eval/grad_norm/dlm/nlg"] > 0 and "eval/grad_norm/dlm/nlu" not in out


def test_module_groups() -> None:
    assert module_group("embed.word.weight") == "embed"
    assert module_group("universal.layers.0.ff.0.weight") == "universal"
    assert module_group("nlg.layers.1.attn.r_w_bias") == "nlg"
    assert [module_group(n) for n in ("mlm_head.bias", "cls_heads.sd.weight", "lm_head.proj.weight")] == [
        "heads"
    ] * 3


def test_grad_norms_equal_a_backward_of_each_tasks_mean_loss(corpus_dir: Path) -> None:
    config = small_config("model.dropout=0.5")  # dropout on: the probe must turn it off
    reader = CorpusReader(corpus_dir)
    torch.manual_seed(0)
    objective = PretrainObjective(MockModel(model_config_for("tiny", config, reader))).train()
    batch = PretrainData(reader, config.data, TASKS, split="train", shuffle=False).next(
        config.data.batch_size, SEQ_LEN
    )
    norms = GradNormProbe(batch)(objective, CTX)
    assert objective.training and all(p.grad is None for p in objective.parameters())  # nothing touched
    objective.eval()
    nlu, dlm = batch.to(CTX.device)
    for task in TASKS:
        objective.zero_grad(set_to_none=True)
        sums, _ = objective(
            {Task(task): nlu[Task(task)]} if task != "dlm" else {}, dlm if task == "dlm" else None, None
        )
        (sums.loss[task] / sums.targets[task]).backward()
        squares: dict[str, float] = {}
        for name, p in objective.model.named_parameters():
            if p.grad is not None:
                squares[module_group(name)] = squares.get(module_group(name), 0.0) + float(
                    p.grad.pow(2).sum()
                )
        assert norms[f"grad_norm/{task}"] == pytest.approx(math.sqrt(sum(squares.values())), rel=1e-5)
        for group, square in squares.items():
            assert norms[f"grad_norm/{task}/{group}"] == pytest.approx(math.sqrt(square), rel=1e-5)
    # The same batch again: the same figures (eval mode, no dropout draw).
    assert GradNormProbe(batch)(objective, CTX) == pytest.approx(norms, rel=1e-6)


def test_grad_probe_uses_the_first_train_batch_every_time(
    corpus_dir: Path, objective: PretrainObjective
) -> None:
    config = small_config()
    evaluator = Evaluator(
        CorpusReader(corpus_dir), config.data, TASKS, objective, CTX, batches=1, seq_len=SEQ_LEN
    )
    first = evaluator(0)
    second = evaluator(1)
    keys = [k for k in first if k.startswith("eval/grad_norm/")]
    assert len(keys) >= 15 and all(first[k] == second[k] for k in keys)
    assert np.isfinite([first[k] for k in keys]).all()
