"""Every numeric option of every command, fed -1, 0, nan, inf and 10**23: a one-line error or acceptance.

The options are discovered from each command's own parser (the :data:`kgtext.cli.SUBCOMMANDS` table, each
module's ``main`` stopped where it parses), so an option added later is covered without editing this file.
A refused value is ``kgtext CMD: argument --option: ...`` on the first line of stderr, exit 2. An accepted
value runs the command with inputs that do not exist, so it ends at once with its own one-line error
(exit 1 or 2) or, for a command that needs no input (model-info), succeeds: never a traceback.
build-corpus stops after :func:`kgtext.pipelines.options.parse_args`, which also validates ``BuildConfig``
(running it would start a Beam pipeline).
"""

from __future__ import annotations

import argparse
import importlib
import io
import math
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from kgtext.cli import SUBCOMMANDS
from kgtext.common.cli_parser import HelpfulParser, Number

VALUES = ("-1", "0", "nan", "inf", str(10**23))


class _ParsedError(Exception):
    """Raised instead of parsing: carries the parser a command's ``main`` built."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__(parser.prog)
        self.parser = parser


def command_parser(command: str) -> HelpfulParser:
    """The parser ``kgtext COMMAND`` builds (its ``main`` is stopped when it starts parsing)."""
    module = importlib.import_module(SUBCOMMANDS[command].module)

    def capture(self: HelpfulParser, args: Any = None, namespace: Any = None) -> Any:
        raise _ParsedError(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HelpfulParser, "parse_known_args", capture)
        try:
            module.main([])
        except _ParsedError as parsed:
            assert isinstance(parsed.parser, HelpfulParser), f"{command}: not a HelpfulParser"
            return parsed.parser
    raise AssertionError(f"kgtext {command}: main() did not parse its arguments")


def numeric_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if isinstance(a.type, Number) or a.type in (int, float)]


def number_of(action: argparse.Action) -> Number:
    """The :class:`Number` checking ``action``'s values (a plain int/float type gets the parser's default)."""
    kind = action.type
    return kind if isinstance(kind, Number) else Number(kind)  # type: ignore[arg-type]


def required_args(parser: argparse.ArgumentParser, tmp: Path) -> list[str]:
    """Values for the required options and positionals: a choice, else a path that does not exist."""
    out: list[str] = []
    for action in parser._actions:
        if not (action.required or (not action.option_strings and action.nargs != "?")):
            continue
        if action.choices:
            value = str(next(iter(action.choices)))
        else:
            value = str(tmp / "missing" / action.dest)
        out += [action.option_strings[0], value] if action.option_strings else [value]
    return out


EXTRA: dict[str, list[str]] = {
    "align-eval": ["--data-dir", "/nonexistent/kgtext-gold", "--work", "/nonexistent/kgtext-work"],
}
"""Options whose default would make the command do real work (align-eval's default --data-dir may exist)."""


def _runner(command: str) -> Callable[[list[str]], None]:
    if command == "build-corpus":
        from kgtext.pipelines.options import parse_args

        return lambda argv: None if parse_args(argv) else None
    return importlib.import_module(SUBCOMMANDS[command].module).main  # type: ignore[no-any-return]


def run(command: str, argv: list[str]) -> tuple[int, str]:
    """(exit status, stderr) of ``kgtext COMMAND argv``; any exception but SystemExit fails the test."""
    err, out = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stderr(err), redirect_stdout(out):
        try:
            _runner(command)(argv)
        except SystemExit as exit_info:
            code = exit_info.code if isinstance(exit_info.code, int) else 1
    return code, err.getvalue()


def expected_refusal(number: Number, raw: str) -> bool:
    """Whether ``number`` must refuse ``raw`` (the rule every numeric option follows)."""
    try:
        value = number.kind(raw)
    except ValueError:
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return not number.allow_nonfinite
    if isinstance(value, int) and abs(value) >= 2**63:
        return True
    return not number._in_bounds(value)


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_every_numeric_option_refuses_in_one_line_or_accepts(command: str, tmp_path: Path) -> None:
    parser = command_parser(command)
    base = [*required_args(parser, tmp_path), *EXTRA.get(command, [])]
    problems = []
    for action in numeric_options(parser):
        option = action.option_strings[0] if action.option_strings else action.dest
        for raw in VALUES:
            code, err = run(command, [*base, f"{option}={raw}"])
            first = err.splitlines()[0] if err.strip() else ""
            refused = first.startswith(f"kgtext {command}: argument {option}:")
            if "Traceback" in err or code not in (0, 1, 2):
                problems.append(f"{option} {raw}: exit {code}, stderr {err[-300:]!r}")
            elif refused != expected_refusal(number_of(action), raw) or (refused and code != 2):
                problems.append(f"{option} {raw}: refused={refused} exit {code}: {first!r}")
            elif code and not first.startswith(f"kgtext {command}:"):
                problems.append(f"{option} {raw}: exit {code} without a one-line error: {err[-300:]!r}")
    assert problems == []


def test_the_options_of_the_issue_are_covered() -> None:
    """The reported cases are numeric options of their commands and refuse what the issue fed them."""
    finetune = {a.option_strings[0]: number_of(a) for a in numeric_options(command_parser("finetune"))}
    generate = {a.option_strings[0]: number_of(a) for a in numeric_options(command_parser("generate"))}
    assert expected_refusal(finetune["--batch-size"], "-1")
    assert expected_refusal(finetune["--threads"], "-1")
    assert expected_refusal(generate["--temperature"], "nan")
    assert expected_refusal(generate["--seed"], str(10**23))
    assert expected_refusal(generate["--top-p"], "0")
    assert not expected_refusal(generate["--temperature"], "0")


@pytest.mark.parametrize(
    ("argv", "first_line"),
    [
        (
            ["--temperature", "nan"],
            "kgtext generate: argument --temperature: must be a finite number, got 'nan'",
        ),
        (
            ["--seed", str(10**23)],
            f"kgtext generate: argument --seed: must fit in a 64-bit integer (±9.2e18), got {10**23}",
        ),
        (["--max-new-tokens", "-1"], "kgtext generate: argument --max-new-tokens: must be >= 0, got -1"),
    ],
)
def test_generate_refuses_bad_numbers_before_loading(
    argv: list[str], first_line: str, tmp_path: Path
) -> None:
    code, err = run("generate", ["--checkpoint", str(tmp_path / "none"), "--prompt", "x", *argv])
    assert code == 2 and err.splitlines()[0] == first_line


def test_every_numeric_set_key_refuses_in_one_line_or_accepts() -> None:
    """``kgtext pretrain --set KEY=VALUE`` for every int/float key: a ValueError naming the key, or a value
    the configuration (and, for model.*, the model preset) accepts; nan and inf always refused, 10**23 by int
    keys (beyond 64 bits)."""
    from kgtext.model.presets import get_preset
    from kgtext.model.train.config import apply_overrides, key_type, valid_keys
    from kgtext.model.train.presets import train_preset

    base = train_preset("tiny")
    problems = []
    for key in (k for k in valid_keys() if key_type(k) in (int, float)):
        for raw in VALUES:
            try:
                config = apply_overrides(base, [f"{key}={raw}"])
                if key.startswith("model."):
                    get_preset("tiny", **config.model_overrides)
            except ValueError as err:
                if "\n" in str(err):
                    problems.append(f"{key}={raw}: a message of several lines")
                continue
            if raw in ("nan", "inf") or (raw == str(10**23) and key_type(key) is int):
                problems.append(f"{key}={raw}: accepted")
    assert problems == []


def test_a_nan_set_value_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = run(
        "pretrain",
        [
            "--corpus",
            str(tmp_path),
            "--preset",
            "tiny",
            "--out",
            str(tmp_path / "run"),
            "--set",
            "optim.grad_clip=nan",
        ],
    )
    assert code == 1 and err == "kgtext pretrain: --set optim.grad_clip: expected a finite float, got 'nan'\n"
