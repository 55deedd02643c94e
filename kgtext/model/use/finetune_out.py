"""Where ``kgtext finetune`` may write: the files it owns in ``--out``, the marker that lets ``--overwrite``
replace an earlier result, and the checks that refuse every other folder before anything is written."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from kgtext.corpus.replace import MARKERS, OutputError, written_by
from kgtext.model.use.export import out_path_problem

CREATED_BY = "kgtext finetune"
"""``metrics.json``'s ``created_by``: marks a folder that ``--overwrite`` may replace."""
METRICS = "metrics.json"
OUT_FILES = frozenset({METRICS, "model.pt", "tokenizer"})
"""What ``kgtext finetune`` writes into ``--out`` (the only entries ``--overwrite`` may replace)."""


def is_finetune_result(out: Path) -> bool:
    """Whether ``out`` holds a ``metrics.json`` that ``kgtext finetune`` wrote (its marker)."""
    return written_by(out / METRICS, CREATED_BY)


def out_problem(out: Path, overwrite: bool) -> str | None:
    """Why an existing ``--out`` may not be replaced: it holds what finetune did not write (a model folder
    holding a ``model.pt`` included), or ``--overwrite`` is missing; None when it may."""
    if not out.is_dir() or not any(out.iterdir()):
        return None
    allowed = OUT_FILES | set(MARKERS)
    foreign = sorted(p.name for p in out.iterdir() if p.name not in allowed)
    tokenizer = out / "tokenizer"
    if tokenizer.is_dir() and not tokenizer.is_symlink():
        foreign += sorted(
            f"tokenizer/{p.name}"
            for p in tokenizer.iterdir()
            if p.suffix != ".model" or p.is_symlink() or not p.is_file()
        )
    if foreign:
        return f"{out}: holds {foreign[0]!r}, which kgtext finetune did not write; choose another --out"
    if not is_finetune_result(out):
        return (
            f"{out}: holds {', '.join(sorted(p.name for p in out.iterdir()))} but no {METRICS} written by "
            "kgtext finetune (a model folder?); --overwrite only replaces a fine-tuning result"
        )
    if not overwrite:
        return f"{out}: already holds a fine-tuning result; pass --overwrite to replace it"
    return None


def input_paths(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(option, path) of every input given on the command line: --out may not be, hold or lie inside one."""
    given = [("--train", args.train), ("--valid", args.valid), ("--test", args.test)]
    if args.checkpoint != "none":
        given.append(("--checkpoint", args.checkpoint))
    given += [(f"--{key.replace('_', '-')}", getattr(args, key)) for key in ("tokenizer", "architecture_of")]
    return [(option, path) for option, path in given if path]


def check_out(out: Path, overwrite: bool, inputs: Sequence[tuple[str, str | Path]]) -> None:
    """Refuse (OutputError, one line naming ``out``) an ``--out`` finetune must not write."""
    problem = out_path_problem(out, inputs) or out_problem(out, overwrite)
    if problem is not None:
        raise OutputError(problem)
