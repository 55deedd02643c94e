"""The ``kgtext`` console script: dispatches a subcommand to the ``main(argv)`` of its module.

Subcommand modules are imported lazily, so ``kgtext inspect`` never imports Beam or torch. This module is
the only code allowed to import both ``pipelines`` and ``model`` (tests/test_layering.py enforces it).
"""

from __future__ import annotations

import difflib
import importlib
import logging
import sys
from typing import NamedTuple


class Subcommand(NamedTuple):
    module: str
    """Module exposing ``main(argv: list[str] | None) -> None``."""
    summary: str


SUBCOMMANDS: dict[str, Subcommand] = {
    "build-corpus": Subcommand(
        "kgtext.pipelines.build_corpus", "build a corpus directory from a KG and documents (Beam)"
    ),
    "index-kg": Subcommand(
        "kgtext.pipelines.index_kg", "index a KG once (build-corpus's phase 0) for build-corpus --kg-index"
    ),
    "inspect": Subcommand("kgtext.corpus.inspect", "show (and --verify) a corpus directory"),
    "export": Subcommand(
        "kgtext.corpus.export",
        "write a corpus as Parquet or JSONL (for pyarrow.dataset, polars, DuckDB, pandas)",
    ),
    "pretrain": Subcommand("kgtext.model.train.cli", "pre-train the ERNIE 3.0 model on a corpus directory"),
    "kg-stats": Subcommand("kgtext.kg.stats", "count triples, entities, literals and relations of KG files"),
    "align-eval": Subcommand(
        "kgtext.evaluation.align_eval",
        "score alignment through build-corpus against gold sets, beside a baseline",
    ),
    "model-info": Subcommand("kgtext.model.info", "print the parameter breakdown of a model preset"),
    "plot": Subcommand("kgtext.model.train.plot", "draw the loss curves of a pre-training run to a PNG"),
    "generate": Subcommand(
        "kgtext.model.use.generate", "continue a prompt with a pre-trained model's NLG module"
    ),
    "finetune": Subcommand(
        "kgtext.model.use.finetune", "fine-tune a checkpoint on relation, classification or token JSONL"
    ),
    "evaluate": Subcommand(
        "kgtext.model.use.evaluate", "per-task loss/accuracy and document perplexity of a checkpoint"
    ),
    "export-model": Subcommand(
        "kgtext.model.use.export", "write a checkpoint as safetensors, config.json and its tokenizer"
    ),
}


# Beam logs this on import when its optional GCP extras are absent; kgtext never uses BigQuery.
_KNOWN_NOISE = ("apitools not found, and bigquery client libraries are not available",)


def _drop_known_noise(record: logging.LogRecord) -> bool:
    return not any(str(record.msg).startswith(text) for text in _KNOWN_NOISE)


def _usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: kgtext <command> [options]   (kgtext <command> --help for its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {sub.summary}" for name, sub in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext <command> [options]``."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return
    if args[0] == "--version":
        from kgtext import __version__

        print(f"kgtext {__version__}")
        return
    name, rest = args[0], args[1:]
    sub = SUBCOMMANDS.get(name)
    if sub is None:
        close = difflib.get_close_matches(name, list(SUBCOMMANDS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        print(f"kgtext: unknown command {name!r}{hint}\n\n{_usage()}", file=sys.stderr)
        raise SystemExit(2)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for handler in logging.getLogger().handlers:
            handler.addFilter(_drop_known_noise)
    try:
        module = importlib.import_module(sub.module)
    except ModuleNotFoundError as err:
        if err.name and sub.module.startswith(err.name):
            print(
                f"kgtext: command {name!r} is not available in this build yet ({sub.module} missing)",
                file=sys.stderr,
            )
            raise SystemExit(2) from None
        raise
    module.main(rest)


if __name__ == "__main__":
    main()
