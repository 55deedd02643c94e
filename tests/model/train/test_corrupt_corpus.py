"""A corrupt or replaced corpus under ``kgtext pretrain`` and ``kgtext inspect``: one line, exit 1, never a
segfault or a traceback (issue 11, cases 2 and 7)."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pyarrow as pa
import pytest

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.inspect import main as inspect_main
from kgtext.corpus.reader import CorpusReader
from kgtext.model.train.cli import main as pretrain_main
from tests.model.corpus_fixture import copy_corpus

SHARD = Path("kmlm") / "train" / "part-00000-of-00002.arrow"


def _overwrite_int32(shard: Path, buffer: bytes, index: int, value: int) -> None:
    """Same-size corruption: the ``index``-th int32 of ``buffer`` (located in the file) becomes ``value``."""
    data = bytearray(shard.read_bytes())
    at = data.find(buffer[:64])
    assert at >= 0 and data.find(buffer[:64], at + 1) < 0
    struct.pack_into("<i", data, at + 4 * index, value)
    shard.write_bytes(bytes(data))


def _input_ids(shard: Path) -> pa.ListArray:
    return pa.ipc.open_stream(shard.read_bytes()).read_all().column("input_ids").chunk(0)


def corrupt_offsets(root: Path) -> None:
    ids = _input_ids(root / SHARD)
    _overwrite_int32(root / SHARD, ids.offsets.buffers()[1].to_pybytes(), 3, 2**30)


def corrupt_token_id(root: Path) -> None:
    ids = _input_ids(root / SHARD)
    _overwrite_int32(root / SHARD, ids.values.buffers()[1].to_pybytes(), 5, 1_000_000)


def _pretrain(corpus: Path, out: Path) -> None:
    pretrain_main(["--corpus", str(corpus), "--preset", "tiny", "--out", str(out), "--max-steps", "1"])


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (corrupt_offsets, "corrupt shard (Column 2: In chunk 0: Invalid: Offset invariant failure"),
        (
            corrupt_token_id,
            "corrupt shard: token id 1000000 in input_ids is outside the vocabulary (size 600)",
        ),
    ],
)
def test_a_corrupt_shard_is_one_line_in_pretrain_and_inspect(
    corpus_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    corrupt,
    message: str,  # noqa: ANN001
) -> None:
    bad = copy_corpus(corpus_dir, tmp_path / "bad", corrupt)
    assert (bad / SHARD).stat().st_size == (corpus_dir / SHARD).stat().st_size
    with pytest.raises(SystemExit) as err:
        _pretrain(bad, tmp_path / "run")
    lines = capsys.readouterr().err.strip().splitlines()
    assert err.value.code == 1
    assert lines[-1].endswith(f"{SHARD}: {message}") or message in lines[-1]
    assert not any("Traceback" in line for line in lines)
    with pytest.raises(SystemExit) as err:
        inspect_main([str(bad), "--examples", "3"])
    assert err.value.code == 1
    assert f"{bad / SHARD}: {message}" in capsys.readouterr().err


def test_a_shard_replaced_under_a_running_job_stops_it(corpus_dir: Path, tmp_path: Path) -> None:
    corpus = copy_corpus(corpus_dir, tmp_path / "corpus")
    reader = CorpusReader(corpus)
    reader.check()
    shard = reader.shards("kmlm", "train")[0]
    reader.open_shard("kmlm", shard)  # an unchanged file opens again without re-hashing or re-validating
    rebuilt = tmp_path / "rebuilt.arrow"
    data = bytearray((corpus / SHARD).read_bytes())
    data[-20] ^= 0xFF  # same size, other bytes: as a rebuild from other inputs would leave it
    rebuilt.write_bytes(bytes(data))
    os.replace(rebuilt, corpus / SHARD)
    with pytest.raises(CorpusError, match="changed since this job opened the corpus: sha256 differs"):
        reader.open_shard("kmlm", shard)


def test_a_file_rewritten_with_the_same_bytes_is_accepted(corpus_dir: Path, tmp_path: Path) -> None:
    corpus = copy_corpus(corpus_dir, tmp_path / "corpus")
    reader = CorpusReader(corpus)
    reader.check()
    copy = tmp_path / "same.arrow"
    copy.write_bytes((corpus / SHARD).read_bytes())
    os.replace(copy, corpus / SHARD)  # a deterministic rebuild: new file, same bytes
    shard = reader.shards("kmlm", "train")[0]
    assert reader.open_shard("kmlm", shard).num_rows == shard.rows


def test_resume_refuses_a_changed_manifest(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = copy_corpus(corpus_dir, tmp_path / "corpus")
    out = tmp_path / "run"
    small = ["--set", "data.batch_size=4", "--set", "data.dlm_streams=2", "--set", "progressive.steps=0"]
    pretrain_main(
        ["--corpus", str(corpus), "--preset", "tiny", "--out", str(out), "--max-steps", "1", *small]
    )
    manifest = corpus / "manifest.json"
    raw = json.loads(manifest.read_text())
    raw["statistics"]["documents.read"] = raw["statistics"].get("documents.read", 0) + 1
    manifest.write_text(json.dumps(raw))
    with pytest.raises(SystemExit) as err:
        pretrain_main(
            ["--corpus", str(corpus), "--preset", "tiny", "--out", str(out), "--resume", "--max-steps", "2"]
        )
    assert err.value.code == 1
    assert "the corpus manifest differs from the checkpoint's" in capsys.readouterr().err


def test_overwrite_never_deletes_what_a_user_put_in_a_run_folder(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    small = ["--set", "data.batch_size=4", "--set", "data.dlm_streams=2", "--set", "progressive.steps=0"]
    args = ["--corpus", str(corpus_dir), "--preset", "tiny", "--out", str(out), "--max-steps", "1", *small]
    pretrain_main(args)
    (out / "checkpoints" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as err:
        pretrain_main([*args, "--overwrite"])
    assert err.value.code == 1
    message = capsys.readouterr().err
    assert "--overwrite refuses to delete checkpoints/notes.txt, which kgtext did not write" in message
    assert (out / "checkpoints" / "notes.txt").read_text() == "mine"
    (out / "checkpoints" / "notes.txt").unlink()
    pretrain_main([*args, "--overwrite"])  # a folder holding only what kgtext wrote is replaced
