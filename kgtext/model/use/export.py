"""``kgtext export-model``: a checkpoint -> a self-contained folder that loads without the run or kgtext.

    kgtext export-model RUN_DIR --out DIR [--overwrite]

``RUN_DIR`` is anything ``--checkpoint`` accepts (:mod:`kgtext.model.use.load`): a run folder (its newest complete
checkpoint), a checkpoint folder (full or sharded), a model file or another export. ``DIR`` gets::

    config.json           format, kgtext_version, the model config, aliases of shared tensors, and where
                          the weights came from (source, step; preset, tasks and train config of the run)
    model.safetensors     the state dict, each tensor once (model.checkpoint.split_shared)
    tokenizer/spm.model   the SentencePiece model, byte for byte the checkpoint's
    tokenizer/spm.vocab   its pieces and scores, "piece<TAB>score" per line (SentencePiece's .vocab format)

``--checkpoint DIR`` of ``kgtext generate``, ``evaluate`` and ``finetune`` and
:func:`kgtext.model.checkpoint.load_model` read it. The folder is written into a marked build folder beside ``DIR``
and moved into place by the journalled replace step of :mod:`kgtext.corpus.replace` (one writer per ``DIR``, what a
killed export left finished or removed by the next). Refused before anything is written: ``DIR`` the current
folder or holding it, a symbolic link, a file, ``RUN_DIR`` (or its model or tokenizer file) itself, inside it
or holding it, and a non-empty ``DIR`` unless it is a previous export (its ``config.json`` says
``format: kgtext-ernie3-export`` and it holds only the four files above) and ``--overwrite`` is given. On a
full disk: one line naming the file and the free space, the build folder removed, ``DIR`` unchanged.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kgtext.common.cli_parser import HelpfulParser
from kgtext.corpus.replace import (
    MARKERS,
    OutputError,
    OutputLock,
    recover_output,
    staged_output,
)
from kgtext.corpus.tasks.tokenizer import vocab_text
from kgtext.model.checkpoint import (
    EXPORT_CONFIG,
    EXPORT_WEIGHTS,
    read_export_config,
    save_export,
)
from kgtext.model.train import checkpoint as ckpt
from kgtext.model.use.load import (
    TOKENIZER_DIR,
    CheckpointError,
    LoadedModel,
    load,
    run_dir_of,
    tokenizer_file,
)

logger = logging.getLogger(__name__)

TOKENIZER_MODEL = f"{TOKENIZER_DIR}/spm.model"
TOKENIZER_VOCAB = f"{TOKENIZER_DIR}/spm.vocab"
EXPORT_FILES = (EXPORT_CONFIG, EXPORT_WEIGHTS, TOKENIZER_MODEL, TOKENIZER_VOCAB)
"""Everything an export folder holds (``--overwrite`` replaces a folder holding nothing else)."""
_PROVENANCE = ("source", "step", "preset", "tasks", "train")
"""The ``config.json`` fields that say where an export's weights came from."""
COMMAND = "export-model"


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def out_path_problem(out: str | Path, inputs: Sequence[tuple[str, str | Path]]) -> str | None:
    """Why ``--out`` must not be written whatever it holds (one line naming it), or None: the current
    folder or one holding it, a symbolic link, a file, one of ``inputs`` ((option, path) pairs), a folder
    inside one of them or holding one."""
    target = Path(os.path.realpath(out))
    if _is_within(Path(os.path.realpath(os.getcwd())), target):
        return f"--out {out}: is the current folder or holds it; name a new folder"
    if Path(os.path.abspath(out)).is_symlink():
        return f"--out {out}: is a symbolic link (to {target}); name the folder itself"
    if target.exists() and not target.is_dir():
        return f"--out {out}: is a file, not a folder"
    for option, item in inputs:
        real = Path(os.path.realpath(item))
        if _is_within(real, target):
            return f"--out {out}: is or holds the {option} {item}; --out never replaces an input"
        if _is_within(target, real):
            return f"--out {out}: is inside the {option} {item}; name a folder outside the inputs"
    return None


