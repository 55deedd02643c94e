"""Sentence-distance rows: an aligned document + other-document sentences -> one pair per sentence.

For sentence i the label is drawn with ``SdConfig.class_weights`` from :func:`kgtext.corpus.tasks.config.task_rng`
(seed, doc id, ``"sd"``): 0 pairs it with sentence i + 1, 1 with a sentence j of the same document with
``|i - j| >= min_distance`` (uniform), 2 with one of ``negatives`` (uniform; sentences of other documents
that the pipeline picks deterministically). An impossible class (last sentence, short document, no
negatives) is redrawn among the possible ones with their renormalised weights (``class_fallback``).
Layout ``[CLS] first [SEP] second [SEP]``, segment 0 up to the first ``[SEP]``, 1 after.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from kgtext.corpus.records import AlignedDocument
from kgtext.corpus.tasks.config import SdConfig, task_rng
from kgtext.corpus.tasks.rows import Built, Outcome, SdLabel, SdRow, count
from kgtext.corpus.tasks.tokenizer import Tokenizer

logger = logging.getLogger(__name__)
TASK = "sd"


def _pick(weights: np.ndarray, rng: np.random.Generator) -> int:
    """Index drawn with probability ``weights`` (one uniform draw; faster than ``rng.choice(p=...)``)."""
    cumulative = np.cumsum(weights)
    return min(
        int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), len(weights) - 1
    )


def _draw_label(
    i: int, n: int, has_negatives: bool, rng: np.random.Generator, config: SdConfig
) -> tuple[int, bool]:
    """(label, fell_back), or (-1, True) when no class is feasible for sentence ``i`` of ``n``."""
    feasible = np.array(
        [i + 1 < n, n - 1 - i >= config.min_distance or i >= config.min_distance, has_negatives]
    )
    weights = np.asarray(config.class_weights)
    label = _pick(weights, rng)
    if feasible[label]:
        return label, False
    if not feasible.any():
        return -1, True
    w = np.where(feasible, weights, 0.0)
    w = w / w.sum() if w.sum() > 0 else feasible / feasible.sum()
    return _pick(w, rng), True


def _partner(i: int, n: int, label: int, rng: np.random.Generator, config: SdConfig, n_neg: int) -> int:
    if label == SdLabel.ADJACENT:
        return i + 1
    if label == SdLabel.SAME_DOCUMENT:
        far = [j for j in range(n) if abs(j - i) >= config.min_distance]
        return far[int(rng.integers(len(far)))]
    return int(rng.integers(n_neg))


def build_sd_counted(
    doc: AlignedDocument,
    negatives: Sequence[str],
    tok: Tokenizer,
    config: SdConfig,
    *,
    seed: int = 0,
    negative_doc_ids: Sequence[str] = (),
) -> Built:
    """One :class:`SdRow` per non-empty sentence of ``doc`` (``position`` = its index), with counts.

    ``negative_doc_ids[k]`` names the document of ``negatives[k]`` (``other_doc_id``); without it the
    column is ``""`` for label 2.
    """
    if negative_doc_ids and len(negative_doc_ids) != len(negatives):
        raise ValueError(
            f"negative_doc_ids has {len(negative_doc_ids)} entries for {len(negatives)} negatives"
        )
    counts: dict[str, int] = {}
    sentences = [s for s in doc.sentences if s.text.strip()]
    encoded = tok.encode_batch([s.text for s in sentences])
    rng = task_rng(seed, doc.doc_id, TASK)
    rows: list[SdRow] = []
    n = len(sentences)
    for i, first in enumerate(encoded):
        label, fell_back = _draw_label(i, n, bool(negatives), rng, config)
        if label < 0:
            count(counts, Outcome.NO_PAIR)
            continue
        if fell_back:
            count(counts, Outcome.CLASS_FALLBACK)
        j = _partner(i, n, label, rng, config, len(negatives))
        other = doc.doc_id
        if label == SdLabel.OTHER_DOCUMENT:
            second = tok.encode(negatives[j])
            other = negative_doc_ids[j] if negative_doc_ids else ""
        else:
            second = encoded[j]
        head = [tok.cls_id, *first, tok.sep_id]
        input_ids = [*head, *second, tok.sep_id]
        if len(input_ids) > config.max_tokens:
            count(counts, Outcome.TOO_LONG)
            continue
        rows.append(
            SdRow(
                doc_id=doc.doc_id,
                position=sentences[i].sentence_index,
                input_ids=input_ids,
                num_tokens=len(input_ids),
                segment_ids=[0] * len(head) + [1] * (len(second) + 1),
                label=label,
                other_doc_id=other,
            )
        )
        count(counts, Outcome.ROW)
    return Built(rows, counts)


def build_sd(
    doc: AlignedDocument,
    negatives: Sequence[str],
    tok: Tokenizer,
    config: SdConfig,
    *,
    seed: int = 0,
    negative_doc_ids: Sequence[str] = (),
) -> list[SdRow]:
    """The rows of :func:`build_sd_counted`."""
    rows: list[SdRow] = build_sd_counted(
        doc, negatives, tok, config, seed=seed, negative_doc_ids=negative_doc_ids
    ).rows
    return rows
