"""Issue 25, defect 8: a full disk while ``export``, ``export-model``, ``build-corpus`` (and ``finetune``)
write their output is one line naming the file and the free space, the build folder is removed and the
previous output is intact. The disk fills through fault injection (a write that raises ENOSPC)."""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

import kgtext.corpus.replace
import kgtext.model.use.export
import kgtext.model.use.finetune
import kgtext.pipelines.build_corpus
from kgtext.corpus import export
from kgtext.corpus.export import main as export_main
from kgtext.corpus.replace import (
    PENDING_MANIFEST,
    REPLACED_MARKER,
    disk_full,
    disk_full_message,
    journal_path,
)
from kgtext.model.use.export import main as export_model_main
from kgtext.model.use.finetune import main as finetune_main
from kgtext.pipelines.build_corpus import main as build_main
from tests.corpus.conftest import write_corpus
from tests.hostile.test_output_models import _finetune_argv, model_folder  # noqa: F401 - the fixture
from tests.model.corpus_fixture import build_corpus
from tests.pipelines.conftest import REBEL, corpus_digests

FREE = r"\((\d+(\.\d)? [KMGT]?B) free in {parent}\)"


def _full(path: str | Path) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def _fill_disk_at_the_manifest(monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
    """``module.write_atomic`` fails with a full disk when it writes the pending manifest (the last write)."""
    real = module.write_atomic

    def full_disk(path: str, data: bytes) -> None:
        if path.endswith(PENDING_MANIFEST):
            raise _full(path)
        real(path, data)

    monkeypatch.setattr(module, "write_atomic", full_disk)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    last = err.rstrip("\n").splitlines()[-1]
    assert "Traceback" not in err and last.count("\n") == 0
    return last


@pytest.fixture(scope="module")
def corpus_with_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("full") / "corpus", tasks=("dlm",))


