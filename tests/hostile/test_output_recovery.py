"""Issue 25, defect 1 (and 11): the replace journal and the folders beside ``--out`` are hostile input.

``kgtext inspect`` only reads; recovery (by the next writer of ``--out``) touches only the
``.<name>.building-<hex>`` / ``.<name>.old-<hex>`` folders it derives itself, real folders holding kgtext's
marker, and refuses in one line a journal naming anything else, leaving it and everything it names alone.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from kgtext.corpus.export import main as export_main
from kgtext.corpus.inspect import main as inspect_main
from kgtext.corpus.replace import (
    BUILD_MARKER,
    REPLACED_MARKER,
    OutputError,
    OutputLock,
    describe_leftovers,
    journal_path,
    make_build_folder,
    recover_output,
    remove_folder,
)
from kgtext.pipelines.build_corpus import main as build_main
from tests.corpus.conftest import write_corpus
from tests.pipelines.conftest import REBEL

HEX = "0123456789ab"


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (links not followed): file bytes, None for folders and links."""
    found: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        found[rel] = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    return found


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    """``tmp_path/corpus`` (a readable kgtext corpus) and ``tmp_path/victim`` (a folder of the user's)."""
    write_corpus(tmp_path / "corpus")
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "a.txt").write_text("precious\n")
    return tmp_path


def _journal(root: Path, **entry: str) -> Path:
    path = journal_path(root / "corpus")
    path.write_text(json.dumps(entry))
    return path


def _issue_journal(root: Path) -> Path:
    """The journal of the issue's recipe: ``new`` missing, ``old`` the victim."""
    return _journal(root, out=str(root / "corpus"), new=str(root / "nothing"), old=str(root / "victim"))


def test_inspect_never_acts_on_a_crafted_journal(scene: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = _issue_journal(scene)
    before = _tree(scene)
    inspect_main([str(scene / "corpus"), "--examples", "0"])
    warnings = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"kgtext inspect: WARNING: {journal.name} beside {scene / 'corpus'} were left"
    )
    assert f"it will refuse {journal.name}: its new '{scene / 'nothing'}' is not" in warnings[0]
    assert _tree(scene) == before  # nothing moved, removed or created (no lock file either)


@pytest.mark.parametrize(
    "entry",
    [
        {"new": "nothing", "old": "victim"},
        {"new": f".corpus.building-{HEX}", "old": "victim"},
        {"new": "victim", "old": f".corpus.old-{HEX}"},
        {"new": f".corpus.building-{HEX}", "old": "elsewhere/.corpus.old-0123456789ab"},
        {"new": f".corpus.building-{HEX}", "old": ".corpus.old-x"},
        {"new": f".corpus.building-{HEX}", "old": f".other.old-{HEX}"},
        {"out": "victim", "new": f".victim.building-{HEX}", "old": f".victim.old-{HEX}"},
    ],
)
def test_recovery_refuses_a_journal_naming_what_it_does_not_derive(
    scene: Path, entry: dict[str, str]
) -> None:
    paths = {"out": "corpus", **entry}
    journal = _journal(scene, **{k: str(scene / v) for k, v in paths.items()})
    (scene / "elsewhere" / f".corpus.old-{HEX}").mkdir(parents=True)
    (scene / "elsewhere" / f".corpus.old-{HEX}" / "b.txt").write_text("mine")
    before = _tree(scene)
    with OutputLock(scene / "corpus"), pytest.raises(OutputError) as err:
        recover_output(scene / "corpus")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{journal}: refused, nothing was changed: its ")
    after = _tree(scene)
    assert after == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "unreadable replace journal"),
        ('{"out": 1, "new": 2, "old": 3}', "unreadable replace journal"),
        ('["a"]', "unreadable replace journal"),
        (
            '{"out": "corpus", "new": ".corpus.building-0123456789ab", "old": ".corpus.old-0123456789ab"}',
            "its out",
        ),
    ],
)
def test_a_malformed_or_relative_journal_is_refused(scene: Path, content: str, problem: str) -> None:
    journal_path(scene / "corpus").write_text(content)
    before = _tree(scene)
    with OutputLock(scene / "corpus"), pytest.raises(OutputError, match=problem):
        recover_output(scene / "corpus")
    assert _tree(scene) == before


