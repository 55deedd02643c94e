"""``kgtext index-kg`` and ``build-corpus --kg-index``: phase 0 once, reused; wrong or broken indexes refused."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from kgtext.aligners.lexicon_index import key_hash
from kgtext.corpus.manifest import load_manifest
from kgtext.pipelines.build_corpus import main as build_main
from kgtext.pipelines.index_kg import main as index_main
from tests.pipelines.conftest import REBEL, REDOCRED, SMALL, corpus_digests


def _index(out: Path, kg: list[Path], *extra: str) -> dict[str, object]:
    index_main(["--kg", *map(str, kg), "--out", str(out), *extra])
    manifest: dict[str, object] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def _build(out: Path, index: Path, *extra: str) -> None:
    build_main(
        ["--kg-index", str(index), "--docs", str(REDOCRED / "docs.jsonl"), "--out", str(out), *SMALL, *extra]
    )


@pytest.fixture(scope="module")
def redocred_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("index") / "kgidx"
    _index(out, [REDOCRED / "kg.ttl"])
    return out


def _error(capsys: pytest.CaptureFixture[str], call: object, lines: int = 1) -> str:
    """The first line of the error ``call`` exits with (``lines``: how many it has)."""
    with pytest.raises(SystemExit) as exc:
        call()  # type: ignore[operator]
    assert exc.value.code == 2
    written = capsys.readouterr().err.strip().splitlines()
    assert len(written) == lines, written
    return written[0]


def test_a_build_from_the_index_equals_the_build_from_the_kg(
    redocred_index: Path, redocred_corpus: Path, tmp_path: Path
) -> None:
    manifest = json.loads((redocred_index / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "kg-index" and manifest["format_version"] == 1
    assert manifest["inputs"][0]["path"] == str(REDOCRED / "kg.ttl") and manifest["index_shards"] == 8
    assert manifest["options"] == {
        "languages": ["en", ""],
        "max_line_bytes": 64 * 2**20,
        "min_name_chars": 2,
        "lexicon": True,
    }
    assert not any("runs/" in rel or rel.startswith("_work") for rel in manifest["files"])
    _build(tmp_path / "corpus", redocred_index)
    assert corpus_digests(tmp_path / "corpus") == corpus_digests(redocred_corpus)
    built, direct = load_manifest(tmp_path / "corpus"), load_manifest(redocred_corpus)
    assert built.statistics == direct.statistics and built.inputs == direct.inputs
    sha = hashlib.sha256((redocred_index / "manifest.json").read_bytes()).hexdigest()
    assert built.build_config["kg_index"] == str(redocred_index)
    assert built.build_config["kg_index_manifest_sha256"] == sha


def test_the_same_kg_may_be_named_too_another_is_refused(
    redocred_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build(tmp_path / "same", redocred_index, "--kg", str(REDOCRED / "kg.ttl"))
    line = _error(capsys, lambda: _build(tmp_path / "other", redocred_index, "--kg", str(REBEL / "kg.nt")))
    assert line == (
        f"kgtext build-corpus: error: --kg-index {redocred_index}: was made from other KG files than --kg "
        "(1 file(s) with other contents); drop --kg or make the index from these files"
    )
    assert not (tmp_path / "other").exists()


def test_an_index_made_with_other_phase_zero_options_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "kgidx"
    _index(index, [REDOCRED / "kg.ttl"], "--max-line-bytes", "100000", "--lexicon-linking", "off")
    line = _error(capsys, lambda: _build(tmp_path / "c", index))
    assert line == (
        f"kgtext build-corpus: error: --kg-index {index}: was made with other phase-0 options: max_line_bytes "
        "100000 (this build: 67108864); lexicon False (this build: True)"
    )


def _copy(index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(index, copy)
    return copy


def test_an_index_missing_a_file_or_of_another_version_is_refused(
    redocred_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy(redocred_index, tmp_path)
    (copy / "kg_index" / "names-00003-of-00008.arrow").unlink()
    line = _error(capsys, lambda: _build(tmp_path / "c", copy))
    assert line == (
        f"kgtext build-corpus: error: --kg-index {copy}: kg_index/names-00003-of-00008.arrow is missing "
        "(the index is incomplete; make it again)"
    )
    shutil.rmtree(copy)
    copy = _copy(redocred_index, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    (copy / "manifest.json").write_text(json.dumps({**manifest, "format_version": 0}), encoding="utf-8")
    line = _error(capsys, lambda: _build(tmp_path / "c", copy))
    assert line.endswith("format version 0 is not 1; make it again with kgtext index-kg")
    line = _error(capsys, lambda: _build(tmp_path / "c", REDOCRED))
    assert (
        line
        == f"kgtext build-corpus: error: --kg-index {REDOCRED}: has no manifest.json; make one with kgtext index-kg"
    )


def test_a_crafted_index_file_naming_a_python_global_is_refused(
    redocred_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old layout stored pickles; a shard that holds one (here a pickle of ``print``, which a
    ``pickle.loads`` would resolve as a global) is refused at planning, before any worker opens it."""
    copy = _copy(redocred_index, tmp_path)
    table = pa.table(
        {
            "hash": pa.array([key_hash("urn:x")], pa.uint64()),
            "key": pa.array(["urn:x"], pa.string()),
            "value": pa.array([pickle.dumps(print)], pa.binary()),
        }
    )
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    target = copy / "kg_index" / "facts-00000-of-00008.arrow"
    target.write_bytes(sink.getvalue())
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["bytes"]["kg_index/facts-00000-of-00008.arrow"] = target.stat().st_size
    manifest["files"]["kg_index/facts-00000-of-00008.arrow"] = hashlib.sha256(target.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    line = _error(capsys, lambda: _build(tmp_path / "c", copy))
    assert line == (
        f"kgtext build-corpus: error: --kg-index {copy}: kg_index/facts-00000-of-00008.arrow: not a kgtext KG "
        "index file (columns ['hash', 'key', 'value'])"
    )


def test_the_index_dead_letters_count_for_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kg = tmp_path / "kg.nt"
    kg.write_text(
        (REBEL / "kg.nt").read_text(encoding="utf-8") + "<urn:a> <urn:b> broken .\n", encoding="utf-8"
    )
    index = tmp_path / "kgidx"
    _index(index, [kg])
    assert sorted(p.name for p in (index / "dead_letters").iterdir()) == ["read_kg.jsonl"]
    docs = str(REBEL / "docs.jsonl")
    argv = ["--kg-index", str(index), "--docs", docs, "--out", str(tmp_path / "c"), *SMALL]
    # The second line names the folder the failed build's dead letters are kept in.
    line = _error(capsys, lambda: build_main([*argv, "--strict"]), lines=2)
    assert line.startswith(
        "kgtext build-corpus: error: 1 of 121 KG lines (0.8%) were rejected, more than --strict"
    )
    build_main(argv)
    letters = (tmp_path / "c" / "dead_letters" / "read_kg.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(letters) == 1 and json.loads(letters[0])["excerpt"] == "<urn:a> <urn:b> broken ."


def test_index_kg_follows_the_output_rules(
    redocred_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kgidx"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    line = _error(capsys, lambda: _index(out, [REDOCRED / "kg.ttl"]))
    assert line == f"kgtext index-kg: error: --out {out}: already exists; pass --overwrite to replace it"
    line = _error(capsys, lambda: _index(out, [REDOCRED / "kg.ttl"], "--overwrite"))
    assert (
        line
        == f"kgtext index-kg: error: --out {out}: is not a kgtext corpus (no kgtext manifest.json); --overwrite only replaces corpora"
    )
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    copy = _copy(redocred_index, tmp_path)
    _index(copy, [REBEL / "kg.nt"], "--overwrite")
    assert json.loads((copy / "manifest.json").read_text(encoding="utf-8"))["inputs"][0]["path"] == str(
        REBEL / "kg.nt"
    )


def test_inspect_says_an_index_is_not_a_corpus(
    redocred_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kgtext.corpus.inspect import main as inspect_main

    with pytest.raises(SystemExit):
        inspect_main([str(redocred_index)])
    assert capsys.readouterr().err.strip() == (
        f"kgtext inspect: {redocred_index}/manifest.json: is a KG index made by kgtext index-kg, not a corpus; "
        "build one with kgtext build-corpus --kg-index"
    )


def _relist(copy: Path, **changes: object) -> None:
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    (copy / "manifest.json").write_text(json.dumps({**manifest, **changes}), encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"files": []}, "its manifest.json is malformed: files must map relative paths to sha256 strings"),
        (
            {"index_shards": 0},
            "its manifest.json is malformed: index_shards must be an integer in 8..4096, got 0",
        ),
        (
            {"statistics": {"kg.triples": 1e999}},
            "its manifest.json is malformed: statistics must map names to integers",
        ),
        (
            {"inputs": {"a": 1}},
            "its manifest.json is malformed: inputs must be a list of {path, bytes, sha256}",
        ),
        (
            {"files": {"../../etc/passwd": "0"}, "bytes": {"../../etc/passwd": 1}},
            "names '../../etc/passwd', which is not a file of an index folder",
        ),
    ],
)
def test_a_malformed_manifest_is_one_line(
    redocred_index: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, object],
    problem: str,
) -> None:
    copy = _copy(redocred_index, tmp_path)
    _relist(copy, **changes)
    assert (
        _error(capsys, lambda: _build(tmp_path / "c", copy))
        == f"kgtext build-corpus: error: --kg-index {copy}: {problem}"
    )


