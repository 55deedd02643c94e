"""``kgtext pretrain``: pre-train the ERNIE 3.0 model on a corpus directory (also under ``torchrun``).

    kgtext pretrain --corpus DIR --preset NAME --out RUN_DIR [--max-steps N] [--resume] [--overwrite]
                    [--set section.key=value ...] [--verify-corpus]

The training configuration is the preset's defaults (:func:`model.train.presets.train_preset`) plus the
``--set`` overrides; on ``--resume`` it is the checkpoint's configuration plus this invocation's overrides.
Corpus problems, bad overrides and diverged runs print one line and exit 1 (no traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch.distributed as dist

from corpus.errors import CorpusError
from corpus.reader import CorpusReader
from model.presets import PRESETS
from model.train import checkpoint as ckpt
from model.train.config import TrainConfig, apply_overrides, valid_keys
from model.train.dist import init_distributed
from model.train.loop import TrainingDivergedError
from model.train.presets import train_preset
from model.train.setup import build_trainer

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kgtext pretrain", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus", required=True, type=Path, help="corpus directory (manifest.json + shards)"
    )
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS), help="model preset")
    parser.add_argument(
        "--out", required=True, type=Path, help="run directory (checkpoints, metrics.jsonl, tensorboard)"
    )
    parser.add_argument(
        "--max-steps", type=int, default=None, help="optimizer steps (default: the preset's optim.max_steps)"
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
    parser.add_argument("--list-keys", action="store_true", help="print every --set key and exit")
    parser.add_argument(
        "--verify-corpus", action="store_true", help="re-hash every shard before training (slow)"
    )
    if argv is not None and "--list-keys" in argv:
        print("\n".join(valid_keys()))
        raise SystemExit(0)
    return parser.parse_args(argv)


def resolve_config(args: argparse.Namespace, resume_from: Path | None) -> TrainConfig:
    """Preset defaults (or the checkpoint's config on resume) + ``--set`` + ``--max-steps``."""
    if resume_from is not None:
        base = TrainConfig.from_dict(ckpt.load_part(resume_from, ckpt.TRAINER)["train_config"])
    else:
        base = train_preset(args.preset)
    overrides = list(args.overrides)
    if args.max_steps is not None:
        overrides.append(f"optim.max_steps={args.max_steps}")
    return apply_overrides(base, overrides)


def _fail(message: str) -> None:
    print(f"kgtext pretrain: {message}", file=sys.stderr)
    raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext pretrain``."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        resume_from = None
        if args.resume:
            probe = resolve_config(args, None)
            world = init_distributed(probe.runtime).world_size
            resume_from = ckpt.find_resumable(args.out, world)
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
    except (CorpusError, ValueError, FileExistsError, TrainingDivergedError) as err:
        _fail(str(err))
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