def umask_mode(mode: int = 0o666) -> int:
    """``mode`` as the process umask lets a new file have (what ``open`` gives, e.g. 0o644 under 022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(x for x in status if x.startswith("Umask:"))
        mask = int(line.split()[1], 8)
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0)  # not thread-safe, hence only where /proc cannot tell
        os.umask(mask)
    return mode & ~mask


def foreign_entry(out: Path) -> str | None:
    """Why ``out`` may not be replaced by an export (None when it is missing, empty or a previous export)."""
    if not out.exists():
        return None
    if not out.is_dir():
        return "is not a folder"
    entries = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    if not entries:
        return None
    try:
        read_export_config(out)
    except ValueError:
        return f"is not empty and not a kgtext export (holds {entries[0]!r})"
    folders = {TOKENIZER_DIR}
    foreign = [e for e in entries if e not in EXPORT_FILES and e not in folders and e not in MARKERS]
    if foreign:
        return f"holds {foreign[0]!r}, which kgtext export-model did not write"
    return None


def provenance(model_file: Path) -> dict[str, Any]:
    """Where the weights of ``model_file`` came from: the file, the checkpoint's step, the run's settings.

    For an export, its own provenance is carried over (``source`` stays the original checkpoint).
    """
    if model_file.name == EXPORT_WEIGHTS:
        config = read_export_config(model_file.parent)
        return {key: config[key] for key in _PROVENANCE if key in config}
    out: dict[str, Any] = {"source": str(model_file.resolve())}
    meta = model_file.parent / ckpt.META
    if meta.is_file():
        out["step"] = int(json.loads(meta.read_text(encoding="utf-8"))["step"])
    run_dir = run_dir_of(model_file)
    summary_path = run_dir / "config.json" if run_dir else None
    if summary_path is not None and summary_path.is_file():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        out.update({key: summary[key] for key in ("preset", "tasks", "train") if key in summary})
    return out


def _check_out(out: Path, overwrite: bool) -> None:
    problem = foreign_entry(out)
    if problem is not None:
        raise FileExistsError(f"{out}: {problem}; choose another --out")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out}: already holds a model export; pass --overwrite to replace it")


def export_model(checkpoint: str | Path, out: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write the export folder ``out`` of ``checkpoint``; returns the files written (see the module docstring).

    OutputError (a ValueError) or FileExistsError, one line naming ``out``, before anything is written.
    """
    out = Path(out)
    problem = out_path_problem(out, [("checkpoint", checkpoint)])
    if problem is None:
        _check_out(out, overwrite)
        loaded = load(checkpoint)
        sources = [loaded.model_file, tokenizer_file(loaded.model_file)]
        problem = out_path_problem(out, [("checkpoint", path) for path in sources])
    if problem is not None:
        raise OutputError(problem)
    final = Path(os.path.abspath(out))
    with OutputLock(final, COMMAND):
        for line in recover_output(final):
            logger.warning("%s", line)
        _check_out(out, overwrite)
        _write_export(loaded, final, out)
    logger.debug("exported %s to %s", loaded.model_file, out)  # main() prints what was written
    return [out / name for name in EXPORT_FILES]


def _write_export(loaded: LoadedModel, final: Path, out: Path) -> None:
    """Write the export into a marked build folder and move it onto ``final`` (the caller holds the lock)."""
    # safetensors may report a full disk as another error type than OSError: every error is checked.
    with staged_output(final, COMMAND, shown=out, what="export", catch=Exception) as new:
        (new / TOKENIZER_DIR).mkdir()
        save_export(new, loaded.model, provenance(loaded.model_file))
        (new / EXPORT_WEIGHTS).chmod(umask_mode())  # safetensors creates it 0600
        model_bytes = loaded.tokenizer.model_bytes()
        (new / TOKENIZER_MODEL).write_bytes(model_bytes)
        (new / TOKENIZER_VOCAB).write_text(vocab_text(model_bytes), encoding="utf-8")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = HelpfulParser(
        prog="kgtext export-model",
        description=(
            "Write a checkpoint as a folder that loads without the run folder: config.json (model config and "
            "provenance), model.safetensors (the weights), tokenizer/spm.model and tokenizer/spm.vocab. "
            "Pass that folder to --checkpoint of kgtext generate, evaluate or finetune."
        ),
        epilog="Example: kgtext export-model out/run --out out/export",
    )
    p.add_argument(
        "checkpoint",
        metavar="RUN_DIR",
        help="run folder (its newest complete checkpoint), a checkpoints/step-N folder, a model file or an "
        "export folder",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the export folder to write (new or empty)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace DIR when it holds a previous export (nothing else)"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext export-model``."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        written = export_model(args.checkpoint, args.out, overwrite=args.overwrite)
    except (CheckpointError, FileExistsError, ValueError, OSError) as err:
        print(f"kgtext export-model: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    config = json.loads(written[0].read_text(encoding="utf-8"))
    print(f"exported {config.get('source', args.checkpoint)} (step {config.get('step', '?')}) to {args.out}:")
    for path in written:
        print(f"  {path}  ({path.stat().st_size:,} bytes)")
    print(f"use it with: kgtext generate --checkpoint {args.out} --prompt TEXT")


if __name__ == "__main__":
    main()
