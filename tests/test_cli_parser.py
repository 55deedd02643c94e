"""``kgtext.common.cli_parser``: one-line errors with did-you-mean through real parsers, plain help, field help."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from kgtext.common.cli_parser import HelpfulParser, Number, did_you_mean, field_help, plain, suggest

USAGE = "usage: kgtext demo [-h] --corpus DIR [--max-steps N] [--preset {tiny,base-ablation}]\n"


@pytest.fixture(autouse=True)
def _fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """argparse wraps usage and help to the terminal width: pin it so the expected text is exact."""
    monkeypatch.setenv("COLUMNS", "100")


def demo_parser(**kwargs: object) -> HelpfulParser:
    parser = HelpfulParser(
        prog="kgtext demo", description="``kgtext demo``: see :func:`kgtext.model.info.describe`.", **kwargs
    )
    parser.add_argument("--corpus", required=True, metavar="DIR")
    parser.add_argument("--max-steps", type=int, metavar="N")
    parser.add_argument("--preset", choices=["tiny", "base-ablation"])
    return parser


def fail(parser: HelpfulParser, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Parse ``argv``, which must exit 2; the stderr text."""
    with pytest.raises(SystemExit) as err:
        parser.parse_args(argv)
    assert err.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_unknown_option_names_it_and_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(demo_parser(), ["--corpus", "c", "--max-step", "5"], capsys)
    assert err == "kgtext demo: unknown option --max-step (did you mean --max-steps?)\n" + USAGE


