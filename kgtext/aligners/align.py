"""CleanedDocument + candidate names + KG triples -> AlignedDocument (sentences, mentions, triples).

Per document: one Aho-Corasick automaton over the candidates' names and literal renderings
(:mod:`kgtext.aligners.mentions`); the relations' matching keys. Per sentence: link mentions (fixed), then
leftmost-longest name matches, then subject references (a sentence-initial pronoun), then the triples
whose tail is mentioned: ``spo`` / ``allent`` when the head is mentioned too (``spo`` when a relation name
also occurs), ``nosub`` when the head is the document subject but not mentioned.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Sequence, Set
from typing import Any, NamedTuple

import ahocorasick
import numpy as np
import spacy
from spacy.attrs import IS_PUNCT, IS_SPACE

from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.language import Language, language_for, normalise_same_length
from kgtext.aligners.mentions import (
    SOURCE_WEIGHT,
    NameIndex,
    find_mentions,
    iri_label,
    label_from_iri,
    name_keys,
    name_variants,
    names_in,
)
from kgtext.aligners.records import PARAGRAPH_SEPARATOR, CleanedDocument, Link
from kgtext.corpus.records import AlignedDocument, AlignedSentence, AlignedTriple, Mention, Span
from kgtext.corpus.schemas import AlignmentLevel, MentionKind, MentionSource
from kgtext.corpus.stats import StatFamily, StatKey
from kgtext.kg.literals import literal_kind, literal_term, surface_forms
from kgtext.kg.records import Names, Triple

logger = logging.getLogger(__name__)


class _Prepared(NamedTuple):
    """Per-document matching state."""

    names: ahocorasick.Automaton | None
    relations: dict[str, Names]
    """Relation IRI -> its names (their keys are looked up only for triples with both ends mentioned)."""
    min_chars: int
    by_tail: dict[str, list[tuple[Triple, str]]]
    """Mention key of the tail -> (triple, tail key)."""
    support: dict[str, tuple[int, int]]
    """Candidate IRI -> (KG edges to the document's other candidates, facts it heads): :func:`coherence`."""


class _Sentence(NamedTuple):
    paragraph_index: int
    start: int
    """Offset of the sentence in the joined cleaned text."""
    text: str
    span: Any
    """The spaCy ``Span``."""
    words: int


@functools.lru_cache(maxsize=65_536)
def literal_key(lexical: str, datatype: str, lang: str) -> tuple[str, MentionSource, tuple[str, ...]]:
    """(entity key, mention source, surface forms) of a literal tail, rendered by kg/ (cached per worker)."""
    kind = literal_kind(datatype, lexical)
    source = MentionSource(kind) if kind is not None else MentionSource.LABEL
    return literal_term(lexical, datatype, lang), source, surface_forms(lexical, datatype, lang)


_SENTENCE_PUNCT = re.compile(r"[.!?\u3002\uff01\uff1f]")
"""Characters after which the sentencizer may start a new sentence (a subset of its ``punct_chars``)."""
_SENTENCE_END = re.compile(r"[a-z0-9)]{2}[.!?] ")
"""A likely sentence end for cutting long paragraphs (not after an initial such as "M.")."""


def _chunks(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """Cut ``text`` into pieces of at most ``limit`` characters: after a sentence end when the second half of
    the window has one, else at whitespace, else hard."""
    start = 0
    while len(text) - start > limit:
        low, high = start + limit // 2, start + limit
        ends = [m.end() for m in _SENTENCE_END.finditer(text, low, high)]
        cut = ends[-1] - 1 if ends else text.rfind(" ", low, high)
        cut = start + limit if cut < 0 else cut + 1
        yield start, text[start:cut]
        start = cut
    yield start, text[start:]


@functools.lru_cache(maxsize=65_536)
def relation_keys(names: Names, min_chars: int) -> tuple[str, ...]:
    """Matching keys of a relation's label, aliases and their variants (cached per worker)."""
    return tuple(key for name in (names.label, *names.aliases) for key, _, _ in name_keys(name, min_chars))


_CAPITALISED_WORD = re.compile(r"^[A-Z][a-z]{2,}$")


def short_forms(names: Sequence[str]) -> list[str]:
    """Short forms of the subject's names (T-REx NoSub heuristic): the last word of a 2-4 word name
    whose words are all capitalised ("Alan Shepard" -> "Shepard"; not "Acharya Institute of Technology")."""
    forms = []
    for name in names:
        words = name_variants(name)[-1].split()
        if (
            2 <= len(words) <= 4
            and all(w[:1].isupper() for w in words)
            and _CAPITALISED_WORD.match(words[-1])
        ):
            forms.append(words[-1])
    return forms


def coherence(entities: Sequence[Names], triples: Sequence[Triple]) -> dict[str, tuple[int, int]]:
    """Per candidate entity: (distinct other candidates it shares a KG triple with, triples it heads)."""
    present = {n.iri for n in entities}
    neighbours: dict[str, set[str]] = {}
    facts: dict[str, int] = {}
    for t in triples:
        facts[t.head] = facts.get(t.head, 0) + 1
        if not t.tail_is_literal and t.head != t.tail and t.head in present and t.tail in present:
            neighbours.setdefault(t.head, set()).add(t.tail)
            neighbours.setdefault(t.tail, set()).add(t.head)
    return {iri: (len(neighbours.get(iri, ())), facts.get(iri, 0)) for iri in present}


GROUNDED_EVIDENCE = 0.9
"""Evidence of a subject's KG neighbour (a link target or the subject itself has 1)."""
LEXICON_EVIDENCE = (0.3, 0.6)
"""Evidence of an entity found only through the KG lexicon: ``base + gain * e / (e + 1)`` for ``e`` KG edges to
the document's other candidates (0.3 alone, 0.6 with one edge, 0.7 with two, towards 0.9)."""


def evidence(iri: str, linked: set[str], subject: str, grounded: set[str], edges: int) -> float:
    """How well a document supports a candidate entity, in ``[0, 1]`` (one factor of a mention's
    confidence; the other is the name's share among the candidates sharing it, :mod:`kgtext.aligners.mentions`)."""
    if iri in linked or (subject and iri == subject):
        return 1.0
    if iri in grounded:
        return GROUNDED_EVIDENCE
    base, gain = LEXICON_EVIDENCE
    return base + gain * edges / (edges + 1)


def anchored(entities: Sequence[Names], triples: Sequence[Triple], grounded: set[str]) -> list[Names]:
    """The candidates worth matching. With grounded evidence (links, a subject and its neighbours), an
    entity found only through the lexicon is kept when a KG triple ties it to a grounded entity: a name
    the document's own entities do not vouch for would otherwise take spans from them. Without any,
    every candidate is kept (coherence then ranks entities sharing a name)."""
    if not grounded:
        return list(entities)
    tied = set(grounded)
    for t in triples:
        if not t.tail_is_literal and (t.head in grounded or t.tail in grounded):
            tied.update((t.head, t.tail))
    return [n for n in entities if n.iri in tied]


def infer_topic(mentions: Sequence[Mention], support: dict[str, tuple[int, int]], min_edges: int) -> str:
    """The entity a document without a subject is about: among its mentioned entities, the one with the
    most KG edges to the document's other candidates (at least ``min_edges``), then the most mentions, then the
    earliest; ``""`` when none qualifies. It feeds the ``nosub`` level as a given subject would."""
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for position, mention in enumerate(mentions):
        if mention.source in (MentionSource.DATE, MentionSource.NUMBER):
            continue
        counts[mention.entity] = counts.get(mention.entity, 0) + 1
        first.setdefault(mention.entity, position)
    ranked = sorted(counts, key=lambda e: (-support.get(e, (0, 0))[0], -counts[e], first[e]))
    if not ranked or support.get(ranked[0], (0, 0))[0] < min_edges:
        return ""
    return ranked[0]


class Aligner:
    """Splits, matches and aligns documents; loads spaCy once (build one per worker)."""

    def __init__(self, config: AlignerConfig) -> None:
        self.config = config
        self.language: Language = language_for(config.language)
        if config.spacy_model is None:
            self.nlp = spacy.blank(self.language.code)
        else:
            self.nlp = spacy.load(config.spacy_model)
        if not any(self.nlp.has_pipe(n) for n in ("parser", "senter", "sentencizer")):
            self.nlp.add_pipe("sentencizer")
        self.nlp.max_length = max(self.nlp.max_length, config.max_chunk_chars + 1)
        self._noun_chunks = self.nlp.has_pipe("parser")

    def _prepare(
        self,
        doc: CleanedDocument,
        entities: Sequence[Names],
        triples: Sequence[Triple],
        relations: Sequence[Names],
    ) -> _Prepared:
        index = NameIndex(min_chars=self.config.min_name_chars, text=doc.text())
        linked = {link.entity for link in doc.links}
        grounded = linked | {doc.subject} | {t.tail for t in triples if t.head == doc.subject}
        if len(entities) > self.config.max_candidates:
            logger.warning(
                "%s: %d candidate entities, keeping %d", doc.id, len(entities), self.config.max_candidates
            )
            # Keep the best-supported ones (links, the subject, its KG neighbours; then input order), not
            # whichever came first: a link target past the bound would otherwise lose its own span.
            entities = sorted(
                entities, key=lambda n: (n.iri not in linked, n.iri != doc.subject, n.iri not in grounded)
            )[: self.config.max_candidates]
        kept = anchored(entities, triples, grounded - {""})
        support = coherence(kept, triples)
        # Entities sharing a name: a link wins, then the subject and its KG neighbours (the strongest
        # evidence when a document has them), then the entity with the most KG edges to the document's other
        # candidates (TAGME-style voting), then the one with more facts (the KG prior).
        ordered = sorted(
            kept,
            key=lambda n: (
                n.iri not in linked,
                n.iri != doc.subject,
                n.iri not in grounded,
                -support.get(n.iri, (0, 0))[0],
                -support.get(n.iri, (0, 0))[1],
            ),
        )
        for names in ordered:
            local = iri_label(names.iri)
            from_iri = label_from_iri(names.label, names.iri)
            aliases = names.aliases
            if not from_iri and any(c.isalpha() for c in local) and "://" not in local:
                # The IRI local name is one more alias (``ex:St_Andrews_College``); Q-ids are skipped.
                aliases = (*aliases, local)
            edges = support.get(names.iri, (0, 0))[0]
            weight = evidence(names.iri, linked, doc.subject, grounded, edges)
            index.add_names(names.label, aliases, names.iri, label_from_iri=from_iri, evidence=weight)
        if doc.subject and doc.title:
            index.add_names(doc.title, (), doc.subject)
        if doc.subject and self.config.subject_short_title:
            subject_names = [n.label for n in ordered if n.iri == doc.subject] + [doc.title]
            for short in short_forms(subject_names):
                index.add(short, doc.subject, MentionSource.SUBJECT)
        by_tail: dict[str, list[tuple[Triple, str]]] = {}
        for triple in triples:
            if triple.tail_is_literal:
                key, source, forms = literal_key(triple.tail, triple.datatype, triple.lang)
                for form in forms:
                    index.add(form, key, source)
            else:
                key = triple.tail
            by_tail.setdefault(key, []).append((triple, key))
        relation_names = {n.iri: n for n in relations}
        return _Prepared(index.compile(), relation_names, self.config.min_name_chars, by_tail, support)

    def _sentences(self, doc: CleanedDocument) -> Iterator[_Sentence]:
        """Yield the document's sentences in order (empty ones skipped)."""
        offset = 0
        links = sorted(doc.links)
        for p_index, paragraph in enumerate(doc.paragraphs):
            for c_off, chunk in _chunks(paragraph, self.config.max_chunk_chars):
                base = offset + c_off
                sdoc = self.nlp.make_doc(chunk)
                for link in links:
                    # Only a link holding sentence-final punctuation ("St. Andrews") can be split.
                    inside = base <= link.start and link.end <= base + len(chunk)
                    if inside and _SENTENCE_PUNCT.search(chunk, link.start - base, link.end - base):
                        span = sdoc.char_span(link.start - base, link.end - base, alignment_mode="expand")
                        for token in span[1:] if span is not None else ():
                            token.is_sent_start = False
                for _, proc in self.nlp.pipeline:
                    sdoc = proc(sdoc)
                # (n_tokens,) True for punctuation and whitespace tokens: word counts without Token objects.
                nonword = np.asarray(sdoc.to_array([IS_PUNCT, IS_SPACE]).any(axis=1), dtype=np.bool_)
                for sent in sdoc.sents:
                    # Slicing the chunk, not Span.text, which builds a Python Token per token.
                    text = chunk[sent.start_char : sent.end_char]
                    if text.strip():
                        words = self.language.count_words(nonword[sent.start : sent.end])
                        yield _Sentence(p_index, base + sent.start_char, text, sent, words)
            offset += len(paragraph) + len(PARAGRAPH_SEPARATOR)

    def align(
        self,
        doc: CleanedDocument,
        entities: Sequence[Names],
        triples: Sequence[Triple],
        relations: Sequence[Names],
        relation_iris: Iterable[str] = (),
    ) -> AlignedDocument:
        """Align one cleaned document against its candidate entities, triples and relation names.

        ``relation_iris``: candidates known to be KG properties (from the lexicon index); they and the
        relations of ``triples`` give mentions the kind ``relation`` (:func:`mention_kind`)."""
        prepared = self._prepare(doc, entities, triples, relations)
        properties = frozenset(relation_iris) | {n.iri for n in relations} | {t.relation for t in triples}
        links = sorted(doc.links)
        found: list[tuple[_Sentence, list[Mention]]] = []
        threshold, below = self.config.min_mention_confidence, 0
        for sentence in self._sentences(doc):
            start, text = sentence.start, sentence.text
            fixed = [
                Mention(k.start - start, k.end - start, k.entity, MentionSource.LINK)
                for k in _inside(links, start, start + len(text))
            ]
            mentions = find_mentions(
                text, prepared.names, fixed, self.language, nested_literals=self.config.nested_literals
            )
            if threshold > 0:
                kept = [m for m in mentions if m.confidence >= threshold]
                below += len(mentions) - len(kept)
                mentions = kept
            found.append((sentence, mentions))
        topic = doc.subject
        if not topic and self.config.infer_topic:
            topic = infer_topic(
                [m for _, ms in found for m in ms], prepared.support, self.config.topic_min_edges
            )
        named = [any(m.entity == topic for m in ms) for _, ms in found]
        window = self.config.topic_window
        sentences: list[AlignedSentence] = []
        for index, ((p_index, _, text, sent, words), mentions) in enumerate(found):
            # A given subject holds for the whole document; an inferred topic only in a sentence that names
            # it and the ``topic_window`` sentences after (later sentences are often about something else).
            near = any(named[max(0, index - window) : index + 1])
            subject = topic if doc.subject or near else ""
            mentions = self._subject_reference(mentions, sent, subject, given=bool(doc.subject))
            mentions = [m._replace(kind=mention_kind(m.entity, properties)) for m in mentions]
            aligned = align_triples(mentions, text, prepared, subject, self.language)
            phrases = self._phrases(sent)
            passes = words >= self.config.min_sentence_words
            sentences.append(
                AlignedSentence(doc.id, p_index, index, text, tuple(mentions), aligned, phrases, passes)
            )
        return AlignedDocument(doc.id, doc.title, topic, tuple(sentences), below)

    def _subject_reference(
        self, mentions: list[Mention], sent: Any, subject: str, *, given: bool
    ) -> list[Mention]:
        """Add a sentence-initial pronoun as a mention of the document subject (source ``subject``) or, when
        the subject was inferred, of its topic (source ``topic``)."""
        if not (subject and self.config.subject_pronouns) or not len(sent):
            return mentions
        first = sent[0]
        if first.text.lower() not in self.language.subject_pronouns:
            return mentions
        if mentions and mentions[0].start < len(first.text):
            return mentions
        source = MentionSource.SUBJECT if given else MentionSource.TOPIC
        confidence = SOURCE_WEIGHT[source]
        if confidence < self.config.min_mention_confidence:
            return mentions
        return [Mention(0, len(first.text), subject, source.value, confidence), *mentions]

    def _phrases(self, sent: Any) -> tuple[Span, ...]:
        if not self._noun_chunks:
            return ()
        base = sent.start_char
        return tuple(Span(c.start_char - base, c.end_char - base) for c in sent.noun_chunks)


def mention_kind(entity: str, properties: Set[str]) -> str:
    """``literal`` for an N-Triples literal term, ``relation`` for a KG property, else ``entity``."""
    if entity.startswith('"'):
        return MentionKind.LITERAL.value
    return MentionKind.RELATION.value if entity in properties else MentionKind.ENTITY.value


def _inside(links: Sequence[Link], start: int, end: int) -> list[Link]:
    return [k for k in links if start <= k.start and k.end <= end]


def align_triples(
    mentions: Sequence[Mention], text: str, prepared: _Prepared, subject: str, language: Language
) -> tuple[AlignedTriple, ...]:
    """The triples a sentence expresses, best level per triple, in (head, relation, tail) order."""
    mentioned = {m.entity for m in mentions}
    levels: dict[tuple[str, str, str, bool], AlignmentLevel] = {}
    norm: str | None = None
    for key in mentioned:
        for triple, _ in prepared.by_tail.get(key, ()):
            if triple.head == key:
                continue
            if triple.head in mentioned:
                if norm is None:
                    norm = normalise_same_length(text)
                names = prepared.relations.get(triple.relation)
                keys = relation_keys(names, prepared.min_chars) if names is not None else ()
                named = names_in(norm, keys, language)
                level = AlignmentLevel.SPO if named else AlignmentLevel.ALLENT
            elif subject and triple.head == subject:
                level = AlignmentLevel.NOSUB
            else:
                continue
            ident = (triple.head, triple.relation, triple.tail, triple.tail_is_literal)
            if ident not in levels or _LEVEL_ORDER[level] < _LEVEL_ORDER[levels[ident]]:
                levels[ident] = level
    return tuple(AlignedTriple(h, r, t, lit, levels[(h, r, t, lit)].value) for h, r, t, lit in sorted(levels))


_LEVEL_ORDER = {AlignmentLevel.SPO: 0, AlignmentLevel.ALLENT: 1, AlignmentLevel.NOSUB: 2}


def document_stats(doc: AlignedDocument) -> dict[str, int]:
    """Counters for the manifest, all under ``aligned.``: ``documents``, ``sentences`` (all), ``sentences.short``
    (below the word minimum), and ``mentions.<source>`` / ``triples.<level>`` over the sentences that pass the
    filter (those written to ``aligned/``), ``relation_mentions`` (those of them whose kind is ``relation``:
    counted apart, they are also in ``mentions.<source>``), ``mentions.below_threshold`` (dropped by
    confidence, all sentences), and whether the document got any (``documents.with_mentions``,
    ``documents.with_triples``). Keys: :class:`kgtext.corpus.stats.StatKey` and ``StatFamily``."""
    mentions, triples = StatFamily.ALIGNED_MENTIONS, StatFamily.ALIGNED_TRIPLES
    counts: dict[str, int] = {
        StatKey.ALIGNED_DOCUMENTS.value: 1,
        StatKey.ALIGNED_SENTENCES.value: len(doc.sentences),
        StatKey.ALIGNED_SENTENCES_SHORT.value: 0,
        StatKey.ALIGNED_RELATION_MENTIONS.value: 0,
    }
    for source in MentionSource:
        counts[mentions.key(source.value)] = 0
    for level in AlignmentLevel:
        counts[triples.key(level.value)] = 0
    for sent in doc.sentences:
        if not sent.passes_filter:
            counts[StatKey.ALIGNED_SENTENCES_SHORT.value] += 1
            continue
        for mention in sent.mentions:
            counts[mentions.key(mention.source)] += 1
            counts[StatKey.ALIGNED_RELATION_MENTIONS.value] += mention.kind == MentionKind.RELATION
        for triple in sent.triples:
            counts[triples.key(triple.level)] += 1
    counts[StatKey.ALIGNED_MENTIONS_BELOW_THRESHOLD.value] = doc.below_threshold
    counts[StatKey.ALIGNED_DOCUMENTS_WITH_MENTIONS.value] = int(mentions.total(counts, MentionSource) > 0)
    counts[StatKey.ALIGNED_DOCUMENTS_WITH_TRIPLES.value] = int(triples.total(counts, AlignmentLevel) > 0)
    return counts