def test_a_symlinked_journal_is_refused(scene: Path) -> None:
    target = scene / "victim" / "journal.json"
    target.write_text(json.dumps({"out": str(scene / "corpus"), "new": "x", "old": "y"}))
    journal_path(scene / "corpus").symlink_to(target)
    with OutputLock(scene / "corpus"), pytest.raises(OutputError, match="the journal is a symbolic link"):
        recover_output(scene / "corpus")
    assert target.is_file() and journal_path(scene / "corpus").is_symlink()


def _build_argv(tmp_path: Path, out: Path, *extra: str) -> list[str]:
    return ["--kg", str(REBEL / "kg.nt"), "--docs", str(REBEL / "docs.jsonl"), "--out", str(out), *extra]


def test_build_corpus_refuses_a_crafted_journal_in_one_line(
    scene: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = _issue_journal(scene)
    before = _tree(scene)
    with pytest.raises(SystemExit) as exc:
        build_main(_build_argv(scene, scene / "corpus", "--overwrite"))
    assert exc.value.code == 2
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and "Traceback" not in message
    assert message.startswith(f"kgtext build-corpus: error: {journal}: refused, nothing was changed: its new")
    assert _tree(scene) == before


def test_export_refuses_a_crafted_journal_in_one_line(
    scene: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = scene / "corpus-export"
    journal = journal_path(out)
    journal.write_text(
        json.dumps({"out": str(out), "new": str(scene / "nothing"), "old": str(scene / "victim")})
    )
    before = _tree(scene)
    with pytest.raises(SystemExit) as exc:
        export_main([str(scene / "corpus"), "--format", "jsonl", "--out", str(out)])
    assert exc.value.code == 2
    message = capsys.readouterr().err
    assert message.count("\n") == 1
    assert message.startswith(f"kgtext export: error: {journal}: refused, nothing was changed: its new")
    assert _tree(scene) == before


def test_a_symlink_named_like_a_build_folder_is_ignored_never_followed(
    scene: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = scene / "corpus"
    link = scene / ".corpus.building-x"
    link.symlink_to(scene / "victim")
    old_link = scene / f".corpus.old-{HEX}"
    old_link.symlink_to(scene / "victim")
    before = _tree(scene)
    inspect_main([str(out), "--examples", "0"])  # crashed with "Cannot call rmtree on a symbolic link"
    err = capsys.readouterr().err
    assert ".corpus.building-x, .corpus.old-0123456789ab: symbolic link, ignored (never followed" in err
    with OutputLock(out):
        done = recover_output(out)
    assert done == [
        f"{out}: ignored .corpus.building-x: a symbolic link (never followed or removed)",
        f"{out}: ignored .corpus.old-{HEX}: a symbolic link (never followed or removed)",
    ]
    assert _tree(scene) == before


def test_unmarked_folders_with_derived_names_are_left_alone(scene: Path) -> None:
    out = scene / "corpus"
    building, old, odd = (
        scene / f".corpus.building-{HEX}",
        scene / f".corpus.old-{HEX}",
        scene / ".corpus.old-x",
    )
    for folder in (building, old, odd):
        folder.mkdir()
        (folder / "thesis.txt").write_text("mine")
    (old / BUILD_MARKER).write_text('{"created_by": "kgtext"}')  # the wrong marker for an old folder
    before = _tree(scene)
    with OutputLock(out):
        done = recover_output(out)
    assert done == [
        f"{out}: left {building.name} alone: it holds no kgtext marker (remove it yourself if it is not needed)",
        f"{out}: left {old.name} alone: it holds no kgtext marker (remove it yourself if it is not needed)",
        f"{out}: left {odd.name} alone: not a folder name kgtext gives",
    ]
    assert _tree(scene) == before


def test_marked_leftovers_and_removals_cut_short_are_removed(scene: Path) -> None:
    out = scene / "corpus"
    building = make_build_folder(out, "build-corpus")
    (building / "_work" / "runs").mkdir(parents=True)
    (building / "_work" / "runs" / "part").write_text("half")
    (building / "victim-link").symlink_to(scene / "victim")  # removed as a link, never followed
    old = scene / f".corpus.old-{HEX}"
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    (old / REPLACED_MARKER).write_text('{"created_by": "kgtext"}')
    emptied = scene / ".corpus.old-ba9876543210"
    emptied.mkdir()  # a removal cut short after its marker went: empty, nothing to lose
    with OutputLock(out):
        done = recover_output(out)
    assert sorted(done) == sorted(
        f"{out}: removed {p.name}, left by a command that did not finish" for p in (building, old, emptied)
    )
    assert sorted(p.name for p in scene.iterdir()) == ["corpus", "victim"]
    assert (scene / "victim" / "a.txt").read_text() == "precious\n"


def test_a_finished_build_does_not_replace_an_out_that_was_not_marked(scene: Path) -> None:
    """A valid journal and a marked build folder, but ``--out`` was never marked for the replace: the move
    had not started (or the journal is planted), so recovery keeps ``--out`` and drops the build."""
    out = scene / "corpus"
    new = make_build_folder(out, "build-corpus")
    (new / "planted.txt").write_text("x")
    _journal(scene, out=str(out), new=str(new), old=str(scene / f".corpus.old-{HEX}"))
    before = _tree(out)
    with OutputLock(out):
        done = recover_output(out)
    assert done == [
        f"{out}: interrupted replace: the move had not started: removed the finished build {new.name}; "
        f"{out} is unchanged"
    ]
    assert _tree(out) == before and sorted(p.name for p in scene.iterdir()) == ["corpus", "victim"]


def test_remove_folder_keeps_the_marker_until_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_build_folder(tmp_path / "out", "export")
    (folder / "a").mkdir()
    (folder / "b.txt").write_text("x")
    real_unlink = Path.unlink

    def fail_on_b(self: Path, missing_ok: bool = False) -> None:
        if self.name == "b.txt":
            raise OSError(5, "I/O error", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", fail_on_b)
    with pytest.raises(OSError):
        remove_folder(folder)
    assert (folder / BUILD_MARKER).is_file()  # still recognised: the next recovery removes the rest
    monkeypatch.undo()
    with OutputLock(tmp_path / "out"):
        assert recover_output(tmp_path / "out") == [
            f"{tmp_path / 'out'}: removed {folder.name}, left by a command that did not finish"
        ]


def test_inspect_names_the_command_writing_the_out_now(scene: Path) -> None:
    out = scene / "corpus"
    stale = make_build_folder(out, "export")
    with OutputLock(out, "export"):
        line = describe_leftovers(out)
    assert line is not None and line.startswith(
        f"{stale.name} beside {out} belong to the kgtext export pid {os.getpid()} since "
    )
    assert line.endswith(", which is writing it now; nothing was changed")
    assert stale.is_dir()


@pytest.mark.parametrize("holder", ["export", "build-corpus"])
def test_a_second_writer_is_told_which_command_holds_the_out(
    scene: Path, capsys: pytest.CaptureFixture[str], holder: str
) -> None:
    out = scene / "export"
    with OutputLock(out, holder), pytest.raises(SystemExit) as exc:
        export_main([str(scene / "corpus"), "--format", "jsonl", "--out", str(out)])
    assert exc.value.code == 2
    message = capsys.readouterr().err
    assert message.startswith(
        f"kgtext export: error: {scene / '.export.lock'}: another kgtext {holder} is writing this --out "
        f"(pid {os.getpid()} since "
    )
    assert message.endswith("); wait for it to end\n") and message.count("\n") == 1
    assert not out.exists()


def test_the_next_writer_finishes_a_replace_it_can_trust(scene: Path) -> None:
    """The replace step itself still recovers: killed after the old output moved aside, the next export
    moves the finished build in and removes the old one."""
    out = scene / "export"
    export_main([str(scene / "corpus"), "--format", "jsonl", "--out", str(out)])
    first = _tree(out)
    new = make_build_folder(out, "export")
    shutil.copytree(out, new, dirs_exist_ok=True)
    (new / "extra-marker.txt").write_text("the new one")
    old = scene / f".export.old-{HEX}"
    (out / REPLACED_MARKER).write_text('{"created_by": "kgtext"}')
    os.replace(out, old)  # killed here
    journal_path(out).write_text(json.dumps({"out": str(out), "new": str(new), "old": str(old)}))
    with OutputLock(out, "export"):
        done = recover_output(out)
    assert done == [
        f"{out}: interrupted replace: moved the finished build {new.name} onto {out}",
        f"{out}: interrupted replace: removed the replaced output {old.name}",
    ]
    assert _tree(out) == {**first, "extra-marker.txt": b"the new one"}
    assert sorted(p.name for p in scene.iterdir()) == ["corpus", "export", "victim"]
