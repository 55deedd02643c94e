"""``--checkpoint PATH`` for the commands that use a model: a run, checkpoint, model or export folder.

- a **run folder** (``kgtext pretrain --out``): its newest complete checkpoint (``checkpoints/step-N``);
- a **checkpoint folder** (``RUN/checkpoints/step-N``, full or sharded) or a **model folder** (any folder
  with ``model.pt`` written by :func:`kgtext.model.checkpoint.save_model`): that ``model.pt``;
- an **export folder** (``kgtext export-model``: ``config.json`` + ``model.safetensors`` + ``tokenizer/``),
  or its ``config.json`` or ``model.safetensors``: that ``model.safetensors``.

The tokenizer is the run folder's copy (``RUN/tokenizer/*.model``, written by pre-training so a run is
self-contained), else a ``tokenizer/*.model`` beside the model file, else the corpus the run's
``config.json`` names. Every problem is a :class:`CheckpointError` whose message names the path.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import NamedTuple

import torch

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.model.checkpoint import EXPORT_CONFIG, EXPORT_WEIGHTS, load_model
from kgtext.model.ernie import Ernie3Model
from kgtext.model.train import checkpoint as ckpt

TOKENIZER_DIR = "tokenizer"


class CheckpointError(ValueError):
    """A ``--checkpoint`` that cannot be used; the message names the path and what is wrong."""


class LoadedModel(NamedTuple):
    """A model in eval mode with the tokenizer its token ids refer to."""

    model: Ernie3Model
    tokenizer: Tokenizer
    model_file: Path
    """The ``model.pt`` (or an export's ``model.safetensors``) it was read from."""


def model_file(path: str | Path) -> Path:
    """The model file a ``--checkpoint`` argument stands for (see the module docstring)."""
    root = Path(path)
    if not root.exists():
        raise CheckpointError(f"{root}: no such file or folder")
    if root.is_file():
        return root.with_name(EXPORT_WEIGHTS) if root.name == EXPORT_CONFIG else root
    if (root / EXPORT_WEIGHTS).is_file():
        return root / EXPORT_WEIGHTS
    if (root / ckpt.MODEL).is_file():
        return root / ckpt.MODEL
    if (root / ckpt.CHECKPOINTS).is_dir():
        found = ckpt.find_resumable(root, world_size=_world_size(root))
        if found is None:
            raise CheckpointError(f"{root}: the run folder has no complete checkpoint yet")
        return found / ckpt.MODEL
    raise CheckpointError(
        f"{root}: neither a run folder (checkpoints/) nor a folder with {ckpt.MODEL} or {EXPORT_WEIGHTS}"
    )


def _world_size(run_dir: Path) -> int:
    """How many rank files the run's checkpoints have (its newest checkpoint's ``meta.json``)."""
    for path in reversed(ckpt.list_checkpoints(run_dir)):
        try:
            files = json.loads((path / ckpt.META).read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        return max(1, sum(1 for name in files if name.startswith("rank-")))
    return 1


def run_dir_of(model_pt: Path) -> Path | None:
    """``RUN`` for ``RUN/checkpoints/step-N/model.pt``, else None."""
    parent = model_pt.parent
    if parent.parent.name == ckpt.CHECKPOINTS:
        return parent.parent.parent
    return None


def tokenizer_file(model_pt: Path) -> Path:
    """The SentencePiece model of a checkpoint or export (see the module docstring)."""
    run_dir = run_dir_of(model_pt)
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
    except ValueError as err:  # load_model's errors are one line naming the file
        raise CheckpointError(str(err)) from None
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise CheckpointError(f"{model_pt}: cannot read the model ({type(err).__name__}: {err})") from None
    tok = Tokenizer.load(tokenizer_file(model_pt))
    if tok.vocab_size != model.config.vocab_size:
        raise CheckpointError(
            f"{model_pt}: the tokenizer has {tok.vocab_size} pieces, the model {model.config.vocab_size}"
        )
    return LoadedModel(model.eval(), tok, model_pt)
