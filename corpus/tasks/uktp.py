"""Universal knowledge-text prediction rows: an aligned sentence + labels -> one row per aligned triple.

Layout: ``[CLS] head relation tail [SEP] sentence [SEP]`` (``[CLS]`` optional, see
:class:`corpus.tasks.config.UktpConfig`), segment 0 up to the first ``[SEP]``, 1 after. Head, relation and
tail are their display labels (``labels[iri]``; a literal tail is its lexical form), each encoded as its
own words. The sentence keeps its units and the exact token spans of the head's and tail's mentions.
Counts are per triple. No randomness here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from corpus.records import AlignedSentence, AlignedTriple, Mention, Span
from corpus.tasks.config import UKTP_TRIPLE_SLOTS, KmlmConfig, UktpConfig
from corpus.tasks.rows import Built, Outcome, UktpRow, count
from corpus.tasks.tokenizer import Tokenizer
from corpus.tasks.units import EncodedSentence, encode_sentence, shift_spans, shift_units

logger = logging.getLogger(__name__)
_UNIT_RULE = KmlmConfig()
"""Sentence units in UKTP rows follow the default KMLM unit rule."""


def literal_lexical_form(term: str) -> str:
    """``"1932"^^<...#gYear>`` or ``"x"@en`` -> ``1932`` / ``x``; any other string is returned unchanged."""
    if len(term) >= 2 and term.startswith('"'):
        close = term.rfind('"')
        if close > 0:
            return term[1:close]
    return term


def _mention_spans(
    mentions: tuple[Mention, ...], spans: list[Span], target: str, literal: bool
) -> list[Span]:
    keys = [literal_lexical_form(m.entity) if literal else m.entity for m in mentions]
    return [span for key, span in zip(keys, spans, strict=True) if key == target]


def _triple_texts(triple: AlignedTriple, labels: Mapping[str, str]) -> tuple[str, str, str] | None:
    tail = triple.tail if triple.tail_is_literal else labels.get(triple.tail)
    head, relation = labels.get(triple.head), labels.get(triple.relation)
    if head is None or relation is None or tail is None:
        return None
    return head, relation, tail


def _row(
    sentence: AlignedSentence,
    j: int,
    triple: AlignedTriple,
    parts: list[list[int]],
    enc: EncodedSentence,
    tok: Tokenizer,
    config: UktpConfig,
) -> UktpRow:
    head_ids, rel_ids, tail_ids = parts
    ids = [tok.cls_id] if config.leading_cls else []
    head_span = Span(len(ids), len(ids) + len(head_ids))
    relation_span = Span(head_span.end, head_span.end + len(rel_ids))
    tail_span = Span(relation_span.end, relation_span.end + len(tail_ids))
    ids += [*head_ids, *rel_ids, *tail_ids, tok.sep_id]
    offset = len(ids)
    sentence_span = Span(offset, offset + len(enc.ids))
    ids += [*enc.ids, tok.sep_id]
    mentions = sentence.mentions
    return UktpRow(
        doc_id=sentence.doc_id,
        position=sentence.sentence_index * UKTP_TRIPLE_SLOTS + j,
        input_ids=ids,
        num_tokens=len(ids),
        sentence_index=sentence.sentence_index,
        segment_ids=[0] * offset + [1] * (len(ids) - offset),
        head_span=head_span,
        relation_span=relation_span,
        tail_span=tail_span,
        sentence_span=sentence_span,
        units=shift_units(enc.units, offset),
        head_mentions=shift_spans(_mention_spans(mentions, enc.mention_spans, triple.head, False), offset),
        tail_mentions=shift_spans(
            _mention_spans(mentions, enc.mention_spans, triple.tail, triple.tail_is_literal), offset
        ),
        head=triple.head,
        relation=triple.relation,
        tail=triple.tail,
        level=triple.level,
    )


def build_uktp_counted(
    sentence: AlignedSentence, labels: Mapping[str, str], tok: Tokenizer, config: UktpConfig
) -> Built:
    """One :class:`UktpRow` per aligned triple of ``sentence`` that has labels and fits, with counts."""
    counts: dict[str, int] = {}
    if not sentence.triples:
        return Built([], counts)
    if not sentence.passes_filter:
        count(counts, Outcome.FILTERED_SENTENCE, len(sentence.triples))
        return Built([], counts)
    enc = encode_sentence(tok, sentence.text, sentence.mentions, sentence.phrases, _UNIT_RULE)
    fixed = len(enc.ids) + 2 + int(config.leading_cls)
    rows: list[UktpRow] = []
    for j, triple in enumerate(sentence.triples):
        if j >= UKTP_TRIPLE_SLOTS:
            count(counts, Outcome.TOO_MANY_TRIPLES)
            continue
        texts = _triple_texts(triple, labels)
        if texts is None:
            count(counts, Outcome.NO_LABEL)
            continue
        parts = [tok.encode_label(t) for t in texts]
        if fixed + sum(len(p) for p in parts) > config.max_tokens:
            count(counts, Outcome.TOO_LONG)
            continue
        rows.append(_row(sentence, j, triple, parts, enc, tok, config))
        count(counts, Outcome.ROW)
    return Built(rows, counts)


def build_uktp(
    sentence: AlignedSentence, labels: Mapping[str, str], tok: Tokenizer, config: UktpConfig
) -> list[UktpRow]:
    """The rows of :func:`build_uktp_counted`."""
    rows: list[UktpRow] = build_uktp_counted(sentence, labels, tok, config).rows
    return rows
