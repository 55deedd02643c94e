"""Command line of ``kgtext build-corpus``: kgtext's kebab-case flags + Beam's snake_case options.

``parse_known_args`` takes our flags; whatever is left must be a Beam pipeline option (checked against
every registered ``PipelineOptions`` class, the DaskRunner's included), or the command fails: a typo is
never silently ignored. The runner is always explicit: the in-process DirectRunner unless ``--runner``
names another (Beam 2.77's default would first try to download the Prism runner binary).
"""

from __future__ import annotations

import argparse
import importlib
import logging
from typing import Any, NamedTuple, NoReturn

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, _BeamArgumentParser

from kgtext.common.cli_parser import HelpfulParser, suggest
from kgtext.corpus.tasks.tokenizer import MIN_VOCAB_SIZE
from kgtext.pipelines.config import FLAG_DEFAULTS, BuildConfig, LexiconLinking

logger = logging.getLogger(__name__)

DEFAULT_RUNNER = "DirectRunner"
DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"


class ParsedArgs(NamedTuple):
    """Our configuration and the Beam options of one run."""

    config: BuildConfig
    beam_args: tuple[str, ...]
    """Beam flags exactly as given, plus ``--runner=DirectRunner`` when none was given."""


DEFAULTS: dict[str, Any] = FLAG_DEFAULTS
"""The flags' defaults (the component configs' own): defaults and help texts come from here, not restated."""


def add_flag(p: argparse.ArgumentParser, name: str, kind: type, text: str, **bounds: Any) -> None:
    """``--name`` for the build flag of that name (:data:`FLAG_DEFAULTS`): its type, its default, the default in the help;
    ``bounds`` are :class:`kgtext.common.cli_parser.HelpfulParser`'s (``minimum=``, ``exclusive_maximum=``, ...)."""
    default = DEFAULTS[name.replace("-", "_")]
    p.add_argument(f"--{name}", type=kind, default=default, help=f"{text} (default {default})", **bounds)


def _parser() -> HelpfulParser:
    D = DEFAULTS
    p = HelpfulParser(
        prog="kgtext build-corpus",
        description="Build a verified corpus directory (Arrow shards + manifest) from a KG and documents. "
        "Options kgtext does not know are passed to Beam (snake_case, e.g. --runner, --direct_num_workers).",
        epilog="Example: kgtext build-corpus --kg data/sample/kg.ttl --docs data/sample/docs.jsonl "
        "--out out/corpus --runner=DirectRunner",
    )
    p.add_argument("--kg", nargs="+", metavar="PATH", help="KG files, globs or directories")
    p.add_argument(
        "--kg-index",
        default=D["kg_index"],
        metavar="DIR",
        help="reuse the KG's look-up files made by `kgtext index-kg` instead of reading --kg (phase 0 is "
        "skipped); with --kg too, the KG files must be the ones the index was made from",
    )
    p.add_argument(
        "--docs", nargs="+", required=True, metavar="PATH", help="document files, globs or directories"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output corpus directory")
    p.add_argument("--overwrite", action="store_true", help="replace an existing corpus at --out")
    add_flag(p, "num-shards", int, "shards per dataset split", minimum=1)
    add_flag(p, "valid-fraction", float, "share of documents in valid", exclusive_maximum=1)
    add_flag(p, "seed", int, "seed of every random choice")
    add_flag(p, "language", str, "document language code")
    p.add_argument(
        "--spacy-model", default=D["spacy_model"], help="installed spaCy pipeline (default: blank + rules)"
    )
    add_flag(p, "min-sentence-words", int, "shorter sentences are not in aligned/")
    p.add_argument(
        "--min-mention-confidence",
        type=float,
        default=D["min_mention_confidence"],
        metavar="C",
        help="drop mentions whose linking confidence is below C, in [0, 1] (default 0: keep all; "
        "docs/ALIGNMENT.md shows precision and recall per threshold)",
    )
    add_flag(p, "vocab-size", int, "SentencePiece vocabulary size", minimum=MIN_VOCAB_SIZE)
    add_flag(p, "tokenizer-sample-sentences", int, "sentences training the tokenizer", minimum=1)
    p.add_argument(
        "--tokenizer",
        default=D["tokenizer"],
        metavar="PATH.model",
        help="reuse this SentencePiece model (e.g. an earlier corpus's tokenizer/spm.model) instead of "
        "training one; --vocab-size and --tokenizer-sample-sentences are then unused",
    )
    add_flag(p, "sd-docs-per-bucket", int, "documents per SD negative bucket", minimum=2)
    add_flag(p, "log-examples", int, "aligned sentences logged at INFO")
    add_flag(
        p,
        "max-line-bytes",
        int,
        "longest line of a KG or JSONL file, in bytes; longer ones are dead letters",
        minimum=1,
    )
    add_flag(
        p,
        "max-doc-bytes",
        int,
        "most bytes of one document record (a JSONL line, a .json record, a .txt file); larger ones are "
        "too_large dead letters",
        minimum=1,
    )
    p.add_argument(
        "--lexicon-linking",
        choices=[m.value for m in LexiconLinking],
        default=D["lexicon_linking"].value,
        help="which documents get candidate entities from an index of every KG name: unlinked (default: "
        "documents without links), all, or off",
    )
    add_flag(
        p,
        "max-candidates-per-name",
        int,
        "plain-text linking: entities kept per name that several KG entities share, the best supported by "
        "the document's other names (0: all; docs/ALIGNMENT.md)",
        minimum=0,
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail when any input record or KG statement is rejected (--max-rejected-fraction 0)",
    )
    add_flag(
        p,
        "max-rejected-fraction",
        float,
        "fail when a larger share of the KG lines, or of the document records, is rejected",
        maximum=1,
    )
    fields = p.add_argument_group(
        "document fields",
        "which fields of a JSONL, JSON or Parquet record hold the document "
        "(e.g. TEKGEN: --text-field sent --subject-field sub --entity-prefix http://www.wikidata.org/entity/)",
    )
    for name, text in (
        ("text-field", "field holding the text"),
        ("id-field", "field holding the document id; records without one get <file>:<line>"),
        ("title-field", "field holding the title"),
        (
            "subject-field",
            "field holding the entity the document is about (an IRI or, with --entity-prefix, an id)",
        ),
        ("links-field", "field holding the links [{start, end, entity}]"),
    ):
        default = DEFAULTS[name.replace("-", "_")]
        fields.add_argument(f"--{name}", default=default, metavar="NAME", help=f"{text} (default {default})")
    fields.add_argument(
        "--entity-prefix",
        default=DEFAULTS["entity_prefix"],
        metavar="IRI",
        help="prefix turning bare subject and link ids such as Q42 into IRIs (default: none)",
    )
    return p


class BeamOptionError(ValueError):
    """A Beam option with a bad value (Beam's own parser would print its whole usage and exit)."""


class _OneLineBeamParser(_BeamArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BeamOptionError(message)


def _beam_parser() -> argparse.ArgumentParser:
    """An argparse parser that knows every registered Beam pipeline option (errors raise BeamOptionError)."""
    try:  # registers DaskOptions (--dask_client_address, ...) when the dask extra is installed
        import apache_beam.runners.dask.dask_runner  # noqa: F401
    except ImportError:
        logger.debug("Beam's DaskRunner is not installed; its options are unknown")
    parser = _OneLineBeamParser(allow_abbrev=False)
    seen: dict[str, type[PipelineOptions]] = {}
    for cls in PipelineOptions.__subclasses__():
        seen.setdefault(str(cls), cls)
    for cls in seen.values():
        cls._add_argparse_args(parser)
    return parser


def unknown_beam_args(args: list[str]) -> list[str]:
    """The flags in ``args`` that no Beam pipeline option class knows (BeamOptionError for a bad value)."""
    _, unknown = _beam_parser().parse_known_args(args)
    return list(unknown)


def beam_option_strings() -> list[str]:
    """Every option string of every registered Beam pipeline option (``--runner``, ``--direct_num_workers``...)."""
    return [s for action in _beam_parser()._actions for s in action.option_strings]


def runner_problem(name: str) -> str | None:
    """Why ``--runner name`` cannot run (unknown short name, dotted path that does not import), or None."""
    known = [path.rsplit(".", 1)[-1] for path in StandardOptions.ALL_KNOWN_RUNNERS]
    lower = {k.lower(): k for k in known}
    if "." not in name:
        if name.lower() in lower or f"{name.lower()}runner" in lower:
            return None
        if name.lower().removesuffix("runner") == "dask":
            return f"--runner {name}: Beam knows the DaskRunner only by its path: --runner={DASK_RUNNER}"
        listed = ", ".join([*sorted(set(known)), DASK_RUNNER])
        return f"--runner {name}: unknown runner{suggest(name, known)}; known: {listed}"
    module, _, cls = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), cls, None)
    except ImportError as err:
        return f"--runner {name}: cannot import {module} ({err})"
    return None if found is not None else f"--runner {name}: {module} has no {cls}"


