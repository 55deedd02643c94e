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
from itertools import compress
from typing import Any, NamedTuple

from kgtext.corpus.records import Mention, Span
from kgtext.corpus.tasks.config import KmlmConfig, PhraseFallback
from kgtext.corpus.tasks.rows import UnitKind
from kgtext.corpus.tasks.tokenizer import Tokenizer

_CONTENT_CACHE_SIZE = 100_000
_ENTITY_KIND, _PHRASE_KIND, _WORD_KIND = UnitKind.ENTITY, UnitKind.PHRASE, UnitKind.WORD
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers him his how i if in into is it its itself just me more most my no nor not of off on once
    only or other our ours out over own same she should so some such than that the their theirs them then there
    these they this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours s t""".split()
)
"""English function words that end a fallback phrase (RAKE's candidate rule)."""


def _is_word(text: str) -> bool:
    """Letters and digits, with apostrophes or hyphens inside (``men's``, ``Honmyō-ji``)."""
    return text.replace("'", "").replace("’", "").replace("-", "").isalnum()


@functools.lru_cache(maxsize=8)
def _content_tables(tok: Tokenizer) -> tuple[tuple[bool, ...], dict[tuple[int, ...], bool]]:
    """Per id: whether the piece alone is a content word; and the multi-piece word cache of ``tok``."""
    return _content_pieces(tok)[1], {}


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
    if not spans:
        return []
    if not taken:  # fast path: already sorted, non-empty and disjoint -> all kept in order
        prev_end = -1
        for s, e in spans:
            if s < prev_end or s >= e:
                break
            prev_end = e
        else:
            taken.extend(spans)
            return list(range(len(spans)))
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], spans[i][0] - spans[i][1]))
    kept: list[int] = []
    for i in order:
        s, e = spans[i]
        if s >= e or any(s < te and ts < e for ts, te in taken):
            continue
        taken.append((s, e))
        kept.append(i)
    return kept


class RawSentence(NamedTuple):
    """Offset-0 result of :func:`encode_raw`, shared by the KMLM and UKTP builders (never mutated)."""

    ids: list[int]
    segments: list[tuple[int, int, UnitKind]]
    """Units as ``(start, end, kind value)`` tuples, in token order."""
    mention_spans: list[tuple[int, int]]
    """Token span of every input mention, same order as the ``mentions`` argument."""


_LAST: list[Any] = [None]
"""One-entry cache ``(key, RawSentence)``: the pipeline builds KMLM then UKTP rows of the same sentence."""


def encode_raw(
    tok: Tokenizer, text: str, mentions: Sequence[Mention], phrases: Sequence[Span], config: KmlmConfig
) -> RawSentence:
    """Encode ``text`` with exact entity / phrase / mention boundaries and partition it into units."""
    mention_spans = [(m.start, m.end) for m in mentions]
    phrase_spans = [(p[0], p[1]) for p in phrases]
    fallback = not phrases and config.phrase_fallback is PhraseFallback.STOPWORD_RUNS
    max_words = config.max_phrase_words if fallback else 0
    key = (tok, text, mention_spans, phrase_spans, max_words)
    last = _LAST[0]
    if last is not None and last[0] == key:
        raw: RawSentence = last[1]
        return raw
    taken: list[tuple[int, int]] = []
    entities = _pick_non_overlapping(mention_spans, taken)  # indices: entities are mentions
    chosen = [phrase_spans[i] for i in _pick_non_overlapping(phrase_spans, taken)]
    encoded = tok.encode_spans(text, [*mention_spans, *chosen])
    spans = encoded.spans
    n_men = len(mention_spans)
    covered = [(s, e, _ENTITY_KIND) for s, e in [spans[i] for i in entities] if e > s]
    covered += [(s, e, _PHRASE_KIND) for s, e in spans[n_men:] if e > s]
    if len(covered) > 1:
        covered.sort()
    segments = _segments(encoded.ids, covered, tok, max_words)
    raw = RawSentence(encoded.ids, segments, [(s[0], s[1]) for s in spans[:n_men]])
    _LAST[0] = (key, raw)
    return raw


def _segments(
    ids: list[int], covered: list[tuple[int, int, UnitKind]], tok: Tokenizer, max_words: int
) -> list[tuple[int, int, UnitKind]]:
    """``covered`` units plus word units over the rest (a word starts at a ``▁`` piece or where a covered
    run ends); if ``max_words``, runs of 2..max_words content words between other units (no stopword, no
    punctuation, no byte piece) become phrase units: RAKE's candidate-phrase rule at word level."""
    n = len(ids)
    starts = list(compress(range(n), map(tok.word_start.__getitem__, ids)))
    starts.append(n + 1)  # sentinel past every unit start
    if not max_words:
        return _word_segments(covered, starts, n)
    out: list[tuple[int, int, UnitKind]] = []
    add = out.append
    whole, multi = _content_tables(tok)
    run: list[tuple[int, int]] = []
    k = 0
    pos = 0
    for start, end, kind in [*covered, (n, n, None)]:
        w = pos
        while starts[k] <= pos:
            k += 1
        while True:
            i = starts[k]
            if i >= start:
                i = start
            if w < i:
                if i - w == 1:
                    content: bool | None = whole[ids[w]]
                else:
                    content = multi.get(key := tuple(ids[w:i]))
                    if content is None:
                        content = _multi_content(key, multi, tok)
                if content:
                    run.append((w, i))
                else:
                    if run:
                        if len(run) == 1:
                            add((*run.pop(), _WORD_KIND))
                        else:
                            _flush(run, out, max_words)
                    add((w, i, _WORD_KIND))
            if i == start:
                break
            w = i
            k += 1
        if run:
            _flush(run, out, max_words)
        if kind is not None:
            add((start, end, kind))
        pos = end
    return out


def _word_segments(
    covered: list[tuple[int, int, UnitKind]], starts: list[int], n: int
) -> list[tuple[int, int, UnitKind]]:
    """``covered`` units plus word units over the rest; ``starts``: word-start tokens, then a sentinel > n."""
    out: list[tuple[int, int, UnitKind]] = []
    add = out.append
    k = 0  # next index into ``starts``
    pos = 0
    for start, end, kind in [*covered, (n, n, None)]:
        w = pos
        while starts[k] <= pos:
            k += 1
        i = starts[k]
        while i < start:
            add((w, i, _WORD_KIND))
            w = i
            k += 1
            i = starts[k]
        if w < start:
            add((w, start, _WORD_KIND))
        if kind is not None:
            add((start, end, kind))
        pos = end
    return out


def _flush(run: list[tuple[int, int]], out: list[tuple[int, int, UnitKind]], max_words: int) -> None:
    """Emit a run of content words as one phrase (2..max_words words) or as words, and empty it."""
    if 2 <= len(run) <= max_words:
        out.append((run[0][0], run[-1][1], _PHRASE_KIND))
    else:
        out.extend([(a, b, _WORD_KIND) for a, b in run])
    run.clear()


def _multi_content(word: tuple[int, ...], cache: dict[tuple[int, ...], bool], tok: Tokenizer) -> bool:
    """Whether a multi-piece word is a content word; stores the answer in ``cache``."""
    if len(cache) >= _CONTENT_CACHE_SIZE:
        cache.clear()
    texts = _content_pieces(tok)[0]
    joined = "".join([texts[t] for t in word])
    content = cache[word] = _is_word(joined) and joined not in STOPWORDS
    return content
