"""``--checkpoint PATH`` for the commands that use a model: a run folder, a checkpoint folder or a model folder.

- a **run folder** (``kgtext pretrain --out``): its newest complete checkpoint (``checkpoints/step-N``);
- a **checkpoint folder** (``RUN/checkpoints/step-N``) or a **model folder** (any folder with ``model.pt``
  written by :func:`model.checkpoint.save_model`, e.g. an export): that ``model.pt``.

The tokenizer is the run folder's copy (``RUN/tokenizer/*.model``, written by pre-training so a run is
self-contained), else a ``tokenizer/*.model`` beside ``model.pt``, else the corpus the run's ``config.json``
names. Every problem is a :class:`CheckpointError` whose message names the path.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import NamedTuple

import torch

from corpus.errors import CorpusError
from corpus.reader import CorpusReader
from corpus.tasks.tokenizer import Tokenizer
from model.checkpoint import load_model
from model.ernie import Ernie3Model
from model.train import checkpoint as ckpt

TOKENIZER_DIR = "tokenizer"


class CheckpointError(ValueError):
    """A ``--checkpoint`` that cannot be used; the message names the path and what is wrong."""


class LoadedModel(NamedTuple):
    """A model in eval mode with the tokenizer its token ids refer to."""

    model: Ernie3Model
    tokenizer: Tokenizer
    model_file: Path
    """The ``model.pt`` it was read from."""


def model_file(path: str | Path) -> Path:
    """The ``model.pt`` a ``--checkpoint`` argument stands for (see the module docstring)."""
    root = Path(path)
    if not root.exists():
        raise CheckpointError(f"{root}: no such file or folder")
    if root.is_file():
        return root
    if (root / ckpt.MODEL).is_file():
        return root / ckpt.MODEL
    if (root / ckpt.CHECKPOINTS).is_dir():
        found = ckpt.find_resumable(root, world_size=_world_size(root))
        if found is None:
            raise CheckpointError(f"{root}: the run folder has no complete checkpoint yet")
        return found / ckpt.MODEL
    raise CheckpointError(f"{root}: neither a run folder (checkpoints/) nor a folder with {ckpt.MODEL}")


def _world_size(run_dir: Path) -> int:
    """How many rank files the run's checkpoints have (its newest checkpoint's ``meta.json``)."""
    for path in reversed(ckpt.list_checkpoints(run_dir)):
        try:
            files = json.loads((path / ckpt.META).read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        return max(1, sum(1 for name in files if name.startswith("rank-")))
    return 1


def _run_dir_of(model_pt: Path) -> Path | None:
    """``RUN`` for ``RUN/checkpoints/step-N/model.pt``, else None."""
    parent = model_pt.parent
    if parent.parent.name == ckpt.CHECKPOINTS:
        return parent.parent.parent
    return None


def tokenizer_file(model_pt: Path) -> Path:
    """The SentencePiece model of a checkpoint (see the module docstring)."""
    run_dir = _run_dir_of(model_pt)
    for folder in ([run_dir / TOKENIZER_DIR] if run_dir else []) + [model_pt.parent / TOKENIZER_DIR]:
        candidates = sorted(folder.glob("*.model")) if folder.is_dir() else []
        if candidates:
            return candidates[0]
    if run_dir is not None and (run_dir / "config.json").is_file():
        corpus = json.loads((run_dir / "config.json").read_text(encoding="utf-8")).get("corpus")
        if corpus:
            try:
                return CorpusReader(corpus).tokenizer_path()
            except CorpusError as err:
                raise CheckpointError(
                    f"{model_pt}: the run's corpus cannot give its tokenizer: {err}"
                ) from None
    raise CheckpointError(
        f"{model_pt}: no tokenizer found (looked for {TOKENIZER_DIR}/*.model in the run folder and beside the model)"
    )


def load(path: str | Path, map_location: str | torch.device = "cpu") -> LoadedModel:
    """The model (eval mode) and tokenizer of a ``--checkpoint`` argument."""
    model_pt = model_file(path)
    try:
        model = load_model(model_pt, map_location)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as err:
        raise CheckpointError(f"{model_pt}: cannot read the model ({type(err).__name__}: {err})") from None
    tok = Tokenizer.load(tokenizer_file(model_pt))
    if tok.vocab_size != model.config.vocab_size:
        raise CheckpointError(
            f"{model_pt}: the tokenizer has {tok.vocab_size} pieces, the model {model.config.vocab_size}"
        )
    return LoadedModel(model.eval(), tok, model_pt)
