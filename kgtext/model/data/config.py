"""What each training step reads: :class:`DataConfig` (the ``data`` section of a training configuration)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kgtext.corpus.tasks.task import NLU_TASKS, Task
from kgtext.model.validate import fraction, non_negative, positive


class KmlmMasking(str, enum.Enum):
    """What KMLM masks as one unit."""

    KNOWLEDGE = "knowledge"
    """The corpus's units: whole entities, phrases and words (ERNIE 1.0 knowledge masking)."""
    TOKEN = "token"
    """Every piece alone (BERT-style random token masking): the ablation's control."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DataConfig:
    """What each step reads: the task mixture, batch sizes, sequence lengths and masking rates."""

    batch_size: int = 64
    """Global NLU rows per micro-batch (all ranks, all NLU tasks), split between tasks by the weights."""
    dlm_streams: int = 8
    """Global number of persistent DLM document streams = DLM rows per micro-batch (fixed, not ramped)."""
    kmlm_weight: float = 1.0
    """Share of the NLU batch given to knowledge masked LM (relative weight; 0 disables the task)."""
    uktp_weight: float = 1.0
    """Share of the NLU batch given to universal knowledge-text prediction (relative weight)."""
    sr_weight: float = 1.0
    """Share of the NLU batch given to sentence reordering (relative weight)."""
    sd_weight: float = 1.0
    """Share of the NLU batch given to sentence distance (relative weight)."""
    use_dlm: bool = True
    """Train document language modelling on the NLG module."""
    require_all_tasks: bool = False
    """Fail (instead of warning) when the corpus lacks the train split of an enabled task."""
    bucket_batches: int = 32
    """Length bucketing window: this many batches of rows are sorted by length, then cut into batches."""
    kmlm_masking: KmlmMasking = KmlmMasking.KNOWLEDGE
    """KMLM units: the corpus's knowledge units, or single pieces (``token``, the ablation control)."""
    mask_prob: float = 0.15
    """KMLM unit selection probability (ERNIE 1.0: whole unit with p = 0.15, then 80/10/10 per token)."""
    uktp_relation_prob: float = 0.5
    """UKTP: probability that a row masks its relation (otherwise sentence words are masked)."""
    uktp_word_prob: float = 0.15
    """UKTP: selection probability of sentence words when words are masked."""
    sr_max_segments: int = 3
    """SR: paragraphs are split into 1..m segments (m = 3 gives the model's 9 classes)."""
    seed: int = 1234
    """Seed of the global data order and of the dynamic masking."""

    def __post_init__(self) -> None:
        positive("batch_size", self.batch_size)
        non_negative("dlm_streams", self.dlm_streams)
        for task in NLU_TASKS:
            non_negative(f"{task}_weight", getattr(self, f"{task.value}_weight"))
        positive("bucket_batches", self.bucket_batches)
        if not isinstance(self.kmlm_masking, KmlmMasking):
            raise ValueError(f"kmlm_masking must be knowledge or token, got {self.kmlm_masking!r}")
        fraction("mask_prob", self.mask_prob)
        fraction("uktp_relation_prob", self.uktp_relation_prob)
        fraction("uktp_word_prob", self.uktp_word_prob)
        positive("sr_max_segments", self.sr_max_segments)
        if self.use_dlm and self.dlm_streams == 0:
            raise ValueError("dlm_streams must be positive when use_dlm is true, got 0")

    def weights(self) -> dict[Task, float]:
        """NLU task -> relative weight (zero-weight tasks included)."""
        return {task: float(getattr(self, f"{task.value}_weight")) for task in NLU_TASKS}