def beam_args_of(parser: HelpfulParser, rest: list[str]) -> tuple[str, ...]:
    """The flags ``parser`` left (``rest``) as Beam's, with the runner made explicit; a flag neither knows,
    a bad Beam value or an unknown runner exits with status 2 and one line."""
    try:
        unknown = unknown_beam_args(rest)
    except BeamOptionError as err:
        parser.error(f"Beam option: {err}")
    flags = [arg.split("=", 1)[0] for arg in unknown if arg.startswith("-")]
    if unknown:
        known = parser.option_strings() + beam_option_strings()
        named = ", ".join(f"{flag}{suggest(flag, known)}" for flag in flags) or " ".join(unknown)
        parser.error(f"unknown option {named}: neither kgtext nor Beam knows it")
    beam_args = list(rest)
    runner = PipelineOptions(beam_args).view_as(StandardOptions).runner
    if runner is None:
        beam_args.insert(0, f"--runner={DEFAULT_RUNNER}")
    elif (problem := runner_problem(str(runner))) is not None:
        parser.error(problem)
    return tuple(beam_args)


def parse_args(argv: list[str]) -> ParsedArgs:
    """Split ``argv`` into our :class:`BuildConfig` and Beam's flags; unknown flags exit with status 2."""
    parser = _parser()
    ns, rest = parser.parse_known_args(argv)
    beam_args = beam_args_of(parser, rest)
    if not ns.kg and not ns.kg_index:
        parser.error("one of --kg or --kg-index is required")
    try:
        values = {name: getattr(ns, name) for name in DEFAULTS}
        config = BuildConfig.from_flags(**values, kg=ns.kg or (), docs=ns.docs, out=ns.out)
    except ValueError as err:
        parser.error(str(err))
    return ParsedArgs(config, beam_args)


def runner_name(beam_args: tuple[str, ...]) -> str:
    """The runner named in Beam's flags (as given: a short name or a dotted class path)."""
    return str(PipelineOptions(list(beam_args)).view_as(StandardOptions).runner or DEFAULT_RUNNER)
