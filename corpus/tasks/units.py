"""A sentence -> token ids + a partition of its tokens into entity, phrase and word units.

Overlap rule (docs/TASKS.md, "Units"): entities first (mentions by start, the longest first at a tie; a
mention overlapping an already chosen one is not a unit), then the sentence's phrases that overlap no
chosen entity or phrase, then words over the remaining tokens (a word starts at a ``▁`` piece or where a
covered run ends). Without given phrases, the fallback groups runs of 2..max content words between
entities, stopwords and punctuation into phrase units. Every sentence token lies in exactly one unit, so
masking a unit never splits another.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

from corpus.records import Mention, Span
from corpus.tasks.config import KmlmConfig, PhraseFallback
from corpus.tasks.rows import Unit, UnitKind
from corpus.tasks.tokenizer import Tokenizer

_ENTITY_KIND, _PHRASE_KIND, _WORD_KIND = UnitKind.ENTITY.value, UnitKind.PHRASE.value, UnitKind.WORD.value
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


def _is_word(text: str) -> bool:
    """Letters and digits, with apostrophes or hyphens inside (``men's``, ``Honmyō-ji``)."""
    return text.replace("'", "").replace("’", "").replace("-", "").isalnum()


@functools.lru_cache(maxsize=8)
def _content_pieces(tok: Tokenizer) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """Per id: the piece's lowercased text without ``▁``, and whether it alone is a content word."""
    texts = tuple(tok.id_to_piece(i).lstrip("▁").lower() for i in range(tok.vocab_size))
    whole = tuple(
        i not in tok.special_ids and _is_word(t) and t not in STOPWORDS for i, t in enumerate(texts)
    )
    return texts, whole


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
    *,
    offset: int = 0,
) -> EncodedSentence:
    """Encode ``text`` with exact entity / phrase / mention boundaries and partition it into units.

    Units and mention spans are shifted right by ``offset`` tokens (e.g. 1 for a leading [CLS]).
    """
    taken: list[tuple[int, int]] = []
    mention_spans = [(m.start, m.end) for m in mentions]
    entities = [mention_spans[i] for i in _pick_non_overlapping(mention_spans, taken)]
    phrase_spans = [(p[0], p[1]) for p in phrases]
    chosen = [phrase_spans[i] for i in _pick_non_overlapping(phrase_spans, taken)]
    encoded = tok.encode_spans(text, [*entities, *chosen, *mention_spans])
    n_ent, n_phr = len(entities), len(chosen)
    spans = encoded.spans
    covered = [(s.start, s.end, _ENTITY_KIND) for s in spans[:n_ent] if s.end > s.start]
    covered += [(s.start, s.end, _PHRASE_KIND) for s in spans[n_ent : n_ent + n_phr] if s.end > s.start]
    fallback = not phrases and config.phrase_fallback is PhraseFallback.STOPWORD_RUNS
    units = _fill_words(encoded.ids, sorted(covered), tok, offset, config.max_phrase_words if fallback else 0)
    mention_out = [Span(s.start + offset, s.end + offset) for s in spans[n_ent + n_phr :]]
    return EncodedSentence(encoded.ids, units, mention_out)


def _fill_words(
    ids: list[int], covered: list[tuple[int, int, str]], tok: Tokenizer, offset: int, max_phrase_words: int
) -> list[Unit]:
    """``covered`` units plus word (and, if ``max_phrase_words``, fallback phrase) units over the rest."""
    word_start = tok.word_start
    segments: list[tuple[int, int, str]] = []  # words have kind ""
    pos = 0
    for start, end, kind in [*covered, (len(ids), len(ids), "")]:
        w = pos
        for i in range(pos + 1, start):
            if word_start[ids[i]]:
                segments.append((w, i, ""))
                w = i
        if w < start:
            segments.append((w, start, ""))
        if kind:
            segments.append((start, end, kind))
        pos = end
    if max_phrase_words:
        segments = _group_phrases(ids, segments, tok, max_phrase_words)
    new = tuple.__new__  # Unit(...) goes through a Python-level __new__: 3x slower in this hot loop
    return [new(Unit, (a + offset, b + offset, k or _WORD_KIND)) for a, b, k in segments]


def _group_phrases(
    ids: list[int], segments: list[tuple[int, int, str]], tok: Tokenizer, max_words: int
) -> list[tuple[int, int, str]]:
    """Merge runs of 2..max_words content words (no stopword, no punctuation, no byte piece) between
    other units into phrase segments: RAKE's candidate-phrase rule at word level."""
    texts, whole = _content_pieces(tok)
    out: list[tuple[int, int, str]] = []
    run: list[tuple[int, int, str]] = []
    for seg in [*segments, (0, 0, "end")]:
        a, b, kind = seg
        if not kind:
            if b - a == 1:
                content = whole[ids[a]]
            else:
                joined = "".join([texts[t] for t in ids[a:b]])
                content = _is_word(joined) and joined not in STOPWORDS
            if content:
                run.append(seg)
                continue
        if 2 <= len(run) <= max_words:
            out.append((run[0][0], run[-1][1], _PHRASE_KIND))
        else:
            out += run
        run = []
        out.append(seg)
    out.pop()
    return out


def shift_units(units: Sequence[Unit], offset: int) -> list[Unit]:
    """Units moved right by ``offset`` tokens (e.g. past a leading [CLS])."""
    new = tuple.__new__
    return [new(Unit, (start + offset, end + offset, kind)) for start, end, kind in units]


def shift_spans(spans: Sequence[Span], offset: int) -> list[Span]:
    """Spans moved right by ``offset`` tokens."""
    new = tuple.__new__
    return [new(Span, (start + offset, end + offset)) for start, end in spans]


def cut_at_unit(units: Sequence[Unit], budget: int) -> int:
    """Number of leading (contiguous) units that end at or before token index ``budget``."""
    n = 0
    for unit in units:
        if unit.end > budget:
            break
        n += 1
    return n
