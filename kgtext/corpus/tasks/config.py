"""Configs of the five task builders, the :class:`TasksConfig` grouping them, and the per-document RNG.

Every random choice a builder makes comes from :func:`task_rng` (seed, document id, task name), so a row
depends only on its document, the tokenizer and this config -- never on worker count or input order.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math

import numpy as np

UKTP_TRIPLE_SLOTS = 1024
"""UKTP ``position`` = ``sentence_index * UKTP_TRIPLE_SLOTS + triple index``; more triples are skipped."""


class PhraseFallback(str, enum.Enum):
    """Where KMLM phrase units come from when a sentence carries no ``phrases`` (e.g. no spaCy parser)."""

    NONE = "none"
    """No phrase units: entities and words only."""
    STOPWORD_RUNS = "stopword_runs"
    """Runs of 2..``max_phrase_words`` words between stopwords and punctuation (RAKE candidates)."""


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class KmlmConfig:
    """Knowledge-masked LM rows: one per sentence, with entity / phrase / word units."""

    max_tokens: int = 512
    """Row length limit in tokens, [CLS] and [SEP] included; longer sentences are cut at a unit end."""
    phrase_fallback: PhraseFallback = PhraseFallback.STOPWORD_RUNS
    """Phrase rule for sentences whose ``phrases`` are empty."""
    max_phrase_words: int = 4
    """Longest fallback phrase in words (longer stopword-free runs are left as words)."""

    def __post_init__(self) -> None:
        if not isinstance(self.phrase_fallback, PhraseFallback):
            if self.phrase_fallback not in {p.value for p in PhraseFallback}:
                raise ValueError(
                    f"phrase_fallback must be none or stopword_runs, got {self.phrase_fallback!r}"
                )
            object.__setattr__(self, "phrase_fallback", PhraseFallback(self.phrase_fallback))
        if self.max_tokens < 3:
            raise ValueError(f"max_tokens must be >= 3, got {self.max_tokens}")
        if self.max_phrase_words < 2:
            raise ValueError(f"max_phrase_words must be >= 2, got {self.max_phrase_words}")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class UktpConfig:
    """Universal knowledge-text prediction rows: one per aligned triple of a sentence."""

    max_tokens: int = 512
    """Row length limit, specials included; a longer triple + sentence is skipped (``too_long``)."""
    leading_cls: bool = True
    """Start rows with [CLS] (the issue's layout); False gives the paper's Fig. 3 layout without it."""

    def __post_init__(self) -> None:
        if self.max_tokens < 4:
            raise ValueError(f"max_tokens must be >= 4, got {self.max_tokens}")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class SrConfig:
    """Sentence-reordering rows: one per paragraph, cut at sentence boundaries into 1..m segments."""

    max_segments: int = 3
    """m: a paragraph is split into n = 1..m segments (k = sum of n! classes; 9 for m = 3)."""
    min_sentences: int = 2
    """Paragraphs with fewer sentences are skipped (``too_few_sentences``): they can only be class 0."""
    max_tokens: int = 512
    """Row length limit, specials included; longer paragraphs drop their trailing sentences."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_segments <= 8:
            raise ValueError(f"max_segments must be in 1..8, got {self.max_segments}")
        _positive("min_sentences", self.min_sentences)
        if self.max_tokens < 3:
            raise ValueError(f"max_tokens must be >= 3, got {self.max_tokens}")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class SdConfig:
    """Sentence-distance rows: one pair per sentence of a document (the sentence comes first)."""

    class_weights: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)
    """Probability of drawing label 0 (adjacent), 1 (same document, not adjacent), 2 (other document)."""
    min_distance: int = 2
    """Smallest index distance of a label-1 pair (2 = any non-adjacent sentence)."""
    max_tokens: int = 512
    """Row length limit, specials included; a longer pair is skipped (``too_long``)."""

    def __post_init__(self) -> None:
        w = self.class_weights
        if len(w) != 3 or any(x < 0 for x in w) or not math.isclose(sum(w), 1.0, abs_tol=1e-6):
            raise ValueError(f"class_weights must be 3 non-negative numbers summing to 1, got {w}")
        if self.min_distance < 2:
            raise ValueError(f"min_distance must be >= 2, got {self.min_distance}")
        if self.max_tokens < 5:
            raise ValueError(f"max_tokens must be >= 5, got {self.max_tokens}")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class DlmConfig:
    """Document-LM rows: each document's tokens as one ordered run, in chunks of at most ``chunk_tokens``."""

    chunk_tokens: int = 8192
    """Largest row; a document is cut at sentence ends (inside a longer sentence, at a word start)."""
    end_of_document: bool = True
    """Append [SEP] after the document's last token (in its last chunk)."""

    def __post_init__(self) -> None:
        if self.chunk_tokens < 16:
            raise ValueError(f"chunk_tokens must be >= 16, got {self.chunk_tokens}")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class TasksConfig:
    """All five builders' configs plus the seed every builder draws its randomness from."""

    seed: int = 0
    """Seed of :func:`task_rng` (non-negative)."""
    kmlm: KmlmConfig = dataclasses.field(default_factory=KmlmConfig)
    """Knowledge-masked LM."""
    uktp: UktpConfig = dataclasses.field(default_factory=UktpConfig)
    """Universal knowledge-text prediction."""
    sr: SrConfig = dataclasses.field(default_factory=SrConfig)
    """Sentence reordering."""
    sd: SdConfig = dataclasses.field(default_factory=SdConfig)
    """Sentence distance."""
    dlm: DlmConfig = dataclasses.field(default_factory=DlmConfig)
    """Document LM."""

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")


def task_rng(seed: int, doc_id: str, task: str) -> np.random.Generator:
    """A generator seeded by (seed, SHA-256 of task and document id): stable across runs and processes."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    digest = hashlib.sha256(f"{task}\x00{doc_id}".encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    return np.random.default_rng([seed, *words])
