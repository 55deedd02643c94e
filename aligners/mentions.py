"""Candidate names -> an Aho-Corasick matcher -> leftmost-longest, word-bounded mentions in a sentence.

One automaton is built per document from the names of its candidate entities (links, subject, the
subject's neighbourhood), the renderings of its literal tails (dates, numbers) and short forms of the
title. Matching runs on a same-length normalised copy of the sentence (case, quotes, dashes, ``_``), so
offsets index the original sentence. A name that contains an upper-case letter only matches a span with
at least one upper-case letter: lower-case "apple" is not the company.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import ahocorasick

from corpus.records import Mention
from corpus.schemas import MentionSource

from aligners.language import Language, normalise_name, normalise_same_length

_PARENTHETICAL = re.compile(r"\s*\([^()]*\)\s*$")
_WIKIDATA_ID = re.compile(r"^[QPL]\d+$")

SOURCE_RANK = {
    MentionSource.LINK.value: 0,
    MentionSource.LABEL.value: 1,
    MentionSource.DATE.value: 2,
    MentionSource.NUMBER.value: 2,
    MentionSource.ALIAS.value: 3,
    MentionSource.SUBJECT.value: 4,
}
"""When two candidates share a name, the lower rank wins (then the earlier candidate)."""


class Pattern(NamedTuple):
    """What a matched name stands for."""

    entity: str
    """IRI, or N-Triples literal term."""
    source: str
    """A :class:`corpus.schemas.MentionSource` value."""
    rank: int
    """Tie-break among entities sharing a name (``SOURCE_RANK``, then insertion order)."""
    cased: bool
    """The name has an upper-case letter, so the matched span must have one too."""


def name_variants(name: str) -> list[str]:
    """A name and its shortened forms: without a trailing ``(…)`` and before a ``, `` qualifier."""
    name = name.strip().strip("\"'")
    variants = [name]
    bare = _PARENTHETICAL.sub("", name)
    if bare and bare != name:
        variants.append(bare)
    head = bare.split(", ")[0]
    if head and head != bare:
        variants.append(head)
    for variant in list(variants):
        if "." in variant and variant.replace(".", "").strip():
            variants.append(variant.replace(".", ""))
    return variants


def needs_capital(name: str) -> bool:
    """True when a span must contain an upper-case letter to match ``name``.

    A multi-word name capitalised only at its first letter (DBpedia-style ``Shortcrust pastry``) matches
    in any case; so do names without capitals. Other capitalised names need a capital in the text.
    """
    if not any(c.isupper() for c in name):
        return False
    return " " not in name.strip() or any(c.isupper() for c in name[1:])


class NameIndex:
    """Collects ``name -> Pattern`` entries, then compiles one Aho-Corasick automaton."""

    def __init__(self, *, min_chars: int) -> None:
        self._min_chars = min_chars
        self._table: dict[str, list[tuple[int, int, Pattern]]] = {}
        self._order = 0

    def add(self, name: str, entity: str, source: str) -> None:
        """Register ``name`` for ``entity`` (ignored when too short or a bare Wikidata id)."""
        key = normalise_name(name)
        if len(key) < self._min_chars or _WIKIDATA_ID.match(name.strip()) or not any(c.isalnum() for c in key):
            return
        cased = source not in (MentionSource.DATE.value, MentionSource.NUMBER.value) and needs_capital(name)
        self._order += 1
        entries = self._table.setdefault(key, [])
        if any(p.entity == entity for _, _, p in entries):
            return
        entries.append((SOURCE_RANK[source], self._order, Pattern(entity, source, SOURCE_RANK[source], cased)))

    def add_names(self, label: str, aliases: Iterable[str], entity: str) -> None:
        """Register a label (and its variants, as aliases) and aliases (with their variants)."""
        for i, variant in enumerate(name_variants(label)):
            self.add(variant, entity, MentionSource.LABEL.value if i == 0 else MentionSource.ALIAS.value)
        for alias in aliases:
            for variant in name_variants(alias):
                self.add(variant, entity, MentionSource.ALIAS.value)

    def __len__(self) -> int:
        return len(self._table)

    def compile(self) -> ahocorasick.Automaton | None:
        """The automaton (value: ``(key length, patterns best first)``), or None when empty."""
        if not self._table:
            return None
        automaton = ahocorasick.Automaton()
        for key, entries in self._table.items():
            entries.sort(key=lambda e: (e[0], e[1]))
            automaton.add_word(key, (len(key), tuple(p for _, _, p in entries)))
        automaton.make_automaton()
        return automaton


def _pick(patterns: Sequence[Pattern], span: str) -> Pattern | None:
    span_cased = any(c.isupper() for c in span)
    for pattern in patterns:
        if span_cased or not pattern.cased:
            return pattern
    return None


def find_mentions(
    sentence: str,
    automaton: ahocorasick.Automaton | None,
    fixed: Sequence[Mention],
    language: Language,
    *,
    nested_literals: bool = True,
) -> list[Mention]:
    """Leftmost-longest, word-bounded, non-overlapping matches, around the ``fixed`` (link) mentions.

    With ``nested_literals``, a date or number inside a longer entity mention is added as well (the only
    case where mentions overlap: "2016" inside "2016 Summer Olympics").
    """
    taken = bytearray(len(sentence))
    for m in fixed:
        taken[m.start : m.end] = b"\x01" * (m.end - m.start)
    found: list[tuple[int, int, int, Pattern]] = []
    if automaton is not None:
        norm = normalise_same_length(sentence)
        for last, (length, patterns) in automaton.iter(norm):
            start, end = last - length + 1, last + 1
            if not language.is_boundary(norm, start, end):
                continue
            pattern = _pick(patterns, sentence[start:end])
            if pattern is not None:
                found.append((start, -(end - start), pattern.rank, pattern))
    found.sort(key=lambda f: (f[0], f[1], f[2]))
    result = list(fixed)
    skipped: list[Mention] = []
    last_end = 0
    for start, neg_len, _, pattern in found:
        end = start - neg_len
        if start < last_end or any(taken[start:end]):
            if nested_literals and pattern.source in _LITERAL_SOURCES:
                skipped.append(Mention(start, end, pattern.entity, pattern.source))
            continue
        result.append(Mention(start, end, pattern.entity, pattern.source))
        last_end = end
    if skipped:
        result += _nested(skipped, result)
    result.sort(key=lambda m: (m.start, m.end))
    return result


_LITERAL_SOURCES = (MentionSource.DATE.value, MentionSource.NUMBER.value)


def _nested(literals: Sequence[Mention], outer: Sequence[Mention]) -> list[Mention]:
    """Date/number matches strictly inside an entity mention ("2016" in "2016 Summer Olympics")."""
    hosts = [m for m in outer if m.source not in _LITERAL_SOURCES]
    added: list[Mention] = []
    for lit in literals:
        inside = any(h.start <= lit.start and lit.end <= h.end and (h.end - h.start) > (lit.end - lit.start) for h in hosts)
        if inside and all(lit.end <= a.start or a.end <= lit.start for a in added):
            added.append(lit)
    return added
