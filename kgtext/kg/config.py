"""Configuration of KG ingestion: which predicates name things, which languages to prefer, how TSV ids expand."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kgtext.common.lines import DEFAULT_MAX_LINE_BYTES

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
SKOS_ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"
SCHEMA_NAME = "http://schema.org/name"
SCHEMA_ALTERNATE_NAME = "http://schema.org/alternateName"
SCHEMA_HTTPS_NAME = "https://schema.org/name"
SCHEMA_HTTPS_ALTERNATE_NAME = "https://schema.org/alternateName"
FOAF_NAME = "http://xmlns.com/foaf/0.1/name"

WIKIDATA_ENTITY = "http://www.wikidata.org/entity/"
WIKIDATA_PROP_DIRECT = "http://www.wikidata.org/prop/direct/"

# A property IRI recognisable from its shape alone (Wikidata properties in any of their namespaces).
DEFAULT_PROPERTY_IRI_PATTERN = r"^http://www\.wikidata\.org/(entity|prop(/[a-z-]+)?)/P\d+$"


@dataclass(frozen=True, kw_only=True, slots=True)
class KgConfig:
    """How KG files are turned into triples and lexicon entries."""

    preferred_label_predicates: tuple[str, ...] = (
        RDFS_LABEL,
        SKOS_PREF_LABEL,
        SCHEMA_NAME,
        SCHEMA_HTTPS_NAME,
        FOAF_NAME,
    )
    """Predicate IRIs whose literal objects are an entity's preferred label."""
    alias_predicates: tuple[str, ...] = (SKOS_ALT_LABEL, SCHEMA_ALTERNATE_NAME, SCHEMA_HTTPS_ALTERNATE_NAME)
    """Predicate IRIs whose literal objects are aliases."""
    languages: tuple[str, ...] = ("en", "")
    """Language preference, best first; ``""`` means untagged literals. Tags match by prefix (``en`` ~ ``en-gb``)."""
    property_iri_pattern: str = DEFAULT_PROPERTY_IRI_PATTERN
    """Regex: subjects matching it are relations (their names go to the relation lexicon)."""
    tsv_entity_prefix: str = WIKIDATA_ENTITY
    """Prefix that turns a bare TSV entity id (``Q42``) into an IRI."""
    tsv_relation_prefix: str = WIKIDATA_PROP_DIRECT
    """Prefix that turns a bare TSV relation id (``P31``) into an IRI."""
    max_rdflib_file_bytes: int = 512 * 1024 * 1024
    """Largest (decompressed) file, in bytes, handed to rdflib, which holds a whole file in memory."""
    rdflib_piece_bytes: int = 1024 * 1024
    """A larger Turtle, N3 or TriG file is parsed in pieces of about this many bytes cut at statement
    boundaries (its directives repeated in each), so rdflib holds one piece's graph, not the file's
    (docs/KG.md: a blank node label used in two pieces becomes two blank nodes)."""
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    """Longest line, in bytes, of a line-oriented file; a longer one is a ``too_large`` dead letter."""

    def __post_init__(self) -> None:
        if not self.preferred_label_predicates:
            raise ValueError("preferred_label_predicates must not be empty")
        overlap = set(self.preferred_label_predicates) & set(self.alias_predicates)
        if overlap:
            raise ValueError(f"alias_predicates overlaps preferred_label_predicates: {sorted(overlap)}")
        if not self.languages:
            raise ValueError("languages must not be empty (use ('',) for untagged only)")
        if any(lang != lang.strip() or " " in lang for lang in self.languages):
            raise ValueError(f"languages has a malformed tag: {self.languages!r}")
        try:
            re.compile(self.property_iri_pattern)
        except re.error as err:
            raise ValueError(f"property_iri_pattern is not a valid regex: {err}") from None
        if self.max_rdflib_file_bytes <= 0:
            raise ValueError(f"max_rdflib_file_bytes must be > 0, got {self.max_rdflib_file_bytes}")
        if self.rdflib_piece_bytes <= 0:
            raise ValueError(f"rdflib_piece_bytes must be > 0, got {self.rdflib_piece_bytes}")
        if self.max_line_bytes <= 0:
            raise ValueError(f"max_line_bytes must be > 0, got {self.max_line_bytes}")

    def label_kind(self, predicate: str) -> bool | None:
        """True for a preferred-label predicate, False for an alias predicate, None for anything else."""
        if predicate in self.preferred_label_predicates:
            return True
        if predicate in self.alias_predicates:
            return False
        return None


def canonical_property_iri(iri: str) -> str:
    """Wikidata's ``entity/Pn`` (where labels sit) -> ``prop/direct/Pn`` (what statements use)."""
    if iri.startswith(WIKIDATA_ENTITY) and iri[len(WIKIDATA_ENTITY) :][:1] == "P":
        local = iri[len(WIKIDATA_ENTITY) :]
        if local[1:].isdigit():
            return WIKIDATA_PROP_DIRECT + local
    return iri
