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
