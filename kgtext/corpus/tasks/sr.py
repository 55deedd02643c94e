"""Sentence-reordering rows: an aligned document -> one row per paragraph, cut into 1..m segments.

A row is ``[CLS] paragraph [SEP]`` in the original order with ``segment_starts``. The number of segments
n is drawn uniformly from 1..min(m, sentences) and the n - 1 cuts uniformly among the sentence boundaries,
from :func:`kgtext.corpus.tasks.config.task_rng` (seed, doc id, ``"sr"``). The trainer draws a fresh permutation
per epoch with :func:`kgtext.corpus.tasks.masking.permute_sr`; the class is :func:`kgtext.corpus.tasks.masking.sr_label`.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np

from kgtext.corpus.records import AlignedDocument, AlignedSentence
from kgtext.corpus.tasks.config import SrConfig, task_rng
from kgtext.corpus.tasks.rows import Built, Outcome, SrRow, count
from kgtext.corpus.tasks.tokenizer import Tokenizer

logger = logging.getLogger(__name__)
TASK = "sr"


def paragraphs(doc: AlignedDocument) -> list[tuple[int, list[AlignedSentence]]]:
    """The document's non-empty sentences grouped by paragraph, in document order."""
    groups = itertools.groupby((s for s in doc.sentences if s.text.strip()), key=lambda s: s.paragraph_index)
    return [(index, list(sentences)) for index, sentences in groups]


def _fit(encoded: list[list[int]], budget: int) -> int:
    """How many leading sentences fit in ``budget`` tokens."""
    total = 0
    for n, ids in enumerate(encoded):
        total += len(ids)
        if total > budget:
            return n
    return len(encoded)


def _segment_starts(lengths: list[int], rng: np.random.Generator, max_segments: int) -> list[int]:
    n = int(rng.integers(1, min(max_segments, len(lengths)) + 1))
    cuts = sorted(int(c) + 1 for c in rng.choice(len(lengths) - 1, size=n - 1, replace=False))
    starts = list(itertools.accumulate(lengths, initial=1))  # token index of each sentence, after [CLS]
    return [starts[0], *(starts[c] for c in cuts)]


def build_sr_counted(doc: AlignedDocument, tok: Tokenizer, config: SrConfig, *, seed: int = 0) -> Built:
    """One :class:`SrRow` per paragraph with at least ``config.min_sentences`` sentences, with counts.

    A paragraph longer than ``config.max_tokens`` drops trailing sentences (``truncated``); if fewer than
    ``min_sentences`` then remain it is skipped (``too_long``).
    """
    counts: dict[str, int] = {}
    rng = task_rng(seed, doc.doc_id, TASK)
    rows: list[SrRow] = []
    for paragraph_index, sentences in paragraphs(doc):
        if len(sentences) < config.min_sentences:
            count(counts, Outcome.TOO_FEW_SENTENCES)
            continue
        encoded = tok.encode_batch([s.text for s in sentences])
        keep = _fit(encoded, config.max_tokens - 2)
        if keep < len(encoded):
            if keep < config.min_sentences:
                count(counts, Outcome.TOO_LONG)
                continue
            encoded = encoded[:keep]
            count(counts, Outcome.TRUNCATED)
        segment_starts = _segment_starts([len(e) for e in encoded], rng, config.max_segments)
        input_ids = [tok.cls_id, *itertools.chain.from_iterable(encoded), tok.sep_id]
        rows.append(
            SrRow(
                doc_id=doc.doc_id,
                position=len(rows),
                input_ids=input_ids,
                num_tokens=len(input_ids),
                paragraph_index=paragraph_index,
                segment_starts=segment_starts,
            )
        )
        count(counts, Outcome.ROW)
    return Built(rows, counts)


def build_sr(doc: AlignedDocument, tok: Tokenizer, config: SrConfig, *, seed: int = 0) -> list[SrRow]:
    """The rows of :func:`build_sr_counted`."""
    rows: list[SrRow] = build_sr_counted(doc, tok, config, seed=seed).rows
    return rows
