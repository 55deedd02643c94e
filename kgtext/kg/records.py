"""Typed records produced by kg/: triples, raw lexicon entries and resolved names."""

from __future__ import annotations

import enum
from typing import NamedTuple


class NameKind(enum.StrEnum):
    """What a naming statement names."""

    ENTITY = "entity"
    RELATION = "relation"
    """A property: its subject matches ``KgConfig.property_iri_pattern`` or is typed as a property."""


class Triple(NamedTuple):
    """One KG statement. ``tail`` is an IRI, or the lexical form of a literal when ``tail_is_literal``."""

    head: str
    relation: str
    tail: str
    tail_is_literal: bool
    datatype: str
    """Datatype IRI of a literal tail (``""`` for IRIs and plain literals)."""
    lang: str
    """Language tag of a literal tail (``""`` when none)."""


class LexiconEntry(NamedTuple):
    """One naming statement from the KG, before language preference is applied."""

    iri: str
    """Entity or property IRI (Wikidata properties in their canonical ``prop/direct`` form)."""
    kind: NameKind
    name: str
    is_preferred: bool
    """True for preferred-label predicates (rdfs:label, skos:prefLabel, ...), False for aliases."""
    lang: str
    """Language tag of the name (``""`` when none)."""


class Names(NamedTuple):
    """The resolved names of one entity or relation in the chosen language."""

    iri: str
    label: str
    """Preferred label; derived from the IRI local name when the KG gives none (``Alan_Bean`` -> ``Alan Bean``)."""
    aliases: tuple[str, ...]


class LinesRead(NamedTuple):
    """How many lines one read of a file (or of one byte range of it) went through; feeds ``kg.lines_read``."""

    file: str
    lines: int
    lost: int = 0
    """Lines of a whole-file syntax (Turtle, RDF/XML, ...) whose statements were skipped: rdflib could not
    parse them (``kg.lines_lost``); line formats reject line by line instead (``kg.rejected.<reason>``)."""