@pytest.fixture
def exported(corpus_with_tokenizer: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    export_main([str(corpus_with_tokenizer), "--format", "jsonl", "--out", str(out)])
    return out


def _export_fails(corpus: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        export_main([str(corpus), "--format", "jsonl", "--out", str(out), "--overwrite"])
    assert exc.value.code == 2
    return _one_line(capsys)


def test_export_with_a_full_disk_mid_write(
    corpus_with_tokenizer: Path,
    exported: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _snapshot(exported)
    failed: list[Path] = []

    def full_disk(table: Any, path: Path) -> None:
        failed.append(path)
        raise _full(path)

    monkeypatch.setitem(export.WRITERS, export.ExportFormat.JSONL, full_disk)
    line = _export_fails(corpus_with_tokenizer, exported, capsys)
    pattern = (
        f"kgtext export: error: {re.escape(str(failed[0]))}: no space left on the device "
        + FREE.format(parent=re.escape(str(tmp_path)))
        + f"; the unfinished export was removed and --out {re.escape(str(exported))} is unchanged"
    )
    assert re.fullmatch(pattern, line), line
    assert failed[0].parent.parent.parent.name.startswith(".out.building-")
    assert _snapshot(exported) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("target", [".out.replace.json", REPLACED_MARKER])
def test_export_with_a_full_disk_in_the_replace_step(
    corpus_with_tokenizer: Path,
    exported: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    """The journal, or the mark on the previous export, cannot be written: nothing was moved yet."""
    before = _snapshot(exported)
    real = kgtext.corpus.replace._write_json

    def full_disk(path: Path, entry: dict[str, str]) -> None:
        if path.name == target:
            raise _full(path)
        real(path, entry)

    monkeypatch.setattr(kgtext.corpus.replace, "_write_json", full_disk)
    line = _export_fails(corpus_with_tokenizer, exported, capsys)
    assert line.startswith("kgtext export: error: ") and ": no space left on the device (" in line
    assert target in line
    assert _snapshot(exported) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert not journal_path(exported).exists()


def test_export_model_with_a_full_disk(
    model_folder: Path,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "export"
    export_model_main([str(model_folder), "--out", str(out)])
    before = _snapshot(out)

    def full_disk(folder: Path, *args: object) -> None:
        # safetensors reports the OS error inside its own exception type
        raise RuntimeError(f"Error while serializing: IoError(Os {{ code: 28, kind: StorageFull, "
                           f"message: \"No space left on device\" }}) writing {folder}")  # fmt: skip

    monkeypatch.setattr(kgtext.model.use.export, "save_export", full_disk)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        export_model_main([str(model_folder), "--out", str(out), "--overwrite"])
    assert exc.value.code == 1
    line = _one_line(capsys)
    assert re.fullmatch(
        f"kgtext export-model: {re.escape(str(out))}: no space left on the device "
        + FREE.format(parent=re.escape(str(tmp_path)))
        + f"; the unfinished export was removed and --out {re.escape(str(out))} is unchanged",
        line,
    ), line
    assert _snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_finetune_with_a_full_disk(
    model_folder: Path,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full_disk(obj: object, path: Path) -> None:
        raise _full(path)

    monkeypatch.setattr(kgtext.model.use.finetune.torch, "save", full_disk)
    before = torch.get_num_threads()
    try:
        with pytest.raises(SystemExit) as exc:
            finetune_main(_finetune_argv(model_folder, tmp_path / "ft"))
    finally:
        torch.set_num_threads(before)
    assert exc.value.code == 1
    line = _one_line(capsys)
    assert re.fullmatch(
        f"kgtext finetune: {re.escape(str(tmp_path))}/\\.ft\\.building-[0-9a-f]{{12}}/model\\.pt: no space left "
        "on the device "
        + FREE.format(parent=re.escape(str(tmp_path)))
        + f"; the unfinished result was removed and --out {re.escape(str(tmp_path / 'ft'))} is unchanged",
        line,
    ), line
    assert list(tmp_path.iterdir()) == []


def test_build_corpus_with_a_full_disk_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "corpus"
    write_corpus(out)  # the previous corpus, replaced with --overwrite
    before = corpus_digests(out), (out / "manifest.json").read_bytes()
    _fill_disk_at_the_manifest(monkeypatch, kgtext.pipelines.build_corpus)
    argv = ["--kg", str(REBEL / "kg.nt"), "--docs", str(REBEL / "docs.jsonl"), "--out", str(out),
            "--vocab-size", "600", "--overwrite"]  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        build_main(argv)
    assert exc.value.code == 2
    line = _one_line(capsys)
    assert re.fullmatch(
        f"kgtext build-corpus: error: {re.escape(str(tmp_path))}/\\.corpus\\.building-[0-9a-f]{{12}}/"
        f"{re.escape(PENDING_MANIFEST)}: no space left on the device "
        + FREE.format(parent=re.escape(str(tmp_path)))
        + f"; the build folder was removed and --out {re.escape(str(out))} is unchanged"
        + r"( \(the rejected records are in .*\))?",
        line,
    ), line
    assert (corpus_digests(out), (out / "manifest.json").read_bytes()) == before
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left[0] == "corpus" and all(name.startswith("corpus.failed-") for name in left[1:])
    for failed in left[1:]:
        shutil.rmtree(tmp_path / failed)


def test_a_full_disk_is_found_behind_the_wrappers_of_beam_torch_and_safetensors(tmp_path: Path) -> None:
    shard = tmp_path / ".corpus.building-0123456789ab" / "sd" / "part.arrow"
    try:
        try:
            raise _full(shard)
        except OSError as err:
            raise RuntimeError("bundle failed") from err
    except RuntimeError as wrapped:
        assert disk_full(wrapped) is not None and disk_full(wrapped).filename == str(shard)  # type: ignore[union-attr]
    beam = RuntimeError(
        f"OSError: [Errno 28] No space left on device (simulated): '{shard}' [while running 'W']"
    )
    found = disk_full(beam)
    assert found is not None and found.errno == errno.ENOSPC and found.filename == str(shard)
    assert disk_full_message(found, tmp_path / "corpus").startswith(f"{shard}: no space left on the device (")
    assert disk_full(RuntimeError("PytorchStreamWriter failed: No space left on device")).filename is None  # type: ignore[union-attr]
    assert disk_full(OSError(errno.EIO, "Input/output error")) is None
    assert disk_full(ValueError("no")) is None


def test_index_kg_with_a_full_disk_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like build-corpus: one line naming the file and the free space; the build folder is removed and the
    previous index is unchanged."""
    import kgtext.pipelines.index_kg
    from kgtext.pipelines.index_kg import main as index_main

    out = tmp_path / "kgidx"
    index_main(["--kg", str(REBEL / "kg.nt"), "--out", str(out)])
    before = _snapshot(out)
    _fill_disk_at_the_manifest(monkeypatch, kgtext.pipelines.index_kg)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        index_main(["--kg", str(REBEL / "kg.nt"), "--out", str(out), "--overwrite"])
    assert exc.value.code == 2
    line = _one_line(capsys)
    assert re.fullmatch(
        f"kgtext index-kg: error: {re.escape(str(tmp_path))}/\\.kgidx\\.building-[0-9a-f]{{12}}/"
        f"{re.escape(PENDING_MANIFEST)}: no space left on the device "
        + FREE.format(parent=re.escape(str(tmp_path)))
        + f"; the build folder was removed and --out {re.escape(str(out))} is unchanged",
        line,
    ), line
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kgidx"]
