"""Universal knowledge-text prediction rows: an aligned sentence + labels -> one row per aligned triple.

Layout: ``[CLS] head relation tail [SEP] sentence [SEP]`` (``[CLS]`` optional, see
:class:`kgtext.corpus.tasks.config.UktpConfig`), segment 0 up to the first ``[SEP]``, 1 after. Head, relation and
tail are their display labels (``labels[iri]``; a literal tail is its lexical form), each encoded as its
own words. The sentence keeps its units and the exact token spans of the head's and tail's mentions.
Counts are per triple. No randomness here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import NamedTuple

from kgtext.corpus.records import AlignedSentence, AlignedTriple, Mention, Span
from kgtext.corpus.tasks.config import UKTP_TRIPLE_SLOTS, KmlmConfig, UktpConfig
from kgtext.corpus.tasks.rows import Built, Outcome, UktpRow, Unit, count
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.corpus.tasks.units import RawSentence, encode_raw

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


def _mention_index(
    mentions: tuple[Mention, ...], spans: list[tuple[int, int]], literal: bool
) -> dict[str, list[tuple[int, int]]]:
    """Token spans of the mentions grouped by entity (or, if ``literal``, by lexical form), in order."""
    index: dict[str, list[tuple[int, int]]] = {}
    for m, span in zip(mentions, spans, strict=True):
        index.setdefault(literal_lexical_form(m.entity) if literal else m.entity, []).append(span)
    return index


def _shifted(index: dict[str, list[tuple[int, int]]], target: str, offset: int) -> list[Span]:
    """Token spans (moved right by ``offset``) of the mentions whose key is ``target``."""
    new = tuple.__new__
    return [new(Span, (s + offset, e + offset)) for s, e in index.get(target, ())]


def _triple_texts(triple: AlignedTriple, labels: Mapping[str, str]) -> tuple[str, str, str] | None:
    tail = triple.tail if triple.tail_is_literal else labels.get(triple.tail)
    head, relation = labels.get(triple.head), labels.get(triple.relation)
    if head is None or relation is None or tail is None:
        return None
    return head, relation, tail


class _Sentence(NamedTuple):
    """Per-sentence work shared by its rows: the encoded sentence and its mentions by key."""

    raw: RawSentence
    by_entity: dict[str, list[tuple[int, int]]]
    by_literal: dict[str, list[tuple[int, int]]]

    def units(self, offset: int) -> list[Unit]:
        """The sentence units shifted by a row's sentence offset (fresh Units for every row)."""
        new = tuple.__new__  # Unit(...) goes through a Python-level __new__
        return [new(Unit, (a + offset, b + offset, k)) for a, b, k in self.raw.segments]


def _row(
    sentence: AlignedSentence,
    j: int,
    triple: AlignedTriple,
    parts: list[list[int]],
    shared: _Sentence,
    tok: Tokenizer,
    config: UktpConfig,
) -> UktpRow:
    head_ids, rel_ids, tail_ids = parts
    raw = shared.raw
    new = tuple.__new__
    lead = 1 if config.leading_cls else 0
    h = lead + len(head_ids)
    r = h + len(rel_ids)
    t = r + len(tail_ids)
    offset = t + 1
    ids = [tok.cls_id] if lead else []
    ids += head_ids
    ids += rel_ids
    ids += tail_ids
    ids.append(tok.sep_id)
    ids += raw.ids
    ids.append(tok.sep_id)
    n = len(ids)
    tail_index = shared.by_literal if triple.tail_is_literal else shared.by_entity
    return UktpRow(
        doc_id=sentence.doc_id,
        position=sentence.sentence_index * UKTP_TRIPLE_SLOTS + j,
        input_ids=ids,
        num_tokens=n,
        sentence_index=sentence.sentence_index,
        segment_ids=[0] * offset + [1] * (n - offset),
        head_span=new(Span, (lead, h)),
        relation_span=new(Span, (h, r)),
        tail_span=new(Span, (r, t)),
        sentence_span=new(Span, (offset, n - 1)),
        units=shared.units(offset),
        head_mentions=_shifted(shared.by_entity, triple.head, offset),
        tail_mentions=_shifted(tail_index, triple.tail, offset),
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
    raw = encode_raw(tok, sentence.text, sentence.mentions, sentence.phrases, _UNIT_RULE)
    fixed = len(raw.ids) + 2 + int(config.leading_cls)
    shared: _Sentence | None = None
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
        if shared is None:
            mentions = sentence.mentions
            spans = raw.mention_spans
            shared = _Sentence(
                raw, _mention_index(mentions, spans, False), _mention_index(mentions, spans, True)
            )
        rows.append(_row(sentence, j, triple, parts, shared, tok, config))
        count(counts, Outcome.ROW)
    return Built(rows, counts)


def build_uktp(
    sentence: AlignedSentence, labels: Mapping[str, str], tok: Tokenizer, config: UktpConfig
) -> list[UktpRow]:
    """The rows of :func:`build_uktp_counted`."""
    rows: list[UktpRow] = build_uktp_counted(sentence, labels, tok, config).rows
    return rows
