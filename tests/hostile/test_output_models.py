"""Issue 25, defects 2, 9, 11 and 12 for ``finetune`` and ``export-model``: ``--out`` never replaces what
the command did not write nor an input, is refused in one line before anything is written, the lock names
the command holding it, ``model.safetensors`` honours the umask, classification metrics are linear."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from kgtext.corpus.replace import OutputLock
from kgtext.corpus.tasks.tokenizer import Tokenizer, TokenizerConfig, train_tokenizer
from kgtext.model.checkpoint import save_model
from kgtext.model.ernie import Ernie3Model
from kgtext.model.use.export import export_model
from kgtext.model.use.export import main as export_main
from kgtext.model.use.finetune import main as finetune_main
from kgtext.model.use.finetune_report import classification_metrics
from tests.model.conftest import small_config, tree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "finetune"
FEWREL = {split: FIXTURES / f"fewrel_{split}.jsonl" for split in ("train", "valid", "test")}


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A "model folder" as ``--checkpoint`` accepts it: ``model.pt`` + ``tokenizer/spm.model`` (random
    weights of a tiny model, a tokenizer trained on the FewRel fixture): read-only, copy it to change it."""
    folder = tmp_path_factory.mktemp("hostile") / "model"
    texts = [json.loads(line)["text"] for line in FEWREL["train"].read_text(encoding="utf-8").splitlines()]
    (folder / "tokenizer").mkdir(parents=True)
    path = Path(
        train_tokenizer(
            texts, str(folder / "tokenizer" / "spm"), TokenizerConfig(vocab_size=400, hard_vocab_limit=False)
        )
    )
    torch.manual_seed(0)
    model = Ernie3Model(small_config(vocab_size=Tokenizer.load(path).vocab_size, tgt_len=128))
    save_model(folder / "model.pt", model)
    return folder


@pytest.fixture
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _finetune_argv(checkpoint: Path | str, out: Path | str, *extra: str) -> list[str]:
    data = sum((["--" + split, str(path)] for split, path in FEWREL.items()), [])
    return ["--checkpoint", str(checkpoint), "--task", "relation", "--out", str(out), "--epochs", "1",
            "--threads", "1", *data, *extra]  # fmt: skip


