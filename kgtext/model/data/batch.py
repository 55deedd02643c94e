"""What the data side hands the objective: collated NLU task micro-batches and DLM stream segments."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from kgtext.corpus.tasks import masking

IGNORE = masking.IGNORE
"""Label of positions that are not prediction targets (the masking functions' value)."""


class NluBatch(NamedTuple):
    """A collated NLU task micro-batch (this rank's rows)."""

    input_ids: Tensor
    """(B, T) int64."""
    segment_ids: Tensor | None
    """(B, T) int64, or None for tasks without segments."""
    pad_mask: Tensor
    """(B, T) bool, True = real token."""
    labels: Tensor
    """(B, T) int64 token targets (-100 elsewhere) for kmlm/uktp; (B,) class ids for sr/sd."""


class DlmBatch(NamedTuple):
    """This rank's DLM streams for one micro-batch."""

    inputs: Tensor
    """(S, L) int64."""
    targets: Tensor
    """(S, L) int64 next tokens."""
