"""Initialisation of a new run beyond the preset's random weights (``TrainConfig.init``).

``unigram_log_probs`` counts the corpus's DLM train tokens (shards in order, at most ``unigram_tokens``) into an
add-one smoothed log unigram distribution; :func:`apply_init` starts the MLM and LM heads' output biases there.
Without it the first steps fit the unigram distribution by building one input-independent vector in every
position, which is where the representation collapse of docs/TRAINING.md began.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pyarrow.compute as pc
import torch
from torch import Tensor

from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks.task import Task
from kgtext.model.train.config import InitConfig

logger = logging.getLogger(__name__)


def unigram_log_probs(reader: CorpusReader, vocab_size: int, max_tokens: int) -> tuple[Tensor, int] | None:
    """Add-one smoothed log unigram distribution (vocab,) of the first ``max_tokens`` DLM train tokens and
    the number of tokens counted; None when the corpus has no DLM train rows."""
    if Task.DLM.value not in reader.datasets() or not reader.shards(Task.DLM.value, "train"):
        return None
    counts = np.zeros(vocab_size, dtype=np.int64)
    seen = 0
    for table in reader.iter_tables(Task.DLM.value, "train"):
        ids = pc.list_flatten(table.column("input_ids")).to_numpy()
        ids = ids[: max_tokens - seen]
        counts += np.bincount(ids, minlength=vocab_size)[:vocab_size]
        seen += len(ids)
        if seen >= max_tokens:
            break
    if seen == 0:
        return None
    smoothed = counts.astype(np.float64) + 1.0
    return torch.from_numpy(np.log(smoothed / smoothed.sum())).float(), seen


def apply_init(model: Any, config: InitConfig, reader: CorpusReader) -> None:
    """Apply ``config`` to a freshly initialised model (an :class:`kgtext.model.ernie.Ernie3Model` or a model with
    ``init_token_bias``); a model without token heads is left alone."""
    if not config.unigram_bias or not hasattr(model, "init_token_bias"):
        return
    found = unigram_log_probs(reader, model.config.vocab_size, config.unigram_tokens)
    if found is None:
        logger.warning("init.unigram_bias: the corpus has no DLM train tokens; output biases start at 0")
        return
    log_probs, tokens = found
    model.init_token_bias(log_probs)
    logger.info("output biases start at the log unigram distribution of %d DLM train tokens", tokens)
