"""Hostile conditions of ``kgtext pretrain``: a second run into a held run folder, ``--resume`` with a
``--set model.*`` the checkpoint does not have, and a full disk (fault injection: the first write of the
chosen file fails with ENOSPC after a few bytes, as on a real device). Each ends in one line, exit 1, with
no temporary file left and the earlier checkpoints intact."""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import kgtext.model.files
import kgtext.model.train.log
from kgtext.corpus.replace import OutputLock
from kgtext.corpus.shards import sha256_file
from kgtext.model.train import checkpoint as ckpt
from kgtext.model.train.cli import main
from tests.model.conftest import corpus_dir  # noqa: F401 - the session fixture (a real five-task corpus)
from tests.model.train.test_loop import SMALL


@pytest.fixture(autouse=True)
def _one_thread_and_quiet_logs() -> Iterator[None]:
    """One intra-op thread (tiny models), and a root handler so that main() configures no stderr logging
    (stderr then holds only the errors, whatever pytest's logging plugin does)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    handler = logging.NullHandler()
    logging.getLogger().addHandler(handler)
    yield
    logging.getLogger().removeHandler(handler)
    torch.set_num_threads(before)


def argv(corpus: Path, out: Path, steps: int, *extra: str) -> list[str]:
    sets = [*SMALL, "checkpoint.interval=2"]
    return [
        *("--corpus", str(corpus), "--preset", "tiny", "--out", str(out), "--max-steps", str(steps)),
        *sum((["--set", s] for s in sets), []),
        *extra,
    ]


def fails(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one stderr line of a pretrain run that exits 1."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


class _FullDiskFile(io.FileIO):
    """A file on a full disk: a write stores a few bytes, then fails with ENOSPC (no file name, as a write)."""

    def write(self, data: Any) -> int:
        super().write(bytes(data)[:16])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def full_disk(monkeypatch: pytest.MonkeyPatch, module: Any, hit: Callable[[str], bool]) -> None:
    """Make ``module``'s ``open`` of a path for which ``hit(path)`` is true open a :class:`_FullDiskFile`."""

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if not any(c in mode for c in "wax") or not hit(os.fspath(file)):
            return open(file, mode, *args, **kwargs)
        raw = _FullDiskFile(file, mode.replace("b", "").replace("t", ""))
        if "b" in mode:
            return raw
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding=kwargs.get("encoding", "utf-8"))

    monkeypatch.setattr(module, "open", fake_open, raising=False)


ROOT = Path(__file__).resolve().parents[2]
FREE = r"no space left on the device \(\d+(\.\d)? (B|KiB|MiB|GiB|TiB) free in /"


