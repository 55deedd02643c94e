"""Assembles a :class:`kgtext.model.train.loop.Trainer`: run directory, corpus checks, model, optimizer, data, resume.

Start-up checks: :meth:`CorpusReader.check` (manifest, schemas, shard byte sizes and row counts; no
re-hashing), the vocabulary size from the manifest's tokenizer, and on resume the corpus identity (the
tokenizer's and every shard's sha256 as recorded in the manifest) must equal the checkpoint's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.manifest import Manifest
from kgtext.corpus.reader import CorpusReader
from kgtext.model.checkpoint import SHARDED, checkpoint_payload, sharded_payload
from kgtext.model.config import ModelConfig
from kgtext.model.data.mixture import PretrainData, available_tasks
from kgtext.model.ernie import Memory
from kgtext.model.files import write_error, write_text_atomic
from kgtext.model.presets import get_preset
from kgtext.model.train import checkpoint as ckpt
from kgtext.model.train.config import Parallel, TrainConfig
from kgtext.model.train.dist import (
    SHARDED_MODEL_PREFIX,
    DistContext,
    barrier,
    full_state,
    init_distributed,
    load_full_state,
    load_sharded,
    save_sharded,
    wrap,
)
from kgtext.model.train.eval import Evaluator
from kgtext.model.train.health import HealthProbe, probe_rows
from kgtext.model.train.init import apply_init
from kgtext.model.train.log import MetricsWriter
from kgtext.model.train.loop import Trainer, TrainerParts
from kgtext.model.train.objective import PretrainModel, PretrainObjective

logger = logging.getLogger(__name__)

ModelFactory = Callable[[ModelConfig], PretrainModel]
RUN_MARKERS = ("config.json", "metrics.jsonl", "checkpoints", "tensorboard", "tokenizer")
RUN_TOKENIZER = "tokenizer"
"""The run folder's copy of the corpus tokenizer (so ``generate``/``evaluate``/``finetune`` need no corpus)."""


def corpus_identity(reader: CorpusReader) -> dict[str, Any]:
    """What a checkpoint must match to resume: tokenizer sha256 and every shard's sha256 (from the manifest)."""
    tok = reader.manifest.tokenizer
    shards = {
        shard.path: shard.sha256
        for dataset, splits in reader.manifest.datasets.items()
        for infos in splits.values()
        for shard in infos
    }
    return {
        "tokenizer": tok.sha256 if tok else "",
        "shards": dict(sorted(shards.items())),
        "manifest": manifest_digest(reader.manifest),
    }


