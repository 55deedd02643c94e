"""Dynamic masking and permutation of task rows (numpy only), for the trainer's collator and ``inspect``.

Every function draws from ``numpy.random.default_rng([seed, epoch, row_index])`` and nothing else, so a
resumed or multi-process run reproduces the same masks, and each epoch gets fresh ones. Labels use -100
for positions that are not prediction targets (the ``ignore_index`` of a cross-entropy loss).
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from kgtext.corpus.records import Span
from kgtext.corpus.tasks.rows import Unit

IGNORE = -100
"""Label of a position that is not a prediction target."""


class Masked(NamedTuple):
    """Model input after masking and the labels (original id at targets, :data:`IGNORE` elsewhere)."""

    input_ids: np.ndarray
    labels: np.ndarray


class Permuted(NamedTuple):
    """A sentence-reordering input after shuffling its segments, and its class."""

    input_ids: np.ndarray
    label: int
    """:func:`sr_label` of ``permutation``."""
    permutation: tuple[int, ...]
    """``permutation[k]``: original index of the segment shown at position k."""


class UktpMaskMode(str, enum.Enum):
    """What UKTP masking hides in one row."""

    EITHER = "either"
    """The relation with probability ``relation_prob``, else words of the sentence (paper §3.2.3 text)."""
    BOTH = "both"
    """The relation and words of the sentence (paper Fig. 3)."""


def row_rng(seed: int, epoch: int, row_index: int) -> np.random.Generator:
    """The generator of one row in one epoch."""
    return np.random.default_rng([seed, epoch, row_index])


UnitSpans = np.ndarray | Sequence[Span] | Sequence[Unit]
"""Token spans of a row's units: a ``(U, 2)`` array of ``[start, end)`` (what the trainer reads from the
shards), or :class:`kgtext.corpus.records.Span` / :class:`kgtext.corpus.tasks.rows.Unit` records."""


def unit_bounds(units: UnitSpans) -> np.ndarray:
    """``(U, 2)`` int64 array of ``[start, end)``."""
    if isinstance(units, np.ndarray):
        return units[:, :2].astype(np.int64).reshape(-1, 2)
    return np.asarray([(u[0], u[1]) for u in units], dtype=np.int64).reshape(-1, 2)


def _corrupt(
    ids: np.ndarray,
    target: np.ndarray,
    rng: np.random.Generator,
    mask_id: int,
    random_range: tuple[int, int],
    mask_frac: float,
    random_frac: float,
) -> Masked:
    """BERT 80/10/10 on the ``target`` positions, each token independently."""
    labels = np.where(target, ids, IGNORE)
    out = ids.copy()
    where = np.flatnonzero(target)
    draw = rng.random(where.size)
    out[where[draw < mask_frac]] = mask_id
    rand = where[(draw >= mask_frac) & (draw < mask_frac + random_frac)]
    out[rand] = rng.integers(random_range[0], random_range[1], size=rand.size)
    return Masked(out, labels)


def _select_units(
    bounds: np.ndarray, n: int, rng: np.random.Generator, unit_prob: float, ensure_one: bool
) -> np.ndarray:
    """Boolean ``(n,)`` target mask of the units selected with probability ``unit_prob`` each."""
    selected = rng.random(len(bounds)) < unit_prob
    if ensure_one and len(bounds) and not selected.any():
        selected[rng.integers(len(bounds))] = True
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, bounds[selected, 0], 1)
    np.add.at(marks, bounds[selected, 1], -1)
    target: np.ndarray = np.cumsum(marks)[:n] > 0
    return target


def mask_units(
    input_ids: Sequence[int] | np.ndarray,
    units: UnitSpans,
    *,
    seed: int,
    epoch: int,
    row_index: int,
    mask_id: int,
    random_range: tuple[int, int],
    unit_prob: float = 0.15,
    mask_frac: float = 0.8,
    random_frac: float = 0.1,
    ensure_one: bool = True,
) -> Masked:
    """ERNIE 1.0 unit masking: each unit is a target with ``unit_prob``; its tokens get 80/10/10.

    ``units`` are non-overlapping token spans (:func:`unit_bounds` formats); tokens outside every unit
    ([CLS], [SEP]) are never targets. ``ensure_one`` picks one unit uniformly when none was selected, so a
    row always has a target. Random replacements are drawn uniformly from ``random_range`` = [low, high).
    """
    ids = np.asarray(input_ids, dtype=np.int64)
    rng = row_rng(seed, epoch, row_index)
    target = _select_units(unit_bounds(units), ids.size, rng, unit_prob, ensure_one)
    return _corrupt(ids, target, rng, mask_id, random_range, mask_frac, random_frac)


def mask_uktp(
    input_ids: Sequence[int] | np.ndarray,
    relation_span: Span | tuple[int, int],
    units: UnitSpans,
    *,
    seed: int,
    epoch: int,
    row_index: int,
    mask_id: int,
    random_range: tuple[int, int],
    mode: UktpMaskMode = UktpMaskMode.EITHER,
    relation_prob: float = 0.5,
    word_prob: float = 0.15,
    mask_frac: float = 0.8,
    random_frac: float = 0.1,
) -> Masked:
    """UKTP masking: the relation's tokens all become [MASK], and/or sentence units get unit masking.

    ``units`` are the row's sentence units. In ``EITHER`` mode a row masks the relation with probability
    ``relation_prob`` and otherwise its words (units at ``word_prob``, at least one); ``BOTH`` does both.
    """
    mode = UktpMaskMode(mode)  # also accepts "either" / "both"; anything else is a ValueError
    ids = np.asarray(input_ids, dtype=np.int64)
    rng = row_rng(seed, epoch, row_index)
    rel = relation_span
    mask_relation = mode is UktpMaskMode.BOTH or rng.random() < relation_prob
    mask_words = mode is UktpMaskMode.BOTH or not mask_relation
    target = np.zeros(ids.size, dtype=bool)
    if mask_words:
        target = _select_units(unit_bounds(units), ids.size, rng, word_prob, True)
    out = _corrupt(ids, target, rng, mask_id, random_range, mask_frac, random_frac)
    if mask_relation:
        out.labels[rel[0] : rel[1]] = ids[rel[0] : rel[1]]
        out.input_ids[rel[0] : rel[1]] = mask_id
    return out


def sr_num_classes(max_segments: int) -> int:
    """k = sum over n = 1..m of n! (m = 3 -> 9)."""
    return sum(math.factorial(n) for n in range(1, max_segments + 1))


def sr_label(permutation: Sequence[int]) -> int:
    """Class of a permutation of 0..n-1: ``sum_{j<n} j!`` + its lexicographic rank among n! permutations."""
    n = len(permutation)
    if sorted(permutation) != list(range(n)) or n == 0:
        raise ValueError(f"not a permutation of 0..n-1: {tuple(permutation)}")
    rank = 0
    rest = list(range(n))
    for k, p in enumerate(permutation):
        i = rest.index(p)
        rank += i * math.factorial(n - 1 - k)
        rest.pop(i)
    return sr_num_classes(n - 1) + rank


def sr_permutation(label: int) -> tuple[int, ...]:
    """Inverse of :func:`sr_label`."""
    if label < 0:
        raise ValueError(f"label must be >= 0, got {label}")
    n = 1
    while label >= sr_num_classes(n):
        n += 1
    rank = label - sr_num_classes(n - 1)
    rest = list(range(n))
    out = []
    for k in range(n):
        i, rank = divmod(rank, math.factorial(n - 1 - k))
        out.append(rest.pop(i))
    return tuple(out)


def permute_sr(
    input_ids: Sequence[int] | np.ndarray,
    segment_starts: Sequence[int] | np.ndarray,
    *,
    seed: int,
    epoch: int,
    row_index: int,
) -> Permuted:
    """Shuffle the segments of ``[CLS] s_0 .. s_{n-1} [SEP]`` with a uniform random permutation."""
    ids = np.asarray(input_ids, dtype=np.int64)
    starts = [int(s) for s in segment_starts]
    if (
        not starts
        or starts[0] < 1
        or any(b <= a for a, b in itertools.pairwise(starts))
        or starts[-1] >= ids.size
    ):
        raise ValueError(f"segment_starts {starts} do not split a row of {ids.size} tokens")
    bounds = [*starts, ids.size - 1]
    segments = [ids[a:b] for a, b in itertools.pairwise(bounds)]
    perm = tuple(int(p) for p in row_rng(seed, epoch, row_index).permutation(len(segments)))
    shuffled = np.concatenate([ids[: starts[0]], *(segments[p] for p in perm), ids[-1:]])
    return Permuted(shuffled, sr_label(perm), perm)
