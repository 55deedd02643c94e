"""Hostile model inputs of generate, evaluate, finetune and --resume: one line naming the file or option.

Each case was a traceback: NaN weights, a non-UTF-8 prompt, a corrupt ``tokenizer/spm.model``, a
``--tokenizer`` that is a folder or not a model, malformed ``aliases`` in an export's ``config.json``, an
export with int64 tensors (an 83-line load_state_dict message), checkpoints whose hashes match but whose
content has the wrong shape (``trainer.pt`` = ``{}``, ``state_dict`` a list) and a pickle naming a global
on ``--resume``. The model here is tiny and untrained (its own 600-piece tokenizer): no corpus is needed.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch

from kgtext.corpus.shards import sha256_file
from kgtext.corpus.tasks.tokenizer import Tokenizer, TokenizerConfig, TokenizerError, train_tokenizer
from kgtext.model.checkpoint import (
    load_export,
    load_model,
    model_payload,
    save_export,
    save_model,
)
from kgtext.model.ernie import Ernie3Model
from kgtext.model.files import save_torch_file
from kgtext.model.train import checkpoint as ckpt
from kgtext.model.train.cli import main as pretrain_main
from kgtext.model.use import evaluate, generate
from kgtext.model.use import finetune as finetune_cli
from kgtext.model.use.generate import SamplingConfig
from tests.model.conftest import small_config
from tests.tasks.fixture_data import all_sentence_texts

ROOT = Path(__file__).resolve().parents[2]
FEWREL = {
    s: ROOT / "tests" / "fixtures" / "finetune" / f"fewrel_{s}.jsonl" for s in ("train", "valid", "test")
}


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    """A root handler, so that pretrain's main() configures no stderr logging (stderr holds only errors)."""
    handler = logging.NullHandler()
    logging.getLogger().addHandler(handler)
    yield
    logging.getLogger().removeHandler(handler)


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 600-piece kgtext SentencePiece model trained on the fixture sentences (half a second)."""
    folder = tmp_path_factory.mktemp("spm")
    return Path(train_tokenizer(all_sentence_texts(), str(folder / "spm"), TokenizerConfig(vocab_size=600)))


def tiny_model(seed: int = 0) -> Ernie3Model:
    torch.manual_seed(seed)
    return Ernie3Model(small_config(vocab_size=600)).eval()


def model_folder(root: Path, spm: Path, model: Ernie3Model | None = None) -> Path:
    """A model folder: ``model.pt`` + ``tokenizer/spm.model`` (what --checkpoint accepts)."""
    (root / "tokenizer").mkdir(parents=True)
    (root / "tokenizer" / "spm.model").write_bytes(spm.read_bytes())
    save_model(root / "model.pt", model or tiny_model())
    return root


def export_folder(root: Path, spm: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """An export folder (config.json + model.safetensors + tokenizer/), ``config.json`` optionally edited."""
    (root / "tokenizer").mkdir(parents=True)
    (root / "tokenizer" / "spm.model").write_bytes(spm.read_bytes())
    save_export(root, tiny_model(), {})
    if edit is not None:
        config = json.loads((root / "config.json").read_text())
        edit(config)
        (root / "config.json").write_text(json.dumps(config))
    return root


def checkpoint_run(root: Path, spm: Path, *, model: Any = None, trainer: Any = None) -> Path:
    """A run folder with one checkpoint whose meta.json matches its files (whatever they hold)."""
    step = root / ckpt.CHECKPOINTS / ckpt.step_dir_name(1)
    step.mkdir(parents=True)
    torch.save(model if model is not None else model_payload(tiny_model()), step / ckpt.MODEL)
    torch.save(trainer if trainer is not None else {}, step / ckpt.TRAINER)
    torch.save({"rng": torch.get_rng_state(), "mems": None}, step / ckpt.rank_file(0))
    files = {name: sha256_file(step / name) for name in (ckpt.MODEL, ckpt.TRAINER, ckpt.rank_file(0))}
    (step / ckpt.META).write_text(json.dumps({"step": 1, "layout": "full", "files": files}))
    (root / "tokenizer").mkdir()
    (root / "tokenizer" / "spm.model").write_bytes(spm.read_bytes())
    return root


def run(
    main: Callable[[list[str]], None], argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """(exit status, stderr) of a command's ``main``; stderr must be one line (plus argparse's usage)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    code = exit_info.value.code
    assert isinstance(code, int)
    if code == 1:
        assert len(err.strip().splitlines()) == 1, err
    return code, err.splitlines()[0]


