"""Candidate names -> an Aho-Corasick matcher -> leftmost-longest, word-bounded mentions in a sentence.

One automaton is built per document from the names of its candidate entities (links, subject, the
subject's neighbourhood), the renderings of its literal tails (dates, numbers) and short forms of the
title. Matching runs on a same-length normalised copy of the sentence (case, quotes, dashes, ``_``), so
offsets index the original sentence. A name that contains an upper-case letter only matches a span with
at least one upper-case letter: lower-case "apple" is not the company.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import ahocorasick

from kgtext.aligners.language import Language, english_plural, normalise_name, normalise_same_length
from kgtext.corpus.records import Mention
from kgtext.corpus.schemas import MentionSource
from kgtext.kg.lexicon import names_from_iri

_PARENTHETICAL = re.compile(r"\s*\([^()]*\)\s*$")
_WIKIDATA_ID = re.compile(r"^[QPL]\d+$")
_CATEGORY = re.compile(r"^([A-Z][a-z]+(?:ish|ese|an|ch|ic|i|ek|ai|il)) (?:language|people)$")
"""DBpedia/Wikipedia titles that qualify a nationality word by its category: "English language" is also
written "English", "Japanese people" "Japanese" (English titles; the variant counts as an alias). The word
must end like a nationality adjective, so "Sign language" keeps its whole name."""

_LABEL = MentionSource.LABEL
_ALIAS = MentionSource.ALIAS
_LITERAL_SOURCES = (MentionSource.DATE, MentionSource.NUMBER)

SOURCE_RANK = {
    MentionSource.LINK: 0,
    MentionSource.LABEL: 1,
    MentionSource.DATE: 2,
    MentionSource.NUMBER: 2,
    MentionSource.ALIAS: 3,
    MentionSource.SUBJECT: 4,
}
"""When two candidates share a name, the lower rank wins (then the earlier candidate)."""
NUMERIC_NAME_RANK = 5
"""Rank of an entity name without a letter: after every literal, link and subject reference."""

SOURCE_WEIGHT = {
    MentionSource.LINK: 1.0,
    MentionSource.LABEL: 1.0,
    MentionSource.DATE: 1.0,
    MentionSource.NUMBER: 1.0,
    MentionSource.ALIAS: 0.9,
    MentionSource.SUBJECT: 0.8,
    MentionSource.TOPIC: 0.5,
}
"""How much a name of each kind says about its entity (one factor of a mention's confidence)."""
NUMERIC_NAME_WEIGHT = 0.5
"""Weight of an entity name without a letter ("2010" naming a year entity)."""


class Pattern(NamedTuple):
    """What a matched name stands for."""

    entity: str
    """IRI, or N-Triples literal term."""
    source: MentionSource
    rank: int
    """Tie-break among entities sharing a name (``SOURCE_RANK``, then insertion order)."""
    cased: bool
    """The name has an upper-case letter, so the matched span must have one too."""
    score: float
    """The entity's evidence in the document times the name's :data:`SOURCE_WEIGHT`, in ``[0, 1]``."""


def name_variants(name: str) -> list[str]:
    """A name and its shortened forms: without a trailing ``(…)``, before a ``, `` qualifier, without a
    category word (:data:`_CATEGORY`), without periods."""
    name = name.strip().strip("\"'")
    variants = [name]
    bare = _PARENTHETICAL.sub("", name)
    if bare and bare != name:
        variants.append(bare)
    head = bare.split(", ")[0]
    if head and head != bare:
        variants.append(head)
    category = _CATEGORY.match(head)
    if category:
        variants.append(category.group(1))
    for variant in list(variants):
        if "." in variant and variant.replace(".", "").strip():
            variants.append(variant.replace(".", ""))
    return variants


def needs_capital(name: str, *, from_iri: bool = False) -> bool:
    """True when a span must contain an upper-case letter to match ``name``.

    Names without capitals match in any case, and so does a multi-word name capitalised only at its first
    letter (``Shortcrust pastry``). A single capitalised word (``Apple``) needs a capital in the text, unless
    the name was derived from an IRI local name (``from_iri``: ``dbr:Bacon``), whose first letter carries
    no information. A name with a later capital (``Alba Iulia``, ``AIDS``) always needs one.
    """
    if name == name.lower() or len(name.split()) >= LONG_NAME_WORDS:
        return False
    if from_iri or " " in name.strip():
        return name[1:] != name[1:].lower()
    return True


@functools.lru_cache(maxsize=262_144)
def iri_label(iri: str) -> str:
    """The label kg/ derives from an IRI's local name (cached per worker)."""
    return names_from_iri(iri).label


def label_from_iri(label: str, iri: str) -> bool:
    """Whether ``label`` is only the IRI's local name (``dbr:Bacon`` -> "Bacon"), not a name the KG gives."""
    return label == iri_label(iri)


_ALNUM = re.compile(r"[^\W_]")
LONG_NAME_WORDS = 3
"""A name of this many words or more matches in any case: few common phrases spell a long name."""
_NOUN = re.compile(r"^[A-Za-z][a-z]{2,}$")


@functools.lru_cache(maxsize=262_144)
def name_keys(name: str, min_chars: int, from_iri: bool = False) -> tuple[tuple[str, bool, bool], ...]:
    """``(matching key, needs a capital, is the name itself)`` for a name and its variants (cached per worker).

    Names shorter than ``min_chars``, without a letter or digit, or bare Wikidata ids are left out. A
    one-word name derived from an IRI (``from_iri``) also gets its English plural.
    """
    keys = []
    variants = name_variants(name)
    if from_iri and _NOUN.match(variants[-1]) and not variants[-1].endswith("s"):
        # A DBpedia-style title names the singular ("Cookie"); the text often has the plural ("Cookies").
        variants.append(english_plural(variants[-1]))
    for i, variant in enumerate(variants):
        key = normalise_name(variant)
        if len(key) >= min_chars and _ALNUM.search(key) and not _WIKIDATA_ID.match(variant):
            keys.append((key, needs_capital(variant, from_iri=from_iri), i == 0))
    return tuple(keys)


def _fold_sigma(text: str) -> str:
    """Final sigma as sigma: ``str.lower`` picks one by context, which a sentence and its whole document
    may not share at their edges (the only context-dependent lower-casing Python does)."""
    return text.replace("ς", "σ")


class NameIndex:
    """Collects ``name -> Pattern`` entries, then compiles one Aho-Corasick automaton."""

    def __init__(self, *, min_chars: int, text: str | None = None) -> None:
        """``text``: the document the automaton will run over, when known. A name whose key does not occur
        in it cannot match, so it is left out: the automaton holds what the document can use, however many
        names the KG gives its candidates (a name shared by many entities, each with many aliases)."""
        self._min_chars = min_chars
        self._table: dict[str, list[tuple[int, int, Pattern]]] = {}
        self._seen: set[tuple[str, str]] = set()
        self._text = None if text is None else _fold_sigma(normalise_same_length(text))
        self._present: dict[str, bool] = {}

    def _occurs(self, key: str) -> bool:
        if self._text is None:
            return True
        present = self._present.get(key)
        if present is None:
            present = self._present[key] = _fold_sigma(key) in self._text
        return present

    def _put(self, key: str, entity: str, source: MentionSource, cased: bool, evidence: float) -> None:
        if (key, entity) in self._seen or not self._occurs(key):
            return
        self._seen.add((key, entity))
        rank = SOURCE_RANK[source]
        weight = SOURCE_WEIGHT[source]
        if source not in _LITERAL_SOURCES and not any(ch.isalpha() for ch in key):
            # An entity named by a number or a date ("2010", the year) yields to the literal of that span.
            rank, weight = NUMERIC_NAME_RANK, NUMERIC_NAME_WEIGHT
        pattern = Pattern(entity, source, rank, cased, evidence * weight)
        self._table.setdefault(key, []).append((rank, len(self._seen), pattern))

    def add(self, name: str, entity: str, source: MentionSource, *, evidence: float = 1.0) -> None:
        """Register ``name`` (as written, no variants) for ``entity``; dates and numbers match in any case.

        ``evidence`` in ``[0, 1]`` is how well the document supports ``entity`` (see :class:`Pattern`)."""
        literal = source in _LITERAL_SOURCES
        for key, cased, first in name_keys(name, self._min_chars):
            if first:
                self._put(key, entity, source, cased and not literal, evidence)

    def add_names(
        self,
        label: str,
        aliases: Iterable[str],
        entity: str,
        *,
        label_from_iri: bool = False,
        evidence: float = 1.0,
    ) -> None:
        """Register a label (its variants as aliases) and aliases (with their variants)."""
        for key, cased, first in name_keys(label, self._min_chars, label_from_iri):
            self._put(key, entity, _LABEL if first else _ALIAS, cased, evidence)
        for alias in aliases:
            for key, cased, _ in name_keys(alias, self._min_chars):
                self._put(key, entity, _ALIAS, cased, evidence)

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


def _pick(patterns: Sequence[Pattern], span: str) -> tuple[Pattern, float] | None:
    """The best pattern that may match ``span`` and its confidence: its score times its share of the scores
    of every pattern that may match it (TAGME-style: a name shared by equally supported entities is a coin
    toss), rounded to 3 places."""
    span_cased = span != span.lower()
    usable = [p for p in patterns if span_cased or not p.cased]
    if not usable:
        return None
    best = usable[0]
    rival = max((p.score for p in usable[1:] if p.entity != best.entity), default=0.0)
    share = best.score / (best.score + rival) if best.score + rival > 0 else 1.0
    return best, round(best.score * share, 3)


def names_in(norm: str, keys: Iterable[str], language: Language) -> bool:
    """True when one of the matching ``keys`` occurs in the normalised text ``norm`` on word boundaries."""
    for key in keys:
        at = norm.find(key)
        while at >= 0:
            if language.is_boundary(norm, at, at + len(key)):
                return True
            at = norm.find(key, at + 1)
    return False


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
    found: list[tuple[int, int, int, Pattern, float]] = []
    if automaton is not None:
        norm = normalise_same_length(sentence)
        for last, (length, patterns) in automaton.iter(norm):
            start, end = last - length + 1, last + 1
            if not language.is_boundary(norm, start, end):
                continue
            picked = _pick(patterns, sentence[start:end])
            if picked is not None:
                found.append((start, -(end - start), picked[0].rank, *picked))
    found.sort(key=lambda f: (f[0], f[1], f[2]))
    result = list(fixed)
    skipped: list[Mention] = []
    last_end = 0
    for start, neg_len, _, pattern, confidence in found:
        end = start - neg_len
        mention = Mention(start, end, pattern.entity, pattern.source, confidence)
        if start < last_end or any(taken[start:end]):
            if nested_literals and pattern.source in _LITERAL_SOURCES:
                skipped.append(mention)
            continue
        result.append(mention)
        last_end = end
    if skipped:
        result += _nested(skipped, result)
    result.sort(key=lambda m: (m.start, m.end))
    return result


def _nested(literals: Sequence[Mention], outer: Sequence[Mention]) -> list[Mention]:
    """Date/number matches strictly inside an entity mention ("2016" in "2016 Summer Olympics")."""
    hosts = [m for m in outer if m.source not in _LITERAL_SOURCES]
    added: list[Mention] = []
    for lit in literals:
        inside = any(
            h.start <= lit.start and lit.end <= h.end and (h.end - h.start) > (lit.end - lit.start)
            for h in hosts
        )
        if inside and all(lit.end <= a.start or a.end <= lit.start for a in added):
            added.append(lit)
    return added
