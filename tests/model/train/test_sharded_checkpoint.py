"""Sharded (DCP) checkpoints: the folder layout, its checks, reading it without a process group, and
under FSDP with 2 gloo processes an exact resume and the same weights as a full-state checkpoint."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from kgtext.corpus.shards import sha256_file
from kgtext.model.checkpoint import load_model, sharded_payload
from kgtext.model.ernie import Ernie3Model
from kgtext.model.train import checkpoint as ckpt
from kgtext.model.train.config import TrainConfig
from kgtext.model.train.dist import SHARDED_MODEL_PREFIX, load_sharded, save_sharded
from kgtext.model.train.objective import PretrainObjective
from kgtext.model.train.setup import make_optimizer
from kgtext.model.use.export import main as export_main
from kgtext.model.use.load import load
from tests.model.conftest import build, tree
from tests.model.train.test_dist import _pretrain

SHARDED_STEP = [
    "meta.json",
    "model.pt",
    "rank-00000.pt",
    "rank-00001.pt",
    "sharded",
    "sharded/.metadata",
    "sharded/__0_0.distcp",
    "sharded/__1_0.distcp",
    "trainer.pt",
]


def _stepped(
    seed: int, untouched: str | None = None
) -> tuple[Ernie3Model, PretrainObjective, torch.optim.Optimizer]:
    """A small model after one AdamW step on a fake gradient (so the optimizer has state to save); the
    parameters whose names start with ``untouched`` get no gradient, hence no optimizer state."""
    model = build(seed)
    objective = PretrainObjective(model)
    optimizer = make_optimizer(objective, TrainConfig())
    for name, p in objective.named_parameters():
        p.grad = None if untouched and name.startswith(untouched) else torch.full_like(p, 0.01)
    optimizer.step()
    return model, objective, optimizer


def _sharded_checkpoint(run: Path, objective: PretrainObjective, optimizer: torch.optim.Optimizer) -> Path:
    """A one-process sharded checkpoint written by the trainer's own functions (step 1)."""
    groups = save_sharded(ckpt.tmp_dir(run, 1) / ckpt.SHARDED, objective, optimizer)
    ckpt.save_rank_part(run, 1, 0, {"rng": torch.get_rng_state(), "mems": None})
    payload = sharded_payload(objective.model.config, ckpt.SHARDED, SHARDED_MODEL_PREFIX)
    return ckpt.finalize(run, 1, payload, {"step": 1, "optimizer": {"param_groups": groups}}, keep=2)


def test_a_sharded_checkpoint_is_checked_and_read_without_a_process_group(tmp_path: Path) -> None:
    model, objective, optimizer = _stepped(0, untouched="model.nlg.")  # as in an NLU-only run
    path = _sharded_checkpoint(tmp_path, objective, optimizer)
    assert tree(path) == [
        "meta.json", "model.pt", "rank-00000.pt", "sharded", "sharded/.metadata", "sharded/__0_0.distcp",
        "trainer.pt",
    ]  # fmt: skip
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    assert (
        meta["layout"] == "sharded" and sorted(meta["files"]) == [n for n in tree(path) if "." in n[-9:]][1:]
    )
    assert ckpt.problem_of(path, 1) is None and ckpt.find_resumable(tmp_path, 1) == path
    loaded = load_model(path / "model.pt")
    assert list(loaded.state_dict()) == list(model.state_dict())
    assert all(
        torch.equal(a, b)
        for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True)
    )
    _, fresh, fresh_optimizer = _stepped(1)  # other weights and other moments, overwritten by the load
    load_sharded(
        path / ckpt.SHARDED,
        fresh,
        fresh_optimizer,
        ckpt.load_part(path, ckpt.TRAINER)["optimizer"]["param_groups"],
    )
    want, got = optimizer.state_dict(), fresh_optimizer.state_dict()
    assert 0 < len(want["state"]) < len(list(objective.parameters()))  # the NLG stack has no AdamW state
    assert got["param_groups"] == want["param_groups"] and list(got["state"]) == list(want["state"])
    for i, state in want["state"].items():
        assert all(torch.equal(value, got["state"][i][key]) for key, value in state.items())
    assert all(
        torch.equal(a, b)
        for a, b in zip(fresh.state_dict().values(), objective.state_dict().values(), strict=True)
    )