def test_a_good_model_folder_generates(
    spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fixture itself is sound: the hostile variants below differ from it in one thing."""
    folder = model_folder(tmp_path / "m", spm_model)
    generate.main(["--checkpoint", str(folder), "--prompt", "Lark Force", "--max-new-tokens", "3"])
    assert capsys.readouterr().err == ""


def test_nan_temperature_is_refused_by_the_sampling_config_too() -> None:
    with pytest.raises(ValueError, match="--temperature must be a finite number >= 0, got nan"):
        SamplingConfig(float("nan")).validate()


def test_nan_weights_are_refused_by_generate_and_evaluate(
    spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tiny_model()
    name = next(iter(model.state_dict()))
    with torch.no_grad():
        model.state_dict()[name].view(-1)[0] = float("nan")
    folder = model_folder(tmp_path / "nan", spm_model, model)
    expected = f"{folder / 'model.pt'}: tensor {name!r} holds NaN or infinite values; the model is broken"
    code, line = run(generate.main, ["--checkpoint", str(folder), "--prompt", "x"], capsys)
    assert code == 1 and expected in line and line.startswith("kgtext generate: ")
    code, line = run(
        evaluate.main, ["--checkpoint", str(folder), "--corpus", str(tmp_path / "corpus")], capsys
    )
    assert code == 1 and expected in line and line.startswith("kgtext evaluate: ")


def test_nan_logits_stop_generation_with_one_line(
    spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finite weights can still overflow to NaN logits: sampling refuses them instead of torch.multinomial."""
    folder = model_folder(tmp_path / "m", spm_model)
    monkeypatch.setattr(Ernie3Model, "lm_logits", lambda self, hidden: hidden.new_full((600,), float("nan")))
    code, line = run(generate.main, ["--checkpoint", str(folder), "--prompt", "x"], capsys)
    assert code == 1 and line == (
        f"kgtext generate: {folder / 'model.pt'}: the model computed NaN or infinite logits; "
        "it cannot be sampled from"
    )


def test_a_non_utf8_prompt_is_one_line(
    spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = model_folder(tmp_path / "m", spm_model)
    undecodable = b"caf\xe9".decode("utf-8", "surrogateescape")  # how Python passes argv it cannot decode
    code, line = run(generate.main, ["--checkpoint", str(folder), "--prompt", undecodable], capsys)
    assert code == 2
    assert line == "kgtext generate: argument --prompt: not valid UTF-8 (byte 0xe9 at character 3)"


def test_a_non_utf8_prompt_from_a_real_argv(spm_model: Path, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "m", spm_model)
    argv: list[str | bytes] = [
        sys.executable,
        "-m",
        "kgtext",
        "generate",
        "--checkpoint",
        str(folder).encode(),
        "--prompt",
        b"a\xff",
    ]
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"}
    result = subprocess.run(argv, capture_output=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 2
    first = result.stderr.decode("utf-8", "replace").splitlines()[0]
    assert first == "kgtext generate: argument --prompt: not valid UTF-8 (byte 0xff at character 1)"


def test_a_corrupt_tokenizer_in_a_model_folder(
    spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = model_folder(tmp_path / "m", spm_model)
    (folder / "tokenizer" / "spm.model").write_bytes(b"\x00garbage\xff" * 10)
    code, line = run(generate.main, ["--checkpoint", str(folder), "--prompt", "x"], capsys)
    assert code == 1 and line == (
        f"kgtext generate: {folder / 'tokenizer' / 'spm.model'}: not a usable kgtext SentencePiece model: "
        "not a SentencePiece model (it does not parse)"
    )


@pytest.mark.parametrize("kind", ["folder", "jsonl", "empty"])
def test_a_tokenizer_option_that_is_not_a_model(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``finetune --checkpoint none --tokenizer X``: the tokenizer is read by Tokenizer.load (one ValueError)."""
    path = {"folder": tmp_path / "spm", "jsonl": FEWREL["train"], "empty": tmp_path / "empty.model"}[kind]
    if kind == "empty":
        path.write_bytes(b"")
    if kind == "folder":
        path.mkdir()
    with pytest.raises(TokenizerError, match=f"^{path}: "):
        Tokenizer.load(path)
    argv = [
        "--checkpoint",
        "none",
        "--tokenizer",
        str(path),
        "--task",
        "relation",
        "--out",
        str(tmp_path / "ft"),
    ]
    argv += [item for split, file in FEWREL.items() for item in (f"--{split}", str(file))]
    code, line = run(finetune_cli.main, argv, capsys)
    assert code == 1 and line.startswith(f"kgtext finetune: {path}: ")


@pytest.mark.parametrize(
    ("aliases", "shown"),
    [(["nlg.layers.0"], "['nlg.layers.0']"), ({"nlg.x": 3}, "{'nlg.x': 3}"), ("nlu", "'nlu'")],
)
def test_malformed_aliases_in_an_export(
    aliases: Any, shown: str, spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = export_folder(tmp_path / "e", spm_model, lambda config: config.update(aliases=aliases))
    message = f"{folder / 'config.json'}: aliases must map tensor names to stored tensor names, got {shown}"
    with pytest.raises(ValueError) as err:
        load_export(folder)
    assert str(err.value) == message
    code, line = run(generate.main, ["--checkpoint", str(folder), "--prompt", "x"], capsys)
    assert code == 1 and message in line


def test_an_export_with_int64_tensors_names_the_first_one(
    spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = export_folder(tmp_path / "e", spm_model)
    weights = folder / "model.safetensors"
    state = safetensors.torch.load_file(weights)
    first = next(iter(tiny_model().state_dict()))  # the first tensor in the model's order
    shape = list(state[first].shape)
    safetensors.torch.save_file({k: v.to(torch.int64) for k, v in state.items()}, weights)
    message = (
        f"{weights}: state dict does not match the stored config: tensor {first!r} is int64 {shape}, "
        f"the model needs float32 {shape}"
    )
    with pytest.raises(ValueError) as err:
        load_model(folder)
    assert str(err.value) == message
    code, line = run(generate.main, ["--checkpoint", str(folder), "--prompt", "x"], capsys)
    assert code == 1 and message in line


@pytest.mark.parametrize(
    ("state_dict", "problem"),
    [
        ([], "the state dict is a list, not a mapping of names to tensors"),
        ({}, "it lacks tensor 'embed.word.weight'"),
        ({"embed.word.weight": [1, 2]}, "'embed.word.weight' is a list, not a tensor"),
    ],
)
def test_a_state_dict_of_the_wrong_shape(
    state_dict: Any, problem: str, spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The checkpoint's hashes match (meta.json is rewritten), its model.pt holds no usable state dict."""
    payload = model_payload(tiny_model()) | {"state_dict": state_dict}
    folder = checkpoint_run(tmp_path / "run", spm_model, model=payload)
    code, line = run(generate.main, ["--checkpoint", str(folder), "--prompt", "x"], capsys)
    model_pt = folder / ckpt.CHECKPOINTS / ckpt.step_dir_name(1) / ckpt.MODEL
    assert code == 1 and f"{model_pt}: state dict does not match the stored config: {problem}" in line


def test_an_empty_trainer_state_on_resume(
    spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = checkpoint_run(tmp_path / "run", spm_model, trainer={})
    argv = ["--corpus", str(tmp_path / "corpus"), "--preset", "tiny", "--out", str(folder), "--resume"]
    code, line = run(pretrain_main, argv, capsys)
    trainer_pt = folder / ckpt.CHECKPOINTS / ckpt.step_dir_name(1) / ckpt.TRAINER
    assert (
        code == 1
        and line == f"kgtext pretrain: {trainer_pt}: not a kgtext checkpoint file: lacks 'train_config'"
    )


class _Global:
    """Pickles as a call of ``os.mkdir(marker)``: what a crafted checkpoint would run if it were unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def test_a_pickle_with_a_global_on_resume(
    spm_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran"
    folder = checkpoint_run(tmp_path / "run", spm_model, trainer={"step": _Global(marker)})
    argv = ["--corpus", str(tmp_path / "corpus"), "--preset", "tiny", "--out", str(folder), "--resume"]
    code, line = run(pretrain_main, argv, capsys)
    trainer_pt = folder / ckpt.CHECKPOINTS / ckpt.step_dir_name(1) / ckpt.TRAINER
    assert code == 1 and line.startswith(
        f"kgtext pretrain: {trainer_pt}: not a kgtext checkpoint file of plain tensors and values "
        "(UnpicklingError: Trying to load unsupported GLOBAL "
    )
    assert not marker.exists()


def test_a_full_disk_while_saving_a_model_file(tmp_path: Path) -> None:
    """torch.save on a full disk raises RuntimeError("unexpected pos ..."): the OSError behind it is kept."""
    if not Path("/dev/full").is_char_device():
        pytest.skip("no /dev/full")
    with pytest.raises(OSError, match=r"^/dev/full: no space left on the device \(.* free in /dev\)$"):
        save_torch_file({"a": torch.zeros(10_000)}, "/dev/full")
    assert Path("/dev/full").is_char_device()


def test_a_full_disk_while_writing_sharded_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DCP wraps a failed write in CheckpointException, a BaseException no handler catches: it is an
    OSError naming the folder (errno kept) instead."""
    from torch.distributed.checkpoint.filesystem import FileSystemWriter

    from kgtext.model.sharded import save_tensors

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(FileSystemWriter, "write_data", full)
    folder = tmp_path / "sharded"
    with pytest.raises(OSError) as err:
        save_tensors({"a": torch.zeros(3)}, folder)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(folder)
    assert str(err.value) == f"[Errno 28] rank 0: No space left on device: '{folder}'"