def manifest_digest(manifest: Manifest) -> str:
    """sha256 of the manifest's content without ``build_config.runner``: byte-identical builds on two
    runners have the same digest, any other change to the manifest (inputs, statistics, shards) does not."""
    data = json.loads(manifest.to_json())
    data.get("build_config", {}).pop("runner", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def identity_problem(saved: dict[str, Any], current: dict[str, Any]) -> str | None:
    """Why a corpus differs from the checkpoint's (None when it is the same corpus)."""
    if saved["tokenizer"] != current["tokenizer"]:
        return "the tokenizer differs from the checkpoint's (sha256)"
    changed = sorted(
        p
        for p in set(saved["shards"]) | set(current["shards"])
        if saved["shards"].get(p) != current["shards"].get(p)
    )
    if changed:
        return f"{len(changed)} shard(s) differ from the checkpoint's (sha256), e.g. {changed[0]}"
    if "manifest" in saved and saved["manifest"] != current["manifest"]:
        return "the corpus manifest differs from the checkpoint's (the corpus was rebuilt from other inputs)"
    return None


RUN_FILES = frozenset({*RUN_MARKERS, "loss.png"})
"""What a run folder may hold at its top level (``kgtext plot`` writes ``loss.png``)."""
_RUN_CHILDREN = {
    ckpt.CHECKPOINTS: re.compile(r"\.?(tmp-)?step-\d+$"),  # ckpt.step_dir_name, ckpt.tmp_dir
    "tensorboard": re.compile(r"events\.out\.tfevents\."),
    RUN_TOKENIZER: re.compile(r"\.?[^/]+\.model(\.tmp)?$"),
}


def foreign_run_file(run_dir: Path) -> str | None:
    """The first entry of a run folder that no ``kgtext pretrain`` or ``plot`` writes, or None."""
    for path in sorted(run_dir.iterdir()):
        if path.name not in RUN_FILES:
            return path.name
        pattern = _RUN_CHILDREN.get(path.name)
        if pattern is not None and path.is_dir():
            for child in sorted(path.iterdir()):
                if not pattern.match(child.name):
                    return f"{path.name}/{child.name}"
    return None


def prepare_run_dir(run_dir: Path, *, resume: bool, overwrite: bool) -> None:
    """Create RUN_DIR; refuse to mix runs unless --resume or --overwrite (which only deletes a run dir)."""
    if run_dir.exists() and any(run_dir.iterdir()) and not resume:
        if not overwrite:
            raise FileExistsError(
                f"{run_dir}: exists and is not empty; use --resume to continue or --overwrite"
            )
        if not any((run_dir / m).exists() for m in RUN_MARKERS):
            raise FileExistsError(
                f"{run_dir}: --overwrite refuses to delete a directory that is not a kgtext run"
            )
        foreign = foreign_run_file(run_dir)
        if foreign is not None:
            raise FileExistsError(
                f"{run_dir}: --overwrite refuses to delete {foreign}, which kgtext did not write; move it away first"
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)


def model_config_for(preset: str, config: TrainConfig, reader: CorpusReader) -> ModelConfig:
    """The preset with the corpus vocabulary and ``model_overrides`` applied."""
    tok = reader.manifest.tokenizer
    assert tok is not None
    changes = {
        "vocab_size": tok.vocab_size,
        "pad_id": tok.special_ids.get("[PAD]", 0),
        **config.model_overrides,
    }
    return get_preset(preset, **changes)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; no weight decay on biases, LayerNorm weights and other 1-D parameters; the weight matrices of
    the Transformer stacks in a group of their own whose lr is ``optim.stack_lr_scale`` times the schedule's
    (the ``lr_scale`` entry of the group, applied by the trainer at every step)."""
    optim = config.optim
    stack: list[nn.Parameter] = []
    other: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if param.requires_grad and param.dim() >= 2:
            in_stack = any(part in STACK_MODULES for part in name.split(".")[:-1])
            (stack if in_stack else other).append(param)
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": stack, "weight_decay": optim.weight_decay, "lr_scale": optim.stack_lr_scale},
        {"params": other, "weight_decay": optim.weight_decay, "lr_scale": 1.0},
        {"params": no_decay, "weight_decay": 0.0, "lr_scale": 1.0},
    ]
    return torch.optim.AdamW(groups, lr=optim.lr, betas=(optim.beta1, optim.beta2), eps=optim.eps)


STACK_MODULES = ("universal", "nlu", "nlg")
"""Names of the Transformer-XL stacks in :class:`kgtext.model.ernie.Ernie3Model` (``model.<stack>.layers...`` in
the objective's parameter names)."""


def save_checkpoint(trainer: Trainer, reader_identity: dict[str, Any], preset: str) -> None:
    """Every rank: write its rank file; rank 0: model + trainer state, then the atomic rename."""
    parts = trainer.parts
    sharded = parts.sharded and parts.config.checkpoint.sharded  # FSDP: every rank writes its own shards
    if sharded:
        target = ckpt.tmp_dir(parts.run_dir, trainer.step) / ckpt.SHARDED
        try:
            groups = save_sharded(target, parts.objective, parts.optimizer)
        except OSError as err:  # every rank fails alike (DCP's save is collective): drop the temporary folder
            shutil.rmtree(target.parent, ignore_errors=True)
            raise write_error(err.filename or target, err) from None
        optim_state: dict[str, Any] = {"param_groups": groups}
    else:
        objective_state, optim_state = full_state(parts.objective, parts.optimizer, parts.sharded)
        model_state = {k.removeprefix("model."): v for k, v in objective_state.items()}
    mems = trainer.mems.to_plain() if trainer.mems is not None else None
    rank_payload = {"rng": torch.get_rng_state(), "mems": mems}
    if torch.cuda.is_available():
        rank_payload["cuda_rng"] = torch.cuda.get_rng_state()
    ckpt.save_rank_part(parts.run_dir, trainer.step, parts.ctx.rank, rank_payload)
    barrier()
    if parts.ctx.rank == 0:
        dropout, dropatt = parts.full_dropout
        model_config = parts.model.config.replace(dropout=dropout, dropatt=dropatt)
        payload = (
            sharded_payload(model_config, ckpt.SHARDED, SHARDED_MODEL_PREFIX)
            if sharded
            else checkpoint_payload(model_config, model_state)
        )
        state = {
            "step": trainer.step,
            "optimizer": optim_state,
            "train_config": parts.config.to_dict(),
            "preset": preset,
            "data": parts.data.state_dict(),
            "corpus": reader_identity,
            "tokens_seen": trainer.tokens_seen,
            "elapsed_s": trainer.elapsed_s,
            "world_size": parts.ctx.world_size,
        }
        ckpt.finalize(parts.run_dir, trainer.step, payload, state, parts.config.checkpoint.keep)
    barrier()


RESTORE_ERRORS = (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError)
"""What restoring a checkpoint whose files parse but do not fit this trainer raises (torch's load_state_dict,
the data iterator's state ...): turned into one line naming the checkpoint."""


def restore(trainer: Trainer, path: Path) -> None:
    """Load model, optimizer, data position, counters, RNG state and DLM memory from checkpoint ``path``;
    a checkpoint that does not fit is a one-line ValueError naming it."""
    state = ckpt.load_part(path, ckpt.TRAINER, *ckpt.TRAINER_FIELDS)
    model_payload = ckpt.load_part(path, ckpt.MODEL, "config")
    if SHARDED not in model_payload:  # a full checkpoint: the weights are in the file
        ckpt.check_part(path, ckpt.MODEL, model_payload, "state_dict")
    rank_payload = ckpt.load_part(path, ckpt.rank_file(trainer.parts.ctx.rank), *ckpt.RANK_FIELDS)
    try:
        _restore(trainer, path, state, model_payload, rank_payload)
    except RESTORE_ERRORS as err:
        lines = str(err).strip().splitlines() or [""]
        raise ValueError(
            f"{path}: cannot resume from this checkpoint ({type(err).__name__}: {lines[0][:300]})"
        ) from None


def _restore(
    trainer: Trainer,
    path: Path,
    state: dict[str, Any],
    model_payload: dict[str, Any],
    rank_payload: dict[str, Any],
) -> None:
    parts = trainer.parts
    if SHARDED in model_payload:  # a sharded checkpoint, whatever this run's checkpoint.sharded says
        groups = state["optimizer"]["param_groups"]
        load_sharded(path / model_payload[SHARDED]["path"], parts.objective, parts.optimizer, groups)
    else:
        objective_state = {f"model.{k}": v for k, v in model_payload["state_dict"].items()}
        load_full_state(parts.objective, parts.optimizer, objective_state, state["optimizer"], parts.sharded)
    parts.data.load_state_dict(state["data"])
    trainer.step = int(state["step"])
    trainer.tokens_seen = int(state["tokens_seen"])
    trainer.elapsed_s = float(state["elapsed_s"])
    torch.set_rng_state(rank_payload["rng"])
    if "cuda_rng" in rank_payload and torch.cuda.is_available():
        torch.cuda.set_rng_state(rank_payload["cuda_rng"])
    plain = rank_payload["mems"]
    if isinstance(plain, list):  # checkpoints written before Memory.to_plain: [universal, nlg]
        plain = {"universal": plain[0], "nlg": plain[1]}
    trainer.mems = None if plain is None else Memory.from_plain(plain, parts.ctx.device)
    logger.info("resumed from %s at step %d", path, trainer.step)


def open_corpus(
    corpus_dir: str | Path, resume_from: Path | None
) -> tuple[CorpusReader, dict[str, Any], ModelConfig | None]:
    """Checked reader, corpus identity, and on resume the checkpoint's model config (same corpus required)."""
    reader = CorpusReader(corpus_dir)
    reader.check()
    if reader.manifest.tokenizer is None:
        raise CorpusError(
            str(reader.root / "manifest.json"), "has no tokenizer entry: cannot size the vocabulary"
        )
    identity = corpus_identity(reader)
    if resume_from is None:
        return reader, identity, None
    problem = identity_problem(ckpt.load_part(resume_from, ckpt.TRAINER, "corpus")["corpus"], identity)
    if problem:
        raise CorpusError(str(reader.root), f"cannot resume from {resume_from}: {problem}")
    config = ckpt.load_part(resume_from, ckpt.MODEL, "config")["config"]
    try:
        saved = ModelConfig.from_dict(config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{resume_from / ckpt.MODEL}: bad model config: {err}") from None
    return reader, identity, saved


def copy_tokenizer(reader: CorpusReader, run_dir: Path) -> Path:
    """Copy the corpus's SentencePiece model into ``RUN_DIR/tokenizer/`` (atomically; same name)."""
    source = reader.tokenizer_path()
    target = run_dir / RUN_TOKENIZER / source.name
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise write_error(target, err) from None
    return target


def write_run_summary(
    run_dir: Path, corpus_dir: str | Path, preset: str, tasks: Sequence[str], parts: TrainerParts
) -> None:
    """``RUN_DIR/config.json`` (corpus, preset, tasks, train and model config) and one log line."""
    model_config = parts.model.config.replace(dropout=parts.full_dropout[0], dropatt=parts.full_dropout[1])
    summary = {
        "corpus": str(corpus_dir),
        "preset": preset,
        "tasks": tasks,
        "train": parts.config.to_dict(),
        "model": model_config.to_dict(),
    }
    write_text_atomic(run_dir / "config.json", json.dumps(summary, indent=2) + "\n")
    n_params = sum(p.numel() for p in parts.objective.parameters())
    logger.info(
        "model %s: %d parameters; tasks %s; world size %d on %s",
        preset,
        n_params,
        ",".join(tasks),
        parts.ctx.world_size,
        parts.ctx.device,
    )


def health_probe(
    reader: CorpusReader, model_config: ModelConfig, rows: int, split: str = "valid"
) -> HealthProbe:
    """The representation-health probe: the first ``rows`` valid rows of the first NLU task, cut to ``tgt_len``."""
    assert reader.manifest.tokenizer is not None
    special = reader.manifest.tokenizer.special_ids
    found = probe_rows(reader, model_config.tgt_len, int(special["[SEP]"]), rows, split)
    return HealthProbe(found, int(special.get("[PAD]", 0)))


def build_trainer(
    corpus_dir: str | Path,
    preset: str,
    run_dir: str | Path,
    config: TrainConfig,
    *,
    resume_from: Path | None = None,
    overwrite: bool = False,
    model_factory: ModelFactory | None = None,
    ctx: DistContext | None = None,
) -> Trainer:
    """A ready-to-``fit`` trainer (resumed from ``resume_from`` when given)."""
    ctx = ctx or init_distributed(config.runtime)
    run_dir = Path(run_dir)
    if ctx.rank == 0:
        prepare_run_dir(run_dir, resume=resume_from is not None, overwrite=overwrite)
    barrier()
    reader, identity, saved_model_config = open_corpus(corpus_dir, resume_from)
    if saved_model_config is not None and resume_from is not None:
        problem = ckpt.override_problem(saved_model_config, config.model_overrides)
        if problem is not None:
            raise ValueError(f"cannot resume from {resume_from}: {problem}")
    model_config = saved_model_config or model_config_for(preset, config, reader)
    if config.runtime.threads:
        torch.set_num_threads(config.runtime.threads)
    torch.manual_seed(config.runtime.seed)
    model = (model_factory or _default_factory)(model_config)
    if resume_from is None:
        apply_init(model, config.init, reader)
    objective = PretrainObjective(model).to(ctx.device)
    wrapped = wrap(objective, config.runtime, ctx)
    no_sync = wrapped.no_sync if isinstance(wrapped, DistributedDataParallel) else None
    call = wrapped
    if config.runtime.compile:
        # dynamic=True: progressive learning and length bucketing change shapes every few steps.
        call = torch.compile(wrapped, dynamic=True)  # type: ignore[assignment]
    tasks = available_tasks(reader, config.data, "train")
    evaluator = None
    if config.eval.interval:
        evaluator = Evaluator(
            reader,
            config.data,
            tasks,
            objective,
            ctx,
            batches=config.eval.batches or None,
            seq_len=model_config.tgt_len,
            health=health_probe(reader, model_config, config.eval.health_rows)
            if config.eval.health_rows
            else None,
        )
    metrics = MetricsWriter(run_dir, enabled=ctx.rank == 0, tensorboard=config.log.tensorboard)
    parts = TrainerParts(
        config=config,
        run_dir=run_dir,
        ctx=ctx,
        model=model,
        objective=objective,
        wrapped=call,
        no_sync=no_sync,
        optimizer=make_optimizer(objective, config),
        data=PretrainData(reader, config.data, tasks, rank=ctx.rank, world_size=ctx.world_size),
        metrics=metrics,
        evaluator=evaluator,
        checkpointer=lambda t: save_checkpoint(t, identity, preset),
        max_seq_len=model_config.tgt_len,
        full_dropout=(model_config.dropout, model_config.dropatt),
        sharded=ctx.world_size > 1 and config.runtime.parallel is Parallel.FSDP,
    )
    trainer = Trainer(parts)
    if resume_from is not None:
        restore(trainer, resume_from)
        metrics.truncate_after(trainer.step)
    if ctx.rank == 0:
        write_run_summary(run_dir, corpus_dir, preset, tasks, parts)
        copy_tokenizer(reader, run_dir)
    return trainer


def _default_factory(config: ModelConfig) -> PretrainModel:
    from kgtext.model.ernie import Ernie3Model

    return Ernie3Model(config)