def test_an_unlisted_or_corrupt_shard_makes_the_checkpoint_unsound(tmp_path: Path) -> None:
    _, objective, optimizer = _stepped(0)
    path = _sharded_checkpoint(tmp_path, objective, optimizer)
    meta_path = path / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    unlisted = {**meta, "files": {k: v for k, v in meta["files"].items() if k != "sharded/__0_0.distcp"}}
    meta_path.write_text(json.dumps(unlisted), encoding="utf-8")
    assert (
        ckpt.problem_of(path, 1)
        == "sharded/.metadata refers to sharded/__0_0.distcp, which meta.json does not list"
    )
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    shard = path / "sharded" / "__0_0.distcp"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert ckpt.problem_of(path, 1) == "sharded/__0_0.distcp is corrupt (sha256 differs from meta.json)"
    assert ckpt.find_resumable(tmp_path, 1) is None


class _RunsCode:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, ("touch pwned",)


def test_a_crafted_dcp_index_cannot_run_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, objective, optimizer = _stepped(0)
    path = _sharded_checkpoint(tmp_path / "run", objective, optimizer)
    (path / "sharded" / ".metadata").write_bytes(pickle.dumps(_RunsCode()))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"cannot read its sharded weights .*posix.system is not allowed"):
        load_model(path / "model.pt")
    assert ckpt.problem_of(path, 1) == "sharded/.metadata is corrupt (sha256 differs from meta.json)"
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    meta["files"]["sharded/.metadata"] = sha256_file(path / "sharded" / ".metadata")  # a consistent forgery
    (path / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    assert "posix.system is not allowed in a DCP .metadata" in str(ckpt.problem_of(path, 1))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.slow
def test_fsdp_sharded_checkpoints_resume_exactly_and_export(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """2 gloo processes under FSDP: sharded checkpoints by default; 2 steps + resume + 2 steps gives the
    losses of 4 steps exactly; the weights equal a full-state run's; export-model and load() read them."""
    fsdp = "runtime.parallel=fsdp"
    whole = _pretrain(corpus_dir, tmp_path / "whole", 2, fsdp, steps=4)
    step_4 = tmp_path / "whole" / "checkpoints" / "step-00000004"
    assert tree(step_4) == SHARDED_STEP
    _pretrain(corpus_dir, tmp_path / "split", 2, fsdp, steps=2)
    resumed = _pretrain(corpus_dir, tmp_path / "split", 2, fsdp, "--resume", steps=4)
    exact = ("step", "kind", "loss", "eval/", "tokens_seen", "lr", "seq_len", "batch_size", "mem_len")
    assert [{k: v for k, v in r.items() if k.startswith(exact)} for r in resumed] == [
        {k: v for k, v in r.items() if k.startswith(exact)} for r in whole
    ]
    full = tmp_path / "full"
    _pretrain(corpus_dir, full, 2, fsdp, "checkpoint.sharded=false", steps=4)
    assert "sharded" not in tree(full / "checkpoints" / "step-00000004")
    expected = load(full).model.state_dict()
    from_shards = load(tmp_path / "whole").model.state_dict()
    assert list(from_shards) == list(expected)
    assert all(torch.equal(from_shards[k], expected[k]) for k in expected)
    export_main([str(tmp_path / "whole"), "--out", str(tmp_path / "export")])
    assert capsys.readouterr().out.startswith(f"exported {(step_4 / 'model.pt').resolve()} (step 4)")
    shutil.rmtree(tmp_path / "whole")
    exported = load(tmp_path / "export").model.state_dict()
    assert all(torch.equal(exported[k], expected[k]) for k in expected)
