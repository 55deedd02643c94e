"""Command line of build-corpus: our kebab-case flags, Beam's snake_case pass-through, unknown flags rejected."""

from __future__ import annotations

import dataclasses

import pytest

from kgtext.pipelines.config import BuildConfig
from kgtext.pipelines.options import _parser, parse_args, runner_name, unknown_beam_args

BASE = ["--kg", "k.ttl", "--docs", "d.jsonl", "--out", "out"]


def test_defaults_name_the_direct_runner_explicitly() -> None:
    parsed = parse_args(BASE)
    assert parsed.beam_args == ("--runner=DirectRunner",)
    assert parsed.config == BuildConfig(kg=("k.ttl",), docs=("d.jsonl",), out="out")


def test_kebab_case_flags_fill_the_config() -> None:
    parsed = parse_args(BASE + ["--num-shards", "8", "--valid-fraction", "0.1", "--seed", "7", "--overwrite"])
    assert (parsed.config.num_shards, parsed.config.valid_fraction, parsed.config.seed) == (8, 0.1, 7)
    assert parsed.config.overwrite is True


def test_beam_flags_pass_through_unchanged() -> None:
    beam = ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    assert parse_args(BASE + beam).beam_args == tuple(beam)


def test_dask_runner_options_are_known() -> None:
    args = [
        "--runner=apache_beam.runners.dask.dask_runner.DaskRunner",
        "--dask_client_address=localhost:8786",
    ]
    parsed = parse_args(BASE + args)
    assert runner_name(parsed.beam_args) == "apache_beam.runners.dask.dask_runner.DaskRunner"


@pytest.mark.parametrize(
    ("flags", "first_line"),
    [
        (
            ["--num_shards=3"],
            "kgtext build-corpus: unknown option --num_shards (did you mean --num-shards?): "
            "neither kgtext nor Beam knows it",
        ),
        (
            ["--direct_num_worker=2"],
            "kgtext build-corpus: unknown option --direct_num_worker (did you mean --direct_num_workers?): "
            "neither kgtext nor Beam knows it",
        ),
        (
            ["--direct_num_workers=many"],
            "kgtext build-corpus: Beam option: argument --direct_num_workers: invalid int value: 'many'",
        ),
        (
            ["--runner=DaskRunner"],
            "kgtext build-corpus: --runner DaskRunner: Beam knows the DaskRunner only by its path: "
            "--runner=apache_beam.runners.dask.dask_runner.DaskRunner",
        ),
        (
            ["--runner=apache_beam.runners.direct.NoRunner"],
            "kgtext build-corpus: --runner apache_beam.runners.direct.NoRunner: apache_beam.runners.direct has no NoRunner",
        ),
        (
            ["--text-field", "text", "--id-field", "text"],
            "kgtext build-corpus: field names must differ, got text/id/title/subject/links = ['text', 'text', 'title', 'subject', 'links']",
        ),
    ],
)
def test_a_mistake_is_one_line_with_a_suggestion(
    flags: list[str], first_line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(BASE + flags)
    assert exc.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == first_line
    assert err[1].startswith("usage: kgtext build-corpus")


def test_a_misspelled_runner_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(BASE + ["--runner=SparkRunnr"])
    assert capsys.readouterr().err.startswith(
        "kgtext build-corpus: --runner SparkRunnr: unknown runner (did you mean SparkRunner?); known: "
    )


def test_the_field_flags_become_a_field_map() -> None:
    config = parse_args(BASE + ["--text-field", "sent", "--entity-prefix", "http://x/"]).config
    assert (config.fields.text, config.fields.id, config.fields.entity_prefix) == ("sent", "id", "http://x/")
    assert parse_args(BASE + ["--strict"]).config.rejected_limit == 0.0
    assert parse_args(BASE).config.rejected_limit == 0.5


def test_unknown_beam_args_lists_only_the_unknown() -> None:
    assert unknown_beam_args(["--direct_num_workers=2", "--no_such_option", "x"]) == ["--no_such_option", "x"]


def test_invalid_config_value_is_an_error_naming_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(BASE + ["--num-shards", "0"])
    assert "argument --num-shards: must be >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("valid_fraction", 1.0, "valid_fraction must be in [0, 1)"),
        ("vocab_size", 3, "vocab_size must be >= 300"),
        ("sd_docs_per_bucket", 1, "sd_docs_per_bucket must be > 1"),
        ("kg", (), "kg must name at least one input path"),
    ],
)
def test_build_config_validates(field: str, value: object, message: str) -> None:
    kwargs: dict[str, object] = {"kg": ("k",), "docs": ("d",), "out": "o", field: value}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)")):
        BuildConfig(**kwargs)  # type: ignore[arg-type]


def test_the_direct_runner_never_switches_to_a_downloaded_prism_runner() -> None:
    from apache_beam.options.pipeline_options import TypeOptions

    from kgtext.pipelines.build_corpus import pipeline_options

    assert pipeline_options(("--runner=DirectRunner",)).view_as(TypeOptions).allow_unsafe_triggers is True
    portable = pipeline_options(("--runner=PortableRunner", "--job_endpoint=embed"))
    assert portable.view_as(TypeOptions).allow_unsafe_triggers is False


def test_every_build_config_field_is_a_flag_with_its_default() -> None:
    """The flags take their defaults from BuildConfig (nothing restated by hand)."""
    parsed = parse_args(["--kg", "k.nt", "--docs", "d.jsonl", "--out", "o"]).config
    assert parsed == BuildConfig(kg=("k.nt",), docs=("d.jsonl",), out="o")
    dests = {action.dest for action in _parser()._actions}
    assert {f.name for f in dataclasses.fields(BuildConfig)} <= dests