def _digests(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _fails(main: Callable[[list[str]], None], argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one stderr line of a command that exits 1."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.rstrip("\n")


def test_finetune_overwrite_never_replaces_a_model_folder(
    model_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    """A folder holding a ``model.pt`` finetune did not write (here: another model) is refused."""
    other = tmp_path / "pretrained"
    other.mkdir()
    (other / "model.pt").write_bytes((model_folder / "model.pt").read_bytes())
    (other / "tokenizer").mkdir()
    (other / "tokenizer" / "spm.model").write_bytes((model_folder / "tokenizer" / "spm.model").read_bytes())
    before = _digests(other)
    err = _fails(finetune_main, _finetune_argv(model_folder, other, "--overwrite"), capsys)
    assert err == (
        f"kgtext finetune: {other}: holds model.pt, tokenizer but no metrics.json written by kgtext finetune "
        "(a model folder?); --overwrite only replaces a fine-tuning result"
    )
    assert _digests(other) == before and sorted(p.name for p in tmp_path.iterdir()) == ["pretrained"]


@pytest.mark.parametrize(
    ("out", "problem"),
    [
        ("model", "is or holds the --checkpoint {model}; --out never replaces an input"),
        ("model/tokenizer", "is inside the --checkpoint {model}; name a folder outside the inputs"),
        (".", "is the current folder or holds it; name a new folder"),
        ("data", "is or holds the --train {data}/train.jsonl; --out never replaces an input"),
        ("data/train.jsonl", "is a file, not a folder"),
    ],
)
def test_finetune_out_may_not_be_hold_or_lie_inside_an_input(
    model_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    out: str,
    problem: str,
) -> None:
    model = tmp_path / "model"
    data = tmp_path / "data"
    data.mkdir()
    for split, path in FEWREL.items():
        (data / f"{split}.jsonl").write_bytes(path.read_bytes())
    for path in [model_folder / "model.pt", *sorted((model_folder / "tokenizer").iterdir())]:
        target = model / path.relative_to(model_folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    before = _digests(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    target = tmp_path / out if out != "." else tmp_path
    argv = _finetune_argv(model, target, "--overwrite")
    argv[argv.index("--train") + 1] = str(data / "train.jsonl")
    err = _fails(finetune_main, argv, capsys)
    assert err == f"kgtext finetune: --out {target}: {problem.format(model=model, data=data)}"
    assert _digests(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "model", "work"]


def test_finetune_out_is_created_only_when_it_succeeds_and_overwrites_its_own_result(
    model_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    out = tmp_path / "deep" / "ft"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no head"}\n', encoding="utf-8")
    argv = _finetune_argv(model_folder, out)
    argv[argv.index("--valid") + 1] = str(bad)
    err = _fails(finetune_main, argv, capsys)
    assert err.startswith(f"kgtext finetune: {bad}") and not (tmp_path / "deep").exists()
    finetune_main(_finetune_argv(model_folder, out))
    assert capsys.readouterr().out.startswith("test: accuracy")
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model.pt", "tokenizer"]
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["created_by"] == "kgtext finetune"
    err = _fails(finetune_main, _finetune_argv(model_folder, out), capsys)
    assert (
        err == f"kgtext finetune: {out}: already holds a fine-tuning result; pass --overwrite to replace it"
    )
    finetune_main(_finetune_argv(model_folder, out, "--overwrite", "--seed", "1"))
    assert sorted(p.name for p in out.parent.iterdir()) == ["ft"]  # no build, old folder, lock or journal


def test_finetune_is_told_which_command_holds_the_out(
    model_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    out = tmp_path / "ft"
    with OutputLock(out, "finetune"):
        err = _fails(finetune_main, _finetune_argv(model_folder, out), capsys)
    assert err.startswith(
        f"kgtext finetune: {tmp_path / '.ft.lock'}: another kgtext finetune is writing this --out (pid {os.getpid()}"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_export_model_out_dot_is_refused_before_anything_happens(
    model_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    for out in (".", str(tmp_path)):
        err = _fails(export_main, [str(model_folder), "--out", out], capsys)
        assert (
            err == f"kgtext export-model: --out {out}: is the current folder or holds it; name a new folder"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"] and tree(work) == ["notes.txt"]


@pytest.mark.parametrize("where", ["same", "inside", "holding"])
def test_export_model_never_writes_over_its_input(
    model_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    export = tmp_path / "runs" / "export"
    export_model(model_folder, export)
    before = _digests(tmp_path)
    out = {"same": export, "inside": export / "tokenizer", "holding": tmp_path / "runs"}[where]
    err = _fails(export_main, [str(export), "--out", str(out), "--overwrite"], capsys)
    relation = "is inside the" if where == "inside" else "is or holds the"
    assert err.startswith(f"kgtext export-model: --out {out}: {relation} checkpoint {export}")
    assert _digests(tmp_path) == before


def test_export_model_refuses_a_model_folder_as_out(
    model_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.pt").write_bytes((model_folder / "model.pt").read_bytes())
    err = _fails(export_main, [str(model_folder), "--out", str(other), "--overwrite"], capsys)
    assert err == (
        f"kgtext export-model: {other}: is not empty and not a kgtext export (holds 'model.pt'); "
        "choose another --out"
    )
    assert tree(other) == ["model.pt"]


def test_export_model_is_told_which_command_holds_the_out(
    model_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    with OutputLock(out, "export-model"):
        err = _fails(export_main, [str(model_folder), "--out", str(out)], capsys)
    assert err.startswith(
        f"kgtext export-model: {tmp_path / '.export.lock'}: another kgtext export-model is writing this --out"
    )


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_export_model_files_honour_the_umask(model_folder: Path, tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        export_model(model_folder, tmp_path / "export")
    finally:
        os.umask(previous)
    modes = {
        p.relative_to(tmp_path / "export").as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in (tmp_path / "export").rglob("*")
        if p.is_file()
    }
    assert modes == dict.fromkeys(modes, 0o666 & ~umask)


def _slow_metrics(gold: list[int], pred: list[int]) -> dict[str, float]:
    """The O(labels x examples) definition the fast version must match exactly."""
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / max(len(gold), 1)
    f1s = []
    for label in sorted(set(gold) | set(pred)):
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {"accuracy": accuracy, "macro_f1": sum(f1s) / max(len(f1s), 1)}


def test_classification_metrics_exact_values() -> None:
    gold = [0, 0, 1, 1, 2, 2, 2, 3]
    pred = [0, 1, 1, 1, 2, 0, 4, 3]
    # label 0: tp 1, fp 1, fn 1 -> 0.5; 1: tp 2, fp 1 -> 0.8; 2: tp 1, fn 2 -> 0.5; 3: 1.0; 4: fp 1 -> 0.0
    assert classification_metrics(gold, pred) == {
        "accuracy": 5 / 8,
        "macro_f1": (0.5 + 0.8 + 0.5 + 1.0 + 0.0) / 5,
    }
    assert classification_metrics([], []) == {"accuracy": 0.0, "macro_f1": 0.0}
    assert classification_metrics([3, 3], [3, 3]) == {"accuracy": 1.0, "macro_f1": 1.0}
    generator = torch.Generator().manual_seed(0)
    gold = torch.randint(0, 37, (500,), generator=generator).tolist()
    pred = torch.randint(0, 41, (500,), generator=generator).tolist()
    assert classification_metrics(gold, pred) == _slow_metrics(gold, pred)


def test_classification_metrics_are_linear_in_labels_and_examples() -> None:
    """4,000 labels took 3 s per evaluation; now a pass over the examples and one over the labels."""
    gold = [i % 4000 for i in range(40_000)]
    pred = [(i * 7) % 4000 for i in range(40_000)]
    started = time.perf_counter()
    metrics = classification_metrics(gold, pred)
    assert time.perf_counter() - started < 0.5
    assert metrics["accuracy"] == sum(g == p for g, p in zip(gold, pred, strict=True)) / 40_000
