"""What ``build-corpus`` may replace, one build per ``--out``, and a final move that survives a kill
(issue 11, cases 1, 2 and 9). Kill points go through ``kgtext.corpus.replace.FAULT_HOOK`` in a child process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kgtext.pipelines.build_corpus
from kgtext.corpus.errors import CorpusError
from kgtext.corpus.inspect import main as inspect_main
from kgtext.corpus.manifest import load_manifest
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.replace import (
    BUILD_MARKER,
    PENDING_MANIFEST,
    REPLACED_MARKER,
    OutputLock,
    journal_path,
    make_build_folder,
    recover_output,
)
from kgtext.pipelines.build_corpus import main
from tests.pipelines.conftest import REBEL, build, corpus_digests

ROOT = Path(__file__).resolve().parents[2]


def _inputs(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    folder = tmp_path / "inputs"
    if not folder.exists():
        shutil.copytree(REBEL, folder)
    return [folder / "kg.nt"], [folder / "docs.jsonl"]


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "Traceback" not in message
    return message


def _argv(tmp_path: Path, out: Path | str, *extra: str) -> list[str]:
    kg, docs = _inputs(tmp_path)
    return [
        "--kg",
        *map(str, kg),
        "--docs",
        *map(str, docs),
        "--out",
        str(out),
        "--vocab-size",
        "600",
        *extra,
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small corpus (REBEL fixture) for the tests that replace a corpus; copy it before changing it."""
    root = tmp_path_factory.mktemp("built")
    out = root / "corpus"
    build(out, *_inputs(root), "--vocab-size", "600")
    return out


def test_overwrite_refuses_a_folder_that_is_not_a_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "thesis.txt").write_text("hi")
    message = _refused(_argv(tmp_path, folder, "--overwrite"), capsys)
    assert message == (
        f"kgtext build-corpus: error: --out {folder}: is not a kgtext corpus (no kgtext manifest.json); "
        "--overwrite only replaces corpora"
    )
    assert (folder / "thesis.txt").read_text() == "hi"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "x"]