def test_unknown_option_with_equals_value(capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(demo_parser(), ["--corpus=c", "--presets=tiny"], capsys)
    assert err == "kgtext demo: unknown option --presets (did you mean --preset?)\n" + USAGE


def test_unknown_option_without_close_match(capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(demo_parser(), ["--corpus", "c", "--colour"], capsys)
    assert err == "kgtext demo: unknown option --colour\n" + USAGE


def test_several_unknown_options_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(demo_parser(), ["--corpus", "c", "--max-step", "5", "--colour", "red"], capsys)
    assert err == "kgtext demo: unknown options --max-step (did you mean --max-steps?), --colour\n" + USAGE


def test_abbreviations_are_refused_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(demo_parser(), ["--corpus", "c", "--max", "5"], capsys)
    assert err == "kgtext demo: unknown option --max (did you mean --max-steps?)\n" + USAGE


def test_abbreviations_when_asked_for() -> None:
    args = demo_parser(allow_abbrev=True).parse_args(["--corpus", "c", "--max", "5"])
    assert args.max_steps == 5


def test_unexpected_values(capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(demo_parser(), ["--corpus", "c", "extra", "-1"], capsys)
    assert err == "kgtext demo: unexpected arguments 'extra', '-1'\n" + USAGE


def test_invalid_choice_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(demo_parser(), ["--corpus", "c", "--preset", "tinny"], capsys)
    assert err == (
        "kgtext demo: invalid --preset 'tinny' (did you mean tiny?); choose from tiny, base-ablation\n"
        + USAGE
    )


def test_invalid_choice_without_close_match(capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(demo_parser(), ["--corpus", "c", "--preset", "huge"], capsys)
    assert err == "kgtext demo: invalid --preset 'huge'; choose from tiny, base-ablation\n" + USAGE


def test_invalid_positional_choice_is_named_by_metavar(capsys: pytest.CaptureFixture[str]) -> None:
    parser = HelpfulParser(prog="kgtext demo")
    parser.add_argument("task", metavar="TASK", choices=["relation", "token"])
    assert fail(parser, ["tokens"], capsys) == (
        "kgtext demo: invalid TASK 'tokens' (did you mean token?); choose from relation, token\n"
        "usage: kgtext demo [-h] TASK\n"
    )


def test_other_argparse_errors_use_the_same_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert fail(demo_parser(), [], capsys) == (
        "kgtext demo: the following arguments are required: --corpus\n" + USAGE
    )
    assert fail(demo_parser(), ["--corpus", "c", "--max-steps", "many"], capsys) == (
        "kgtext demo: argument --max-steps: invalid int value: 'many'\n" + USAGE
    )


def test_good_arguments_parse() -> None:
    args = demo_parser().parse_args(["--corpus", "c", "--max-steps", "7", "--preset", "tiny"])
    assert (args.corpus, args.max_steps, args.preset) == ("c", 7, "tiny")


def bounded_parser() -> HelpfulParser:
    parser = HelpfulParser(prog="kgtext demo")
    parser.add_argument("--steps", type=int, minimum=1)
    parser.add_argument("--offset", type=int, minimum=None)
    parser.add_argument("--p", type=float, exclusive_minimum=0, maximum=1)
    parser.add_argument("--drop", type=float, exclusive_maximum=1)
    parser.add_argument("--scale", type=float, minimum=None, allow_nonfinite=True)
    group = parser.add_argument_group("more")
    group.add_argument("--batch", type=int, minimum=1)
    either = parser.add_mutually_exclusive_group()
    either.add_argument("--lr", type=float, exclusive_minimum=0)
    return parser


BOUNDED_USAGE = (
    "usage: kgtext demo [-h] [--steps STEPS] [--offset OFFSET] [--p P] [--drop DROP] [--scale SCALE]\n"
    "                   [--batch BATCH] [--lr LR]\n"
)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--steps", "0"], "argument --steps: must be >= 1, got 0"),
        (["--steps", "-1"], "argument --steps: must be >= 1, got -1"),
        (["--steps", str(10**23)], f"argument --steps: must fit in a 64-bit integer (±9.2e18), got {10**23}"),
        (
            ["--offset", str(-(10**23))],
            f"argument --offset: must fit in a 64-bit integer (±9.2e18), got {-(10**23)}",
        ),
        (["--steps", "nan"], "argument --steps: invalid int value: 'nan'"),
        (["--p", "nan"], "argument --p: must be a finite number, got 'nan'"),
        (["--p", "inf"], "argument --p: must be a finite number, got 'inf'"),
        (["--p", "0"], "argument --p: must be in (0, 1], got 0"),
        (["--p", "1.5"], "argument --p: must be in (0, 1], got 1.5"),
        (["--drop", "1"], "argument --drop: must be in [0, 1), got 1"),
        (["--drop", "-0.5"], "argument --drop: must be in [0, 1), got -0.5"),
        (["--batch", "0"], "argument --batch: must be >= 1, got 0"),
        (["--lr", "0"], "argument --lr: must be > 0, got 0"),
        (["--lr=-inf"], "argument --lr: must be a finite number, got '-inf'"),
    ],
)
def test_numbers_out_of_bounds_are_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fail(bounded_parser(), argv, capsys) == f"kgtext demo: {message}\n" + BOUNDED_USAGE


def test_numbers_within_bounds_parse() -> None:
    args = bounded_parser().parse_args(
        ["--steps", "1", "--offset", "-5", "--p", "1", "--drop", "0", "--scale=-inf", "--batch", "2"]
    )
    assert (args.steps, args.offset, args.p, args.drop, args.scale, args.batch) == (
        1,
        -5,
        1.0,
        0.0,
        -math.inf,
        2,
    )
    assert math.isnan(bounded_parser().parse_args(["--scale", "nan"]).scale)
    assert bounded_parser().parse_args(["--lr", "1e-4"]).lr == 1e-4


def test_numbers_default_to_non_negative_finite_64_bit(capsys: pytest.CaptureFixture[str]) -> None:
    """A plain type=int / type=float option, in the parser or in a group, refuses negative and non-finite."""
    parser = HelpfulParser(prog="kgtext demo")
    parser.add_argument("--n", type=int)
    parser.add_argument_group("g").add_argument("--x", type=float)
    assert "argument --n: must be >= 0, got -1" in fail(parser, ["--n", "-1"], capsys)
    assert "argument --x: must be a finite number, got 'inf'" in fail(parser, ["--x", "inf"], capsys)
    assert parser.parse_args(["--n", "0", "--x", "1e23"]).x == 1e23


def test_bounds_on_a_non_numeric_option_are_a_mistake() -> None:
    with pytest.raises(TypeError, match="maximum apply to type=int or type=float options only"):
        HelpfulParser(prog="kgtext demo").add_argument("--name", maximum=3)


def test_number_describes_its_range() -> None:
    assert Number(int, minimum=1).describe() == ">= 1"
    assert Number(float, minimum=None, maximum=2.5).describe() == "<= 2.5"
    assert Number(float, minimum=0, exclusive_minimum=0).describe() == "> 0"
    assert Number(int, minimum=None).describe() == ""


def test_description_and_epilog_are_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    parser = HelpfulParser(prog="kgtext demo", description="``kgtext demo``: **fast**.", epilog="see `docs`")
    with pytest.raises(SystemExit) as err:
        parser.parse_args(["--help"])
    assert err.value.code == 0
    assert capsys.readouterr().out == (
        "usage: kgtext demo [-h]\n\nkgtext demo: fast.\n\noptions:\n"
        "  -h, --help  show this help message and exit\n\nsee docs\n"
    )


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("``kgtext pretrain``: train", "kgtext pretrain: train"),
        ("a `single` b", "a single b"),
        (
            "see :func:`kgtext.model.train.presets.train_preset`",
            "see kgtext.model.train.presets.train_preset",
        ),
        ("a :class:`~model.config.ModelConfig`", "a ModelConfig"),
        ("see :ref:`Training <training>`", "see Training"),
        ("**bold** and **more**", "bold and more"),
        ("read [TRAINING](docs/TRAINING.md)", "read TRAINING"),
        ("`Beam <https://beam.apache.org>`_ docs", "Beam docs"),
        ("4 * d_model, [--resume] (opt)", "4 * d_model, [--resume] (opt)"),
    ],
)
def test_plain_strips_markup(doc: str, expected: str) -> None:
    assert plain(doc) == expected


def test_suggest_the_closest_or_nothing() -> None:
    options = ["--max-steps", "--preset", "--corpus"]
    assert suggest("--max-step", options) == " (did you mean --max-steps?)"
    assert suggest("--colour", options) == ""
    assert suggest("--runner", ["--runner", "--project"]) == " (did you mean --runner?)"


def test_did_you_mean_lists_one_two_or_three() -> None:
    assert did_you_mean([]) == ""
    assert did_you_mean(["a"]) == " (did you mean a?)"
    assert did_you_mean(["a", "b"]) == " (did you mean a or b?)"
    assert did_you_mean(["a", "b", "c"]) == " (did you mean a, b or c?)"


@dataclass(frozen=True, kw_only=True, slots=True)
class _Documented:
    """A config section documented both ways."""

    width: int = 4
    """Hidden width (units). Must be even."""
    rate: float = 0.1  # dropout rate (``0`` disables it)
    note: str = ""
    """First line of a long one,
    continued (e.g. on a second line) to its full stop. Then more."""
    bare: int = 0


def test_field_help_reads_docstrings_and_comments() -> None:
    assert field_help(_Documented) == {
        "width": "Hidden width (units).",
        "rate": "dropout rate (0 disables it)",
        "note": "First line of a long one, continued (e.g. on a second line) to its full stop.",
    }
