"""Input expansion and output checks through Beam's FileSystems."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgtext.pipelines.files import (
    InputError,
    check_output,
    expand_inputs,
    temporary_sibling,
    write_atomic,
)


def test_directories_and_globs_expand_to_sorted_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    for name in ("a/2.jsonl", "a/1.jsonl", "b.jsonl", "a/.hidden"):
        (tmp_path / name).write_text("{}\n")
    found = expand_inputs([str(tmp_path / "a"), str(tmp_path / "*.jsonl")], "docs")
    assert found == [str(tmp_path / "a/1.jsonl"), str(tmp_path / "a/2.jsonl"), str(tmp_path / "b.jsonl")]


def test_patterns_keep_the_order_given_and_a_file_named_twice_its_first_place(tmp_path: Path) -> None:
    for name in ("1.jsonl", "2.jsonl", "3.jsonl"):
        (tmp_path / name).write_text("{}\n")
    found = expand_inputs([str(tmp_path / "3.jsonl"), str(tmp_path / "*.jsonl")], "docs")
    assert found == [str(tmp_path / "3.jsonl"), str(tmp_path / "1.jsonl"), str(tmp_path / "2.jsonl")]


def test_a_glob_matching_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--kg .*\*\.nt: matches no file"):
        expand_inputs([str(tmp_path / "*.nt")], "kg")


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        expand_inputs([str(tmp_path / "missing.ttl")], "kg")


def test_an_output_path_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("not a directory")
    with pytest.raises(InputError, match="is a file, not a directory"):
        check_output(str(target), overwrite=True)


def test_an_existing_output_needs_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text("{}")
    with pytest.raises(InputError, match="pass --overwrite"):
        check_output(str(tmp_path / "out"), overwrite=False)
    check_output(str(tmp_path / "out"), overwrite=True)


def test_write_atomic_leaves_only_the_target(tmp_path: Path) -> None:
    write_atomic(str(tmp_path / "d" / "x.bin"), b"abc")
    write_atomic(str(tmp_path / "d" / "x.bin"), b"abcd")
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["x.bin"]
    assert (tmp_path / "d" / "x.bin").read_bytes() == b"abcd"


def test_temporary_sibling_is_hidden_beside_the_output(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    tmp = Path(temporary_sibling(str(out), "building"))
    assert tmp.parent == tmp_path and tmp.name.startswith(".corpus.building-")
