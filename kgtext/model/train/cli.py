"""``kgtext pretrain``: pre-train the ERNIE 3.0 model on a corpus directory (also under ``torchrun``).

    kgtext pretrain --corpus DIR --preset NAME --out RUN_DIR [--max-steps N] [--resume] [--overwrite]
                    [--set section.key=value ...] [--verify-corpus]
    kgtext pretrain --list-keys [--preset NAME]

The training configuration is the preset's defaults (:func:`kgtext.model.train.presets.train_preset`) plus the
``--set`` overrides; on ``--resume`` it is the checkpoint's configuration plus this invocation's overrides
(a ``--set model.*`` that differs from the checkpoint's model is refused: a resumed run keeps its model).
``--list-keys`` prints every ``--set`` key with its type, default and the first sentence of its field
docstring. One job writes a run folder at a time (:mod:`kgtext.model.train.runlock`); a second is refused.
Corpus problems, bad overrides, a held run folder, a full disk (naming the file and the free space) and
diverged runs print one line and exit 1 (no traceback); a mistyped option or preset, or a number out of
its range, prints one line with a suggestion and the usage, and exits 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import errno
import logging
import sys
from pathlib import Path
from typing import Any, NamedTuple

import torch.distributed as dist

from kgtext.common.cli_parser import HelpfulParser, field_help
from kgtext.corpus.errors import CorpusError
from kgtext.corpus.reader import CorpusReader
from kgtext.model.config import ModelConfig
from kgtext.model.files import WriteError, write_error
from kgtext.model.presets import PRESETS, get_preset
from kgtext.model.train import checkpoint as ckpt
from kgtext.model.train.config import TrainConfig, apply_overrides, key_type, valid_keys
from kgtext.model.train.dist import init_distributed
from kgtext.model.train.loop import TrainingDivergedError
from kgtext.model.train.presets import train_preset
from kgtext.model.train.runlock import RunLock, RunLockError
from kgtext.model.train.setup import build_trainer

logger = logging.getLogger(__name__)


def _parser() -> HelpfulParser:
    parser = HelpfulParser(prog="kgtext pretrain", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus", required=True, type=Path, help="corpus directory (manifest.json + shards)"
    )
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS), help="model preset")
    parser.add_argument(
        "--out", required=True, type=Path, help="run directory (checkpoints, metrics.jsonl, tensorboard)"
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        minimum=1,
        default=None,
        help="optimizer steps (default: the preset's optim.max_steps)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the newest sound checkpoint in --out"
    )
    parser.add_argument("--overwrite", action="store_true", help="delete an existing run in --out first")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a training setting (repeatable); --list-keys shows them all",
    )
    parser.add_argument(
        "--list-keys",
        action="store_true",
        help="print every --set key with its type, default (of --preset, if given) and help, and exit",
    )
    parser.add_argument(
        "--verify-corpus", action="store_true", help="re-hash every shard before training (slow)"
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _parser()
    if argv is not None and "--list-keys" in argv:
        # --corpus/--out are required for training only: read just --preset here.
        early = HelpfulParser(prog="kgtext pretrain", add_help=False)
        early.add_argument("--preset", choices=sorted(PRESETS), default=None)
        early.add_argument("--list-keys", action="store_true")
        print(format_keys(early.parse_known_args(argv)[0].preset))
        raise SystemExit(0)
    return parser.parse_args(argv)


class KeyInfo(NamedTuple):
    """One row of ``--list-keys``."""

    key: str
    kind: str
    """int, float, bool, str, or an enum's values joined by ``|``."""
    default: str
    help: str
    """The first sentence of the field's docstring."""


CORPUS_SIZED = ("pad_id", "vocab_size")
"""``model.*`` keys taken from the corpus tokenizer, not the preset (:func:`kgtext.model.train.setup.model_config_for`)."""


