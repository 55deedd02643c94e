"""Command line of build-corpus: our kebab-case flags, Beam's snake_case pass-through, unknown flags rejected."""

from __future__ import annotations

import dataclasses

import pytest

from kgtext.corpus.tasks.config import TasksConfig
from kgtext.kg.config import KgConfig
from kgtext.pipelines.config import FLAG_DEFAULTS, BuildConfig, LexiconLinking
from kgtext.pipelines.options import _parser, parse_args, runner_name, unknown_beam_args

BASE = ["--kg", "k.ttl", "--docs", "d.jsonl", "--out", "out"]


def test_defaults_name_the_direct_runner_explicitly() -> None:
    parsed = parse_args(BASE)
    assert parsed.beam_args == ("--runner=DirectRunner",)
    assert parsed.config == BuildConfig(kg_paths=("k.ttl",), doc_paths=("d.jsonl",), out="out")


def test_kebab_case_flags_fill_the_config() -> None:
    parsed = parse_args(BASE + ["--num-shards", "8", "--valid-fraction", "0.1", "--seed", "7", "--overwrite"])
    config = parsed.config
    assert (config.num_shards, config.valid_fraction, config.tasks.seed, config.tokenizer.train.seed) == (
        8,
        0.1,
        7,
        7,
    )
    assert config.overwrite is True


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
    assert parse_args(BASE + ["--strict"]).config.rejections.limit == 0.0
    assert parse_args(BASE).config.rejections.limit == 0.5


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
        ("tokenizer_sample_sentences", 0, "tokenizer_sample_sentences must be positive, got 0"),
        ("max_rejected_fraction", 1.5, "max_rejected_fraction must be in [0, 1], got 1.5"),
        ("min_mention_confidence", -0.1, "min_mention_confidence must be in [0, 1], got -0.1"),
        ("max_line_bytes", 0, "max_line_bytes must be > 0, got 0"),
        ("lexicon_linking", "some", "'some' is not a valid LexiconLinking"),
        ("no_such_flag", 1, "unknown build flags: no_such_flag"),
        ("docs", "d.jsonl", "docs must be a list of paths, not the string 'd.jsonl'"),
        ("num_shards", True, "num_shards must be a number, got True"),
    ],
)
def test_build_config_validates(field: str, value: object, message: str) -> None:
    """Each value is checked by the config that owns it (the build's, the aligner's, the tokenizer's...)."""
    flags: dict[str, object] = {"kg": ("k",), "docs": ("d",), "out": "o", field: value}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)")):
        BuildConfig.from_flags(**flags)


def test_one_flag_in_two_components_must_agree() -> None:
    """--language and --seed each set two components; a nested config with two values is refused, so the
    flags the manifest records always describe the build."""
    base = BuildConfig.from_flags(kg=("k",), docs=("d",), out="o", language="de", seed=3)
    assert (base.kg.languages, base.aligner.language) == (("de", ""), "de")
    with pytest.raises(ValueError, match="kg.languages must start with the documents' language 'de'"):
        dataclasses.replace(base, kg=KgConfig(languages=("en", "")))
    with pytest.raises(
        ValueError, match=r"tokenizer.train.seed \(3\) and tasks.seed \(0\) must be the one seed"
    ):
        dataclasses.replace(base, tasks=TasksConfig(seed=0))


def test_the_direct_runner_never_switches_to_a_downloaded_prism_runner() -> None:
    from apache_beam.options.pipeline_options import TypeOptions

    from kgtext.pipelines.build_corpus import pipeline_options

    assert pipeline_options(("--runner=DirectRunner",)).view_as(TypeOptions).allow_unsafe_triggers is True
    portable = pipeline_options(("--runner=PortableRunner", "--job_endpoint=embed"))
    assert portable.view_as(TypeOptions).allow_unsafe_triggers is False


def test_every_flag_fills_the_nested_config_and_comes_back() -> None:
    """Every flag is a parser option with the component config's own default, and the nested config gives
    each flag's value back (the manifest's build_config): a changed value of every flag round-trips."""
    parsed = parse_args(["--kg", "k.nt", "--docs", "d.jsonl", "--out", "o"]).config
    assert parsed == BuildConfig(kg_paths=("k.nt",), doc_paths=("d.jsonl",), out="o")
    dests = {action.dest for action in _parser()._actions}
    assert set(FLAG_DEFAULTS) | {"kg", "docs", "out"} <= dests
    assert list(parsed.flags()) == ["kg", "docs", "out", *FLAG_DEFAULTS]
    changed = {
        "overwrite": True, "kg_index": "kgidx", "num_shards": 3, "valid_fraction": 0.2, "seed": 5, "language": "de",
        "spacy_model": "de_core_news_sm", "min_sentence_words": 4, "min_mention_confidence": 0.3,
        "vocab_size": 500, "tokenizer_sample_sentences": 9, "tokenizer": "t.model", "sd_docs_per_bucket": 7,
        "log_examples": 2, "max_line_bytes": 99, "max_doc_bytes": 98, "lexicon_linking": LexiconLinking.ALL, "max_candidates_per_name": 4,
        "strict": True, "max_rejected_fraction": 0.1, "text_field": "sent", "id_field": "key",
        "title_field": "name", "subject_field": "sub", "links_field": "anchors", "entity_prefix": "http://x/",
    }  # fmt: skip
    assert set(changed) == set(FLAG_DEFAULTS)
    assert all(changed[name] != default for name, default in FLAG_DEFAULTS.items())
    given = {"kg": ["k.nt"], "docs": ["d.jsonl"], "out": "o", **changed}
    config = BuildConfig.from_flags(**given)
    assert config.flags() == given
    assert BuildConfig.from_flags(**config.flags()) == config
    assert (config.aligner.spacy_model, config.kg.max_line_bytes, config.tokenizer.train.vocab_size) == (
        "de_core_news_sm",
        99,
        500,
    )


def test_kg_or_kg_index_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--docs", "d.jsonl", "--out", "o"])
    assert (
        capsys.readouterr().err.splitlines()[0]
        == "kgtext build-corpus: one of --kg or --kg-index is required"
    )
    config = parse_args(["--kg-index", "kgidx", "--docs", "d.jsonl", "--out", "o"]).config
    assert (config.kg_paths, config.kg_index) == ((), "kgidx")
