"""The task mixture: every micro-batch holds rows of each enabled NLU task plus one DLM segment per stream.

The global NLU batch (``data.batch_size``, ramped by progressive learning) is split between tasks by their
weights (each task at least one row per rank); DLM always has ``data.dlm_streams`` rows. Every process
builds the same *global* micro-batch and keeps its slice (rows ``rank::world_size`` of each task, streams
``rank::world_size``), so a 2-process run sees exactly the rows of a 1-process run. A task whose split is
missing from the corpus is skipped with a warning, or is an error when ``data.require_all_tasks`` is set.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks.task import NLU_TASKS, Task
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.model.data.batch import DlmBatch, NluBatch
from kgtext.model.data.collate import Collator
from kgtext.model.data.config import DataConfig
from kgtext.model.data.dlm import DlmStreams
from kgtext.model.data.source import FILTERED_TASKS, BucketedBatches, TaskSource

logger = logging.getLogger(__name__)


class MicroBatch(NamedTuple):
    """This rank's part of one global micro-batch."""

    nlu: dict[Task, NluBatch]
    dlm: DlmBatch | None
    tokens: int
    """Real (non-padding) input tokens of this rank's part."""

    def to(self, device: torch.device) -> tuple[dict[Task, NluBatch], DlmBatch | None]:
        """The tensors on ``device``: (NLU batches by task, DLM batch or None)."""
        nlu = {
            task: NluBatch(
                b.input_ids.to(device, non_blocking=True),
                None if b.segment_ids is None else b.segment_ids.to(device, non_blocking=True),
                b.pad_mask.to(device, non_blocking=True),
                b.labels.to(device, non_blocking=True),
            )
            for task, b in self.nlu.items()
        }
        dlm = None
        if self.dlm is not None:
            dlm = DlmBatch(
                self.dlm.inputs.to(device, non_blocking=True), self.dlm.targets.to(device, non_blocking=True)
            )
        return nlu, dlm


def available_tasks(reader: CorpusReader, config: DataConfig, split: str) -> list[Task]:
    """Enabled tasks that have rows in ``split``; missing ones warn, or raise when required."""
    wanted = [t for t, w in config.weights().items() if w > 0] + ([Task.DLM] if config.use_dlm else [])
    found = []
    for task in wanted:
        if sum(s.rows for s in reader.shards(task, split)) > 0:
            found.append(task)
            continue
        message = f"corpus has no {task}/{split} rows"
        if config.require_all_tasks:
            raise CorpusError(str(reader.root), f"{message} (data.require_all_tasks is set)")
        logger.warning("%s: training without %s", message, task)
    if not found:
        raise CorpusError(str(reader.root), f"no enabled task has {split} rows")
    return found


def split_batch(batch_size: int, weights: dict[Task, float], world_size: int) -> dict[Task, int]:
    """Global rows per NLU task: proportional to the weights, a multiple of (and at least) ``world_size``."""
    total = sum(weights.values())
    out = {}
    for task, weight in weights.items():
        rows = int(round(batch_size * weight / total))
        out[task] = max(world_size, rows - rows % world_size)
    return out


class PretrainData:
    """Deterministic global micro-batches of all tasks, sliced for one rank; checkpointable position."""

    def __init__(
        self,
        reader: CorpusReader,
        config: DataConfig,
        tasks: Sequence[str],
        *,
        split: str = "train",
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        tok = reader.manifest.tokenizer
        if tok is None:
            raise CorpusError(str(reader.root), "manifest has no tokenizer entry")
        self.config = config
        self.rank, self.world_size = rank, world_size
        wanted = [Task(t) for t in tasks]
        self.weights = {t: config.weights()[t] for t in wanted if t in NLU_TASKS}
        self.batches = {
            t: BucketedBatches(
                TaskSource(reader, t, split, config.seed, shuffle=shuffle),
                config.bucket_batches if shuffle else 1,
            )
            for t in self.weights
        }
        self.dlm = DlmStreams(reader, split, config.dlm_streams, config.seed) if Task.DLM in wanted else None
        if self.dlm is not None and config.dlm_streams % world_size:
            raise ValueError(f"data.dlm_streams ({config.dlm_streams}) must be a multiple of the world size")
        # Random replacement tokens come from the ordinary pieces (no specials, no byte pieces).
        first_normal = tok.first_normal_id
        if first_normal is None:  # a manifest from before first_normal_id was recorded
            first_normal = Tokenizer.load(reader.tokenizer_path()).first_normal_id
        self.collator = Collator(config, tok.special_ids, (first_normal, tok.vocab_size))

    def dropped_rows(self) -> dict[str, int]:
        """Rows skipped so far because their task cannot train on them (SR rows with one segment), per
        task that skips any: ``{"sr": n}`` (since this object was built; counted on the global order)."""
        return {t.value: b.source.dropped for t, b in self.batches.items() if t in FILTERED_TASKS}

    @property
    def tasks(self) -> list[Task]:
        return list(self.weights) + ([Task.DLM] if self.dlm is not None else [])

    def next(self, batch_size: int, seq_len: int) -> MicroBatch:
        """The next micro-batch at the current global NLU batch size and sequence length."""
        nlu: dict[Task, NluBatch] = {}
        tokens = 0
        for task, rows in split_batch(batch_size, self.weights, self.world_size).items():
            refs = self.batches[task].next_batch(rows)[self.rank :: self.world_size]
            raw = self.batches[task].source.cache.rows(refs, task)
            nlu[task] = self.collator.collate(task, raw, refs, seq_len)
            tokens += int(nlu[task].pad_mask.sum())
        dlm = None
        if self.dlm is not None:
            segments = self.dlm.next_segments(seq_len)
            part = slice(self.rank, None, self.world_size)
            dlm = DlmBatch(torch.from_numpy(segments.inputs[part]), torch.from_numpy(segments.targets[part]))
            tokens += dlm.inputs.numel()
        return MicroBatch(nlu, dlm, tokens)

    def state_dict(self) -> dict[str, Any]:
        """The data position: plain ints only."""
        return {
            "tasks": {t.value: b.state_dict() for t, b in self.batches.items()},
            "dlm": self.dlm.state_dict() if self.dlm is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        missing = set(self.batches) - set(state["tasks"])
        if missing:
            raise ValueError(f"checkpoint data position lacks tasks {sorted(missing)}")
        for task, batches in self.batches.items():
            batches.load_state_dict(state["tasks"][task.value])
        if self.dlm is not None:
            if state["dlm"] is None:
                raise ValueError("checkpoint data position has no DLM streams")
            self.dlm.load_state_dict(state["dlm"])