def describe_keys(preset: str | None) -> list[KeyInfo]:
    """Every ``--set`` key with its type, its default (``preset``'s, else the dataclasses') and help."""
    config = TrainConfig() if preset is None else train_preset(preset)
    model = None if preset is None else get_preset(preset)
    model_defaults = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    helps: dict[type, dict[str, str]] = {}
    rows = []
    for key in valid_keys():
        section, name = key.split(".", 1)
        if section == "model":
            owner: type = ModelConfig
            value = model_defaults[name] if model is None else getattr(model, name)
            value = config.model_overrides.get(name, value)
        else:
            owner, value = type(getattr(config, section)), getattr(getattr(config, section), name)
        if owner not in helps:
            helps[owner] = field_help(owner)
        if section == "model" and name in CORPUS_SIZED:
            default = "from corpus"
        else:
            default = "-" if value is dataclasses.MISSING else _value_text(value)
        rows.append(KeyInfo(key, _type_text(key_type(key)), default, helps[owner].get(name, "")))
    return rows


def _type_text(kind: Any) -> str:
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return "|".join(str(member.value) for member in kind)
    return kind.__name__ if isinstance(kind, type) else str(kind)


def _value_text(value: Any) -> str:
    """A default as ``--set`` spells it: enum values, lowercase booleans."""
    if isinstance(value, enum.Enum):
        value = value.value
    return str(value).lower() if isinstance(value, bool) or value is None else str(value)


def format_keys(preset: str | None) -> str:
    """The ``--list-keys`` table."""
    rows = [KeyInfo("key", "type", "default", "help"), *describe_keys(preset)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    source = f"preset {preset}" if preset else "the dataclass defaults; add --preset NAME for a preset's"
    lines = [f"--set SECTION.KEY=VALUE keys (defaults: {source})"]
    lines += [
        f"{row.key:<{widths[0]}}  {row.kind:<{widths[1]}}  {row.default:<{widths[2]}}  {row.help}".rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def resolve_config(args: argparse.Namespace, resume_from: Path | None) -> TrainConfig:
    """Preset defaults (or the checkpoint's config on resume) + ``--set`` + ``--max-steps``."""
    if resume_from is not None:
        saved = ckpt.load_part(resume_from, ckpt.TRAINER, "train_config")["train_config"]
        try:
            base = TrainConfig.from_dict(saved)
        except (TypeError, ValueError, AttributeError, KeyError) as err:
            raise ValueError(f"{resume_from / ckpt.TRAINER}: bad train_config: {err}") from None
    else:
        base = train_preset(args.preset)
    overrides = list(args.overrides)
    if args.max_steps is not None:
        overrides.append(f"optim.max_steps={args.max_steps}")
    return apply_overrides(base, overrides)


def _fail(message: str) -> None:
    print(f"kgtext pretrain: {message}", file=sys.stderr)
    raise SystemExit(1)


def _os_error_text(err: OSError, out: Path) -> str:
    """One line for an OSError escaping the run (a full disk while appending metrics, ...)."""
    if isinstance(err, WriteError):
        return str(err)
    path = err.filename if err.filename is not None else out
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return str(write_error(path, err))
    return f"{path}: {err.strerror or err}"


def _train(args: argparse.Namespace, world_size: int) -> None:
    """Resume or start, then fit (the caller holds the run folder's lock)."""
    resume_from = None
    if args.resume:
        resume_from = ckpt.find_resumable(args.out, world_size)
        if resume_from is None:
            _fail(f"{args.out}: --resume found no sound checkpoint")
    config = resolve_config(args, resume_from)
    if args.verify_corpus:
        problems = CorpusReader(args.corpus).verify()
        if problems:
            _fail("corpus verification failed:\n  " + "\n  ".join(map(str, problems)))
    trainer = build_trainer(
        args.corpus, args.preset, args.out, config, resume_from=resume_from, overwrite=args.overwrite
    )
    try:
        trainer.fit()
    finally:
        trainer.parts.metrics.close()


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext pretrain``: one job per run folder (:class:`kgtext.model.train.runlock.RunLock`)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        ctx = init_distributed(resolve_config(args, None).runtime)
        with RunLock(args.out, ctx):
            _train(args, ctx.world_size)
    except RunLockError as err:
        if err.reported_by_rank_0:
            raise SystemExit(1) from None
        _fail(str(err))
    except (CorpusError, ValueError, FileExistsError, TrainingDivergedError) as err:
        _fail(str(err))
    except OSError as err:  # WriteError (checkpoint, config.json, tokenizer) or a failed metrics append
        _fail(_os_error_text(err, args.out))
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
