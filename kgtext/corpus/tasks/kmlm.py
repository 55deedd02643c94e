"""Knowledge-masked LM rows: an aligned sentence -> ``[CLS] sentence [SEP]`` with its maskable units.

The units (entity, phrase, word; :mod:`kgtext.corpus.tasks.units`) are stored, not a mask: the trainer masks
them afresh every epoch with :func:`kgtext.corpus.tasks.masking.mask_units`. No randomness here.
"""

from __future__ import annotations

import logging

from kgtext.corpus.records import AlignedSentence
from kgtext.corpus.tasks.config import KmlmConfig
from kgtext.corpus.tasks.rows import Built, KmlmRow, Outcome, Unit, count
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.corpus.tasks.units import encode_raw

logger = logging.getLogger(__name__)


def build_kmlm_counted(sentence: AlignedSentence, tok: Tokenizer, config: KmlmConfig) -> Built:
    """At most one :class:`KmlmRow` for ``sentence``, and the counted :class:`Outcome`.

    A sentence longer than ``config.max_tokens`` is cut after its last whole unit (``truncated``); one whose
    first unit alone does not fit is skipped (``too_long``). Filtered sentences are skipped.
    """
    counts: dict[str, int] = {}
    if not sentence.passes_filter:
        count(counts, Outcome.FILTERED_SENTENCE)
        return Built([], counts)
    if not sentence.text.strip():
        count(counts, Outcome.EMPTY)
        return Built([], counts)
    raw = encode_raw(tok, sentence.text, sentence.mentions, sentence.phrases, config)
    ids, segments = raw.ids, raw.segments
    budget = config.max_tokens - 2
    if len(ids) > budget:
        keep = 0  # leading units that end within the budget
        for seg in segments:
            if seg[1] > budget:
                break
            keep += 1
        if keep == 0:
            count(counts, Outcome.TOO_LONG)
            return Built([], counts)
        segments = segments[:keep]
        ids = ids[: segments[-1][1]]
        count(counts, Outcome.TRUNCATED)
    input_ids = [tok.cls_id, *ids, tok.sep_id]
    new = tuple.__new__  # Unit(...) goes through a Python-level __new__
    units = [new(Unit, (a + 1, b + 1, k)) for a, b, k in segments]
    row = KmlmRow(
        doc_id=sentence.doc_id,
        position=sentence.sentence_index,
        input_ids=input_ids,
        num_tokens=len(input_ids),
        sentence_index=sentence.sentence_index,
        units=units,
    )
    count(counts, Outcome.ROW)
    return Built([row], counts)


def build_kmlm(sentence: AlignedSentence, tok: Tokenizer, config: KmlmConfig) -> list[KmlmRow]:
    """The rows of :func:`build_kmlm_counted` (zero or one)."""
    rows: list[KmlmRow] = build_kmlm_counted(sentence, tok, config).rows
    return rows
