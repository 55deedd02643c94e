"""The ``kgtext`` dispatcher: help, unknown commands, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kgtext.cli import SUBCOMMANDS, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS)


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bogus"])
    assert exc.value.code == 2
    assert "unknown command 'bogus'" in capsys.readouterr().err


def test_inspect_does_not_import_beam_or_torch() -> None:
    """Subcommands are imported lazily: `kgtext inspect` stays light."""
    code = (
        "import sys; from kgtext.cli import main\n"
        "try:\n    main(['inspect', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('apache_beam', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_unknown_command_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bulid-corpus"])
    assert capsys.readouterr().err.startswith(
        "kgtext: unknown command 'bulid-corpus' (did you mean build-corpus?)"
    )


@pytest.mark.parametrize(
    ("argv", "first_line"),
    [
        (
            ["build-corpus", "--kg", "k.nt", "--docs", "d.jsonl", "--out", "o", "--vocab-szie", "900"],
            "kgtext build-corpus: unknown option --vocab-szie (did you mean --vocab-size?): "
            "neither kgtext nor Beam knows it",
        ),
        (["inspect", "corpus", "--verfy"], "kgtext inspect: unknown option --verfy (did you mean --verify?)"),
        (["kg-stats", "kg.nt", "--jsn"], "kgtext kg-stats: unknown option --jsn (did you mean --json?)"),
        (
            ["export", "c", "--out", "o", "--format", "parket"],
            "kgtext export: invalid --format 'parket' (did you mean parquet?); choose from parquet, jsonl",
        ),
    ],
)
def test_every_command_names_a_mistake_in_one_line(
    argv: list[str], first_line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[0] == first_line


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_help_has_no_markup(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert out.startswith(f"usage: kgtext {command}")
    assert "``" not in out and ":func:" not in out and ":class:" not in out
