"""A sentence -> token ids + a partition of its tokens into entity, phrase and word units.

Overlap rule (docs/TASKS.md, "Units"): entities first (mentions by start, the longest first at a tie; a
mention overlapping an already chosen one is not a unit), then phrases that overlap no chosen entity or
phrase (the fallback rule never builds a phrase across an entity), then words over the remaining tokens (a word starts at a ``▁`` piece or where a covered run ends).
Every sentence token lies in exactly one unit, so masking a unit never splits another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from corpus.records import Mention, Span
from corpus.tasks.config import KmlmConfig, PhraseFallback
from corpus.tasks.rows import Unit, UnitKind
from corpus.tasks.tokenizer import Tokenizer

_ENTITY_KIND, _PHRASE_KIND, _WORD_KIND = UnitKind.ENTITY.value, UnitKind.PHRASE.value, UnitKind.WORD.value
_WORD = re.compile(r"\w+(?:['’\-]\w+)*")
_JOINER = re.compile(r"\s+")
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers him his how i if in into is it its itself just me more most my no nor not of off on once
    only or other our ours out over own same she should so some such than that the their theirs them then there
    these they this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours s t""".split()
)
"""English function words that end a fallback phrase (RAKE's candidate rule)."""


class EncodedSentence(NamedTuple):
    """Sentence tokens (no specials), their units, and the token span of every input mention."""

    ids: list[int]
    units: list[Unit]
    mention_spans: list[Span]
    """Same order as the ``mentions`` argument."""


def stopword_runs(text: str, max_words: int, blocked: Sequence[tuple[int, int]] = ()) -> list[Span]:
    """Character spans of runs of 2..max_words words with no stopword, punctuation or blocked span
    (e.g. an entity) between or inside them."""
    runs: list[list[tuple[int, int]]] = [[]]
    prev_end = 0
    walls = sorted(blocked)
    j = 0
    for m in _WORD.finditer(text):
        gap = text[prev_end : m.start()]
        while j < len(walls) and walls[j][1] <= m.start():
            j += 1
        stop = m.group().lower() in STOPWORDS or (j < len(walls) and walls[j][0] < m.end())
        if stop or (gap and not _JOINER.fullmatch(gap)):
            runs.append([])
        if not stop:
            runs[-1].append((m.start(), m.end()))
        prev_end = m.end()
    return [Span(r[0][0], r[-1][1]) for r in runs if 2 <= len(r) <= max_words]


def _pick_non_overlapping(spans: Sequence[tuple[int, int]], taken: list[tuple[int, int]]) -> list[int]:
    """Indices of ``spans`` kept greedily (by start, longest first) that overlap nothing in ``taken``."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], spans[i][0] - spans[i][1]))
    kept: list[int] = []
    for i in order:
        s, e = spans[i]
        if s >= e or any(s < te and ts < e for ts, te in taken):
            continue
        taken.append((s, e))
        kept.append(i)
    return kept


def encode_sentence(
    tok: Tokenizer,
    text: str,
    mentions: Sequence[Mention],
    phrases: Sequence[Span],
    config: KmlmConfig,
) -> EncodedSentence:
    """Encode ``text`` with exact entity / phrase / mention boundaries and partition it into units."""
    taken: list[tuple[int, int]] = []
    mention_spans = [(m.start, m.end) for m in mentions]
    entities = [mention_spans[i] for i in _pick_non_overlapping(mention_spans, taken)]
    if not phrases and config.phrase_fallback is PhraseFallback.STOPWORD_RUNS:
        phrases = stopword_runs(text, config.max_phrase_words, entities)
    phrase_spans = [(p[0], p[1]) for p in phrases]
    chosen_phrases = [phrase_spans[i] for i in _pick_non_overlapping(phrase_spans, taken)]
    encoded = tok.encode_spans(text, [*entities, *chosen_phrases, *mention_spans])
    n_ent, n_phr = len(entities), len(chosen_phrases)
    spans = encoded.spans
    covered: list[Unit] = [
        Unit(s.start, s.end, UnitKind.ENTITY.value) for s in spans[:n_ent] if s.end > s.start
    ]
    covered += [
        Unit(s.start, s.end, UnitKind.PHRASE.value) for s in spans[n_ent : n_ent + n_phr] if s.end > s.start
    ]
    units = _fill_words(encoded.ids, sorted(covered), tok.word_start)
    return EncodedSentence(encoded.ids, units, list(spans[n_ent + n_phr :]))


def _fill_words(ids: list[int], covered: list[Unit], word_start: Sequence[bool]) -> list[Unit]:
    """``covered`` units plus word units over every uncovered token, sorted by start."""
    units: list[Unit] = []
    pos = 0
    for unit in [*covered, Unit(len(ids), len(ids), "")]:
        start = pos
        for i in range(pos + 1, unit.start):
            if word_start[ids[i]]:
                units.append(Unit(start, i, _WORD_KIND))
                start = i
        if start < unit.start:
            units.append(Unit(start, unit.start, _WORD_KIND))
        if unit.kind:
            units.append(unit)
        pos = unit.end
    return units


def shift_units(units: Sequence[Unit], offset: int) -> list[Unit]:
    """Units moved right by ``offset`` tokens (e.g. past a leading [CLS])."""
    return [Unit(u.start + offset, u.end + offset, u.kind) for u in units]


def shift_spans(spans: Sequence[Span], offset: int) -> list[Span]:
    """Spans moved right by ``offset`` tokens."""
    return [Span(s.start + offset, s.end + offset) for s in spans]


def cut_at_unit(units: Sequence[Unit], budget: int) -> int:
    """Number of leading units whose tokens fit in ``budget`` tokens (units start at 0, contiguous)."""
    n = 0
    for unit in units:
        if unit.end > budget:
            break
        n += 1
    return n