def test_the_folder_holding_the_inputs_is_never_replaced(
    tmp_path: Path, built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused(_argv(tmp_path, tmp_path / "inputs", "--overwrite"), capsys)
    corpus = tmp_path / "corpus"
    shutil.copytree(built, corpus)
    shutil.copy(REBEL / "docs.jsonl", corpus / "docs.jsonl")
    argv = [
        "--kg",
        str(REBEL / "kg.nt"),
        "--docs",
        str(corpus / "docs.jsonl"),
        "--out",
        str(corpus),
        "--overwrite",
    ]
    message = _refused(argv, capsys)
    assert f"--out {corpus}: holds the input {corpus / 'docs.jsonl'}" in message
    assert (corpus / "docs.jsonl").read_bytes() == (REBEL / "docs.jsonl").read_bytes()


def test_the_current_directory_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for out in (".", str(tmp_path)):
        message = _refused(_argv(tmp_path, out, "--overwrite"), capsys)
        assert f"--out {out}: is the current directory or holds it" in message
    assert list(work.iterdir()) == []


def test_a_pretraining_run_folder_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    (run / "checkpoints" / "step-00000010").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    message = _refused(_argv(tmp_path, run, "--overwrite"), capsys)
    assert message.endswith(
        f"--out {run}: is a pre-training run folder (holds checkpoints); name another folder"
    )
    assert not any(p.name.startswith(".run.") for p in tmp_path.iterdir())


def test_a_symlinked_out_is_refused(tmp_path: Path, built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "real"
    shutil.copytree(built, real)
    link = tmp_path / "corpus"
    link.symlink_to(real)
    message = _refused(_argv(tmp_path, link, "--overwrite"), capsys)
    assert message.endswith(f"--out {link}: is a symbolic link (to {real}); name the folder itself")
    assert link.is_symlink() and CorpusReader(real).verify() == []


@pytest.mark.parametrize("foreign", ["notes.txt", "run/checkpoints/state.pt", "kmlm/train/extra.arrow"])
def test_overwrite_refuses_a_corpus_holding_what_no_build_writes(
    tmp_path: Path, built: Path, capsys: pytest.CaptureFixture[str], foreign: str
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(built, corpus)
    (corpus / foreign).parent.mkdir(parents=True, exist_ok=True)
    (corpus / foreign).write_text("mine")
    before = corpus_digests(corpus)
    message = _refused(_argv(tmp_path, corpus, "--overwrite"), capsys)
    first = foreign.split("/")[0] + "/" if foreign.startswith("run") else foreign
    assert message.endswith(f"holds {first}, which no kgtext build writes; move it away before --overwrite")
    assert corpus_digests(corpus) == before


@pytest.mark.parametrize("precreate", [False, True])
def test_a_second_build_into_a_locked_out_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], precreate: bool
) -> None:
    out = tmp_path / "corpus"
    if precreate:
        out.mkdir()  # rename(2) would silently replace this empty folder: the lock must refuse first
    with OutputLock(out):  # a running build holds it
        message = _refused(_argv(tmp_path, out), capsys)
    assert (
        f"{tmp_path / '.corpus.lock'}: another kgtext build-corpus is writing this --out (pid {os.getpid()}"
        in message
    )
    assert list(out.iterdir()) == [] if precreate else not out.exists()
    main(_argv(tmp_path, out))  # the lock is free again once released
    assert CorpusReader(out).verify() == []
    assert not (tmp_path / ".corpus.lock").exists()


def test_the_final_move_rechecks_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "corpus"
    out.mkdir()
    original = kgtext.pipelines.build_corpus.build_in_temporary

    def build_then_someone_writes(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        manifest = original(*args, **kwargs)
        (out / "results.csv").write_text("written by another program during the build")
        return manifest

    monkeypatch.setattr(kgtext.pipelines.build_corpus, "build_in_temporary", build_then_someone_writes)
    message = _refused(_argv(tmp_path, out), capsys)
    assert message.endswith(f"--out {out}: already exists; pass --overwrite to replace it")
    assert [p.name for p in out.iterdir()] == ["results.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "inputs"]


KILL = """
import os, sys
import kgtext.corpus.replace as replace
point = sys.argv[1]
replace.FAULT_HOOK = lambda at: os._exit(137) if at == point else None
{call}
"""


def _killed_at(point: str, call: str, *args: str) -> None:
    code = KILL.format(call=call)
    done = subprocess.run(
        [sys.executable, "-c", code, point, *args], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 137, done.stderr[-2000:]


def _new_build(built: Path, root: Path) -> Path:
    """A finished build folder as build-corpus leaves it before the move (manifest under its pending name)."""
    new = make_build_folder(root / "corpus", "build-corpus", root / ".corpus.building-0123456789ab")
    shutil.copytree(built, new, dirs_exist_ok=True)
    raw = json.loads((new / "manifest.json").read_text())
    raw["statistics"]["test.marker"] = 1
    (new / "manifest.json").unlink()
    (new / PENDING_MANIFEST).write_text(json.dumps(raw))
    return new


@pytest.mark.parametrize(
    "point", ["journal_written", "old_moved", "new_moved", "manifest_renamed", "old_removed"]
)
def test_a_replace_killed_at_any_step_is_completed_by_the_next_run(
    tmp_path: Path, built: Path, point: str
) -> None:
    out = tmp_path / "corpus"
    shutil.copytree(built, out)
    new = _new_build(built, tmp_path)
    with pytest.raises(CorpusError, match="manifest.json: missing"):
        CorpusReader(new)  # a hidden build folder is never a readable corpus
    call = "replace.replace_directory(sys.argv[2], sys.argv[3])"
    _killed_at(point, call, str(new), str(out))
    assert journal_path(out).exists()
    with OutputLock(out):
        done = recover_output(out)
    assert done and all(line.startswith(f"{out}: ") for line in done)
    assert load_manifest(out).statistics["test.marker"] == 1
    assert CorpusReader(out).verify() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]


def test_inspect_reports_an_interrupted_replace_and_changes_nothing(
    tmp_path: Path, built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "corpus"
    shutil.copytree(built, out)
    new = _new_build(built, tmp_path)
    _killed_at("old_moved", "replace.replace_directory(sys.argv[2], sys.argv[3])", str(new), str(out))
    assert not out.exists()  # the moment the issue describes: DIR is gone
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SystemExit) as exc:
        inspect_main([str(out)])  # inspect only reads: the corpus is still not there
    assert exc.value.code == 1
    warning, error = capsys.readouterr().err.splitlines()
    assert warning.startswith(
        "kgtext inspect: WARNING: .corpus.replace.json, .corpus.building-0123456789ab, .corpus.old-"
    )
    assert warning.endswith(f"the next kgtext build-corpus --out {out} finishes or removes what kgtext left")
    assert error == f"kgtext inspect: {out}: is not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    with OutputLock(out):
        done = recover_output(out)
    assert (
        done[0]
        == f"{out}: interrupted replace: moved the finished build .corpus.building-0123456789ab onto {out}"
    )
    assert load_manifest(out).statistics["test.marker"] == 1


def test_a_build_killed_before_its_move_leaves_nothing_readable_and_is_cleaned_up(
    tmp_path: Path, built: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "corpus"
    shutil.copytree(built, out)
    before = corpus_digests(out)
    call = "from kgtext.pipelines.build_corpus import main; main(sys.argv[2:])"
    _killed_at("journal_written", call, *_argv(tmp_path, out, "--overwrite", "--vocab-size", "700"))
    # Killed inside the move: the journal names the finished build; the old corpus is still in place,
    # marked for the replace (only a marked --out is moved aside by recovery).
    assert (out / REPLACED_MARKER).is_file()
    assert {k: v for k, v in corpus_digests(out).items() if k != REPLACED_MARKER} == before
    main(_argv(tmp_path, out, "--overwrite", "--vocab-size", "700"))
    assert "interrupted replace: moved the finished build" in caplog.text
    assert CorpusReader(out).verify() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "inputs"]


def test_stale_build_folders_are_reported_by_inspect_and_removed_by_the_next_build(
    tmp_path: Path, built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "corpus"
    shutil.copytree(built, out)
    stale = make_build_folder(out, "build-corpus")
    (stale / "_work").mkdir(parents=True)
    inspect_main([str(out)])
    assert f"WARNING: {stale.name} beside {out} were left by a kgtext command" in capsys.readouterr().err
    assert (stale / BUILD_MARKER).is_file()  # inspect changed nothing
    with OutputLock(out):
        assert recover_output(out) == [f"{out}: removed {stale.name}, left by a command that did not finish"]
    assert not stale.exists()
