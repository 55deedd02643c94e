"""Representation health: does the model keep its sentences apart, or collapse them onto a few directions?

A model that fits the unigram distribution first can do so with hidden states that barely depend on the
input: every sentence then maps to nearly the same vector, and fine-tuning starts from less than random
weights gave (docs/TRAINING.md, "Representation health"). :class:`HealthProbe` measures it on a fixed probe
set, in eval mode, at every evaluation:

- ``health/nlu_pr``: participation ratio ``(sum l)^2 / sum l^2`` of the eigenvalues ``l`` of the covariance of
  the mean-pooled non-pad final NLU states, one vector per probe row (1 = every row on one line; at most the
  width; the tiny model starts at about 14 on the sample corpus);
- ``health/cls_pr``: the same for the final NLU state at [CLS] (position 0);
- ``health/embed_pr``: the same for the mean-pooled token embeddings (a collapse of the input table);
- ``health/embed_norm`` and ``health/resid_norm/<stack>.<layer>``: mean L2 norm per real token of the
  embeddings and of the residual stream after each layer (a stream much larger than the embedding it carries
  means the layers' common output drowns the token).

The probe rows are the first ``rows`` rows of the valid split of the first NLU task the corpus has (kmlm,
uktp, sr, sd), unmasked, cut to the sequence length: the same rows at every evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks.task import Task
from kgtext.model.data.source import nlu_rows

PROBE_TASKS = (Task.KMLM, Task.UKTP, Task.SR, Task.SD)
"""Where the probe rows come from: the first of these with valid rows."""
COLLAPSED_PR = 8.0
"""Participation ratio below which the pooled NLU or [CLS] states count as collapsed (issue 26's line, checked
by tests/model/train/test_recipe.py; random init is at about 14-30)."""


def collapse_warning(figures: dict[str, Any], step: int) -> str | None:
    """One line when ``figures`` (``health/...`` keys, with or without an ``eval/`` prefix) show a collapse."""
    found = {
        k.rsplit("/", 1)[-1]: float(v)
        for k, v in figures.items()
        if k.endswith(("health/nlu_pr", "health/cls_pr"))
    }
    if not found or min(found.values()) >= COLLAPSED_PR:
        return None
    shown = " and ".join(f"{k} {v:.1f}" for k, v in sorted(found.items()))
    return (
        f"representation collapsing at step {step}: participation ratio {shown}, below {COLLAPSED_PR:g}; "
        "a run this long needs a lower optim.stack_lr_scale (docs/TRAINING.md, 'Longer runs')"
    )


def participation_ratio(x: Tensor) -> float:
    """``(sum l)^2 / sum l^2`` over the eigenvalues of the covariance of the rows of ``x`` (N, d); 0 for N < 2
    or rows that are equal up to rounding."""
    if x.size(0) < 2:
        return 0.0
    centred = x.double() - x.double().mean(0, keepdim=True)
    eig = torch.linalg.eigvalsh(centred.T @ centred / x.size(0)).clamp(min=0)
    total = float(eig.sum())
    scale = float(x.double().pow(2).sum(1).mean())
    if total <= 1e-9 * scale or total == 0.0:  # identical rows up to rounding: no direction at all
        return 0.0
    return total * total / float((eig * eig).sum())


def probe_rows(
    reader: CorpusReader, seq_len: int, sep_id: int, rows: int, split: str = "valid"
) -> list[np.ndarray]:
    """The first ``rows`` rows (input ids, cut to ``seq_len`` ending with [SEP]) of the first probe task."""
    for task in PROBE_TASKS:
        if task.value not in reader.datasets() or not reader.shards(task.value, split):
            continue
        found: list[np.ndarray] = []
        for table in reader.iter_tables(task.value, split):
            for row in nlu_rows(table):
                ids = row.input_ids
                found.append(ids if len(ids) <= seq_len else np.append(ids[: seq_len - 1], sep_id))
                if len(found) == rows:
                    return found
        if found:
            return found
    return []


class HealthProbe:
    """``probe(model) -> {"health/...": value}`` over fixed rows (see the module docstring)."""

    def __init__(self, rows: Sequence[np.ndarray], pad_id: int) -> None:
        width = max((len(r) for r in rows), default=0)
        ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
        self.input_ids = torch.from_numpy(ids)
        self.pad_mask = self.input_ids != pad_id

    def __call__(self, model: Any) -> dict[str, Any]:
        """``model``: an :class:`kgtext.model.ernie.Ernie3Model` (``forward_nlu``, ``embed``, ``universal``, ``nlu``)."""
        if self.input_ids.size(0) < 2:
            return {}
        device = next(model.parameters()).device
        ids, mask = self.input_ids.to(device), self.pad_mask.to(device)
        real = mask[..., None].float()
        norms: dict[str, float] = {}

        def mean_norm(h: Tensor) -> float:
            return float((h.float().norm(dim=-1) * mask).sum() / mask.sum())

        hooks = []
        for stack in ("universal", "nlu"):  # a model without Transformer-XL stacks reports no layer norms
            for i, layer in enumerate(getattr(getattr(model, stack, None), "layers", ())):
                name = f"health/resid_norm/{stack}.{i}"
                hooks.append(
                    layer.register_forward_hook(
                        lambda _m, _i, out, name=name: norms.__setitem__(name, mean_norm(out))
                    )
                )
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                hidden = model.forward_nlu(ids, None, mask).float()
                table = getattr(model.embed, "word", model.embed)  # Ernie3Model: Embeddings.word
                embed = table(ids).float()
        finally:
            for hook in hooks:
                hook.remove()
            model.train(was_training)
        pooled = (hidden * real).sum(1) / real.sum(1)
        pooled_embed = (embed * real).sum(1) / real.sum(1)
        return {
            "health/nlu_pr": participation_ratio(pooled.cpu()),
            "health/cls_pr": participation_ratio(hidden[:, 0].cpu()),
            "health/embed_pr": participation_ratio(pooled_embed.cpu()),
            "health/embed_norm": mean_norm(embed),
            **norms,
        }