def test_a_second_run_into_a_held_run_folder_is_refused(
    corpus_dir: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    with OutputLock(out, "pretrain"):  # the first run, still training
        line = fails(argv(corpus_dir, out, 2), capsys)
    assert line.startswith(
        f"kgtext pretrain: {out}: another kgtext job is writing this run folder (kgtext pretrain pid {os.getpid()} "
    )
    assert line.endswith("; wait for it to end or choose another --out")
    assert not out.exists()  # the refused run wrote nothing


def test_a_run_releases_its_lock(corpus_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "run"
    main(argv(corpus_dir, out, 2))
    assert not (tmp_path / ".run.lock").exists()
    with OutputLock(out):  # free again
        pass


def test_resume_refuses_a_model_override(
    corpus_dir: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    main(argv(corpus_dir, out, 2))
    before = (out / "config.json").read_text()
    line = fails([*argv(corpus_dir, out, 3), "--resume", "--set", "model.tgt_len=128"], capsys)
    step = out / ckpt.CHECKPOINTS / ckpt.step_dir_name(2)
    assert line == (
        f"kgtext pretrain: cannot resume from {step}: --set model.tgt_len=128 differs from the checkpoint's "
        "model.tgt_len=32; a resumed run keeps the checkpoint's model (start a new run to change it)"
    )
    assert (out / "config.json").read_text() == before
    assert json.loads(before)["model"]["tgt_len"] == 32
    # Repeating the checkpoint's own value is no change.
    main([*argv(corpus_dir, out, 3), "--resume", "--set", "model.tgt_len=32"])
    assert ckpt.list_checkpoints(out)[-1].name == ckpt.step_dir_name(3)


def test_a_full_disk_while_checkpointing_keeps_the_last_checkpoint(
    corpus_dir: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "run"
    tmp_step = ckpt.tmp_dir(out, 4)
    full_disk(monkeypatch, kgtext.model.files, lambda path: path == str(tmp_step / ckpt.MODEL))
    line = fails(argv(corpus_dir, out, 4), capsys)
    assert line.startswith(f"kgtext pretrain: {tmp_step / ckpt.MODEL}: ")
    assert re.search(FREE, line), line
    assert [p.name for p in (out / ckpt.CHECKPOINTS).iterdir()] == [ckpt.step_dir_name(2)]
    assert ckpt.find_resumable(out, 1) == out / ckpt.CHECKPOINTS / ckpt.step_dir_name(2)


def test_a_full_disk_while_writing_the_run_config(
    corpus_dir: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "run"
    full_disk(monkeypatch, kgtext.model.files, lambda path: path.endswith("config.json.tmp"))
    line = fails(argv(corpus_dir, out, 2), capsys)
    assert line.startswith(f"kgtext pretrain: {out / 'config.json'}: ")
    assert re.search(FREE, line), line
    assert not (out / "config.json.tmp").exists() and not (out / "config.json").exists()


def test_a_full_disk_while_appending_metrics(
    corpus_dir: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "run"
    full_disk(monkeypatch, kgtext.model.train.log, lambda path: path.endswith("metrics.jsonl"))
    line = fails(argv(corpus_dir, out, 2), capsys)
    assert line.startswith(f"kgtext pretrain: {out}")
    assert re.search(FREE, line), line


class _Global:
    """Pickles as a call of ``os.mkdir(marker)``: what a crafted file would run if it were unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def _rewrite(step: Path, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Replace checkpoint file ``name`` by ``change(its content)`` and rehash meta.json (hashes match)."""
    path = step / name
    torch.save(change(torch.load(path, weights_only=True)), path)
    meta = json.loads((step / ckpt.META).read_text())
    meta["files"][name] = sha256_file(path)
    (step / ckpt.META).write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            ckpt.TRAINER,
            lambda s: s | {"data": []},
            "trainer.pt: not a kgtext checkpoint file: 'data' is a list",
        ),
        (ckpt.TRAINER, lambda s: {}, "trainer.pt: not a kgtext checkpoint file: lacks 'train_config'"),
        (
            ckpt.MODEL,
            lambda s: s | {"state_dict": list(s["state_dict"].values())},
            "model.pt: not a kgtext checkpoint file: 'state_dict' is a list",
        ),
        (
            ckpt.rank_file(0),
            lambda s: s | {"rng": 3},
            "rank-00000.pt: not a kgtext checkpoint file: 'rng' is a int",
        ),
        (
            ckpt.rank_file(0),
            lambda s: s | {"mems": _Global(Path("/nonexistent/ran"))},
            "rank-00000.pt: not a kgtext checkpoint file of plain tensors and values (UnpicklingError: "
            "Trying to load unsupported GLOBAL posix.mkdir",
        ),
    ],
)
def test_resume_from_checkpoint_files_of_the_wrong_shape(
    name: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    expected: str,
    corpus_dir: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The hashes match (meta.json is rewritten): the content is checked anyway, one line naming the file."""
    out = tmp_path / "run"
    main(argv(corpus_dir, out, 2))
    step = out / ckpt.CHECKPOINTS / ckpt.step_dir_name(2)
    _rewrite(step, name, change)
    line = fails([*argv(corpus_dir, out, 3), "--resume"], capsys)
    assert line.startswith(f"kgtext pretrain: {step}/{expected}"), line


@pytest.mark.slow
def test_a_held_run_folder_refuses_a_torchrun_job_on_every_rank(
    corpus_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Under torchrun rank 0 takes the lock and every rank learns it was refused: the job ends (no rank
    waits forever in a collective) with rank 0's one line."""
    out = tmp_path / "run"
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [
        str(torchrun),
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "kgtext.model.pretrain",
        *argv(corpus_dir, out, 2),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with OutputLock(out, "pretrain"):
        result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("kgtext pretrain: ")]
    assert len(lines) == 1 and "another kgtext job is writing this run folder" in lines[0], result.stderr[
        -2000:
    ]
    assert not out.exists()