def test_tampered_added_or_linked_files_are_refused(
    redocred_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shared index cannot smuggle a file into the corpus (a link to the environment), add one, or change one."""
    copy = _copy(redocred_index, tmp_path)
    (copy / "dead_letters").mkdir()
    (copy / "dead_letters" / "read_kg.jsonl").symlink_to("/proc/self/environ")
    line = _error(capsys, lambda: _build(tmp_path / "c", copy))
    assert line.endswith("holds dead_letters/read_kg.jsonl, which its manifest does not list")
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    _relist(
        copy,
        files={**manifest["files"], "dead_letters/read_kg.jsonl": "0"},
        bytes={**manifest["bytes"], "dead_letters/read_kg.jsonl": 0},
    )
    line = _error(capsys, lambda: _build(tmp_path / "c", copy))
    assert line.endswith("dead_letters/read_kg.jsonl is not a regular file (links are refused)")
    shutil.rmtree(copy)
    copy = _copy(redocred_index, tmp_path)
    shard = copy / "kg_index" / "names-00001-of-00008.arrow"
    data = bytearray(shard.read_bytes())
    data[-20] ^= 1
    shard.write_bytes(bytes(data))
    line = _error(capsys, lambda: _build(tmp_path / "c", copy))
    assert line.endswith(
        "kg_index/names-00001-of-00008.arrow is not the file its manifest lists (other size or sha256)"
    )
    assert not (tmp_path / "c").exists()


def test_an_index_in_use_is_not_replaced_and_one_being_written_is_not_read(
    redocred_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A build holds a shared lock on its --kg-index: `index-kg --overwrite` of that folder is refused while
    any build reads it, and a build does not start on an index that index-kg is writing."""
    from kgtext.corpus.replace import OutputLock, ReadLock

    copy = _copy(redocred_index, tmp_path)
    readers = [ReadLock(copy), ReadLock(copy)]  # two builds reading it: readers share the lock
    for reader in readers:
        reader.acquire()
    line = _error(capsys, lambda: _index(copy, [REDOCRED / "kg.ttl"], "--overwrite"))
    assert (
        line.startswith("kgtext index-kg: error: ")
        and "another kgtext build-corpus is reading this --out (pid" in line
    )
    for reader in readers:
        reader.release()
    with OutputLock(copy, "index-kg"):  # index-kg is writing it
        line = _error(capsys, lambda: _build(tmp_path / "out", copy))
    assert line.startswith(f"kgtext build-corpus: error: --kg-index {copy}: ")
    assert "kgtext index-kg is writing this folder (pid" in line and not (tmp_path / "out").exists()
    _build(tmp_path / "out", copy)  # the build let go of its lock when it ended
    _index(copy, [REDOCRED / "kg.ttl"], "--overwrite")


def test_the_last_reader_removes_the_lock_file(tmp_path: Path) -> None:
    from kgtext.corpus.replace import ReadLock, sibling

    folder = tmp_path / "kgidx"
    first, second = ReadLock(folder), ReadLock(folder)
    first.acquire()
    second.acquire()
    first.release()
    assert sibling(folder, "lock").exists()  # the second reader still holds it
    second.release()
    assert not sibling(folder, "lock").exists()
