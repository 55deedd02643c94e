"""Which entities, facts and names a document needs, and how they become the aligner's input (pure).

A document's *seeds* are its link targets, its subject and the entities plain-text linking found for it
(:mod:`kgtext.aligners.lexicon_index`). :func:`gather` looks each seed up in the KG (its triples and names,
:func:`grant_seed_facts`), asks for the names of the relations and tails of those triples
(:func:`name_requests`, :func:`grant_names`), and puts it all together (:func:`assemble`): the
:class:`AlignInput` the aligner reads. The KG is any :class:`KgLookup`; the pipeline passes the
memory-mapped :class:`kgtext.aligners.kg_index.KgIndex` that phase 0 wrote. The grant functions take
``(key, {part: values})`` groups, the shape a join by key would deliver, and everything is sorted, so the
result does not depend on the order anything arrives in.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from kgtext.aligners.lexicon_index import Candidate, FoundCandidates
from kgtext.aligners.records import CleanedDocument
from kgtext.kg.lexicon import names_from_iri
from kgtext.kg.records import Names, Triple
from kgtext.kg.relations import wikidata_property_names


class SeedRequest(NamedTuple):
    """A document asks for the facts of one of its seed entities (a link target or its subject)."""

    doc_id: str
    is_subject: bool


class SeedFacts(NamedTuple):
    """What the KG says about one seed entity of one document."""

    doc_id: str
    iri: str
    is_subject: bool
    names: Names | None
    """None when the KG has no name for the entity."""
    triples: tuple[Triple, ...]
    """Triples whose head is the entity, sorted."""


class NameRole(enum.StrEnum):
    """Why a document needs the names of an IRI found in its seeds' triples."""

    NEIGHBOUR = "neighbour"
    """A one-hop neighbour of the document subject: a candidate entity."""
    RELATION = "relation"
    """A relation of a seed triple: its names find relation mentions (``spo``) and label UKTP rows."""
    TAIL = "tail"
    """The tail of a linked entity's triple: only its label is needed (UKTP)."""


class NameRequest(NamedTuple):
    doc_id: str
    role: NameRole


class NameGrant(NamedTuple):
    """The names of one requested IRI, delivered to the requesting document."""

    doc_id: str
    role: NameRole
    names: Names


class AlignInput(NamedTuple):
    """A cleaned document joined with everything the aligner needs."""

    doc: CleanedDocument
    entities: tuple[Names, ...]
    triples: tuple[Triple, ...]
    relations: tuple[Names, ...]
    labels: tuple[tuple[str, str], ...]
    """IRI -> display label of every known entity and relation of the document, sorted by IRI."""
    relation_iris: tuple[str, ...] = ()
    """Candidates the lexicon index knows as KG properties (their mentions get the kind ``relation``)."""


def seed_requests_iris(doc: CleanedDocument) -> set[str]:
    """The document's own seeds: its link targets and its subject (never dropped by a budget)."""
    return {iri for iri, _ in seed_requests(doc)}


def seed_requests(doc: CleanedDocument) -> Iterator[tuple[str, SeedRequest]]:
    """``(entity IRI, request)`` for each distinct link target and the subject of a document."""
    seeds = {link.entity for link in doc.links}
    if doc.subject:
        seeds.add(doc.subject)
    for iri in sorted(seeds):
        yield iri, SeedRequest(doc.id, iri == doc.subject)


def grant_seed_facts(group: tuple[str, Mapping[str, Iterable[Any]]]) -> Iterator[SeedFacts]:
    """One :class:`SeedFacts` per document that asked for this entity."""
    iri, parts = group
    requests = sorted(set(parts["requests"]))
    if not requests:
        return
    names = sorted(parts["names"])
    triples = tuple(sorted(set(parts["triples"])))
    for request in requests:
        yield SeedFacts(request.doc_id, iri, request.is_subject, names[0] if names else None, triples)


def name_requests(facts: SeedFacts) -> Iterator[tuple[str, NameRequest]]:
    """The IRIs whose names a document needs because of one of its seeds."""
    wanted: set[tuple[str, NameRole]] = set()
    for triple in facts.triples:
        wanted.add((triple.relation, NameRole.RELATION))
        if not triple.tail_is_literal:
            tail_role = NameRole.NEIGHBOUR if facts.is_subject else NameRole.TAIL
            wanted.add((triple.tail, tail_role))
    for iri, role in sorted(wanted):
        yield iri, NameRequest(facts.doc_id, role)


def relation_fallback(iri: str) -> Names:
    """Names of a relation the KG does not name: the shipped Wikidata table, else the IRI's local name."""
    return wikidata_property_names().get(iri) or names_from_iri(iri)


def grant_names(group: tuple[str, Mapping[str, Iterable[Any]]]) -> Iterator[NameGrant]:
    """One :class:`NameGrant` per (document, role) that asked for this IRI and can be served."""
    iri, parts = group
    requests = sorted(set(parts["requests"]))
    if not requests:
        return
    found = sorted(parts["names"])
    for request in requests:
        if found:
            yield NameGrant(request.doc_id, request.role, found[0])
        elif request.role == NameRole.RELATION:
            yield NameGrant(request.doc_id, request.role, relation_fallback(iri))


def assemble(group: tuple[str, Mapping[str, Iterable[Any]]]) -> Iterator[AlignInput]:
    """A document + its seed facts + its name grants -> the aligner's input (sorted, so deterministic)."""
    _, parts = group
    docs = list(parts["doc"])
    if not docs:
        return
    entities: dict[str, Names] = {}
    labels: dict[str, str] = {}
    triples: set[Triple] = set()
    relations: dict[str, Names] = {}
    for facts in parts["seeds"]:
        triples.update(facts.triples)
        if facts.names is not None:
            entities[facts.iri] = facts.names
            labels[facts.iri] = facts.names.label
    for grant in parts["grants"]:
        labels[grant.names.iri] = grant.names.label
        if grant.role == NameRole.RELATION:
            relations[grant.names.iri] = grant.names
        elif grant.role == NameRole.NEIGHBOUR:
            entities.setdefault(grant.names.iri, grant.names)
    yield AlignInput(
        doc=docs[0],
        entities=tuple(entities[k] for k in sorted(entities)),
        triples=tuple(sorted(triples)),
        relations=tuple(relations[k] for k in sorted(relations)),
        labels=tuple(sorted(labels.items())),
    )


class KgLookup(Protocol):
    """What :func:`gather` needs of the KG."""

    def facts(self, iris: Iterable[str]) -> Mapping[str, tuple[Triple, ...]]:
        """Sorted triples headed by each IRI (IRIs heading none may be left out)."""
        ...

    def names(self, iris: Iterable[str]) -> Mapping[str, Names]:
        """Names of each IRI (IRIs the KG does not name may be left out)."""
        ...


def keep_per_form(
    forms: Sequence[Sequence[tuple[str, int]]],
    candidates: Mapping[str, Candidate],
    facts: Mapping[str, Sequence[Triple]],
    per_form: int,
    sure: frozenset[str] = frozenset(),
    seeds: frozenset[str] = frozenset(),
) -> set[str]:
    """The candidates to drop so that each surface form (its ``(IRI, source)`` choices) keeps its
    ``per_form`` best entities; ``sure``: candidates the text also names by a form of their own, never dropped.

    A name shared by many entities (``Paris``, ``John Smith``) would otherwise bring every one of them, with
    their facts and their names, into the document's alignment: work that grows with the KG's ambiguity,
    not with the document. The ranking needs only the facts already fetched (their tails are each
    candidate's neighbours; nothing more is looked up):

    1. each form's provisional winner: the most neighbours among the document's other candidates, then a
       form that is the entity's label before one that is an alias, then the KG degree (the prior), then
       the IRI;
    2. the kept ones: the most neighbours among the other forms' provisional winners and the candidates
       no other entity shares a form with (collective: a neighbour the text names unambiguously counts),
       then label before alias, then the order of 1.
    A candidate is kept when any of its forms keeps it; ``per_form`` 0 keeps everything. ``seeds`` (link
    targets, the subject) are never dropped, count as sure neighbours and come first in their forms.
    """
    if per_form <= 0 or not forms:
        return set()
    present = set(candidates)
    neighbours: dict[str, set[str]] = {}
    for iri in present:
        for t in facts.get(iri, ()):
            if not t.tail_is_literal and t.tail != iri and t.tail in present:
                neighbours.setdefault(iri, set()).add(t.tail)
                neighbours.setdefault(t.tail, set()).add(iri)

    def first_rank(choice: tuple[str, int]) -> tuple[int, int, int, str]:
        iri, source = choice
        return (-len(neighbours.get(iri, ())), source, -candidates[iri].prior, iri)

    shared = {iri for form in forms for iri, _ in form} - sure - seeds
    confident = (present - shared) | {min(form, key=first_rank)[0] for form in forms}

    def second_rank(choice: tuple[str, int], others: set[str]) -> tuple[bool, int, int, int, int, str]:
        iri, source = choice
        edges, _, prior, _ = first_rank(choice)
        return (iri not in seeds, -len(neighbours.get(iri, set()) & others), source, edges, prior, iri)

    kept: set[str] = set()
    for form in forms:
        others = confident - {
            iri for iri, _ in form
        }  # a rival's edge to this form's own winner is no evidence
        ranked = sorted(form, key=functools.partial(second_rank, others=others))
        kept.update(iri for iri, _ in ranked[:per_form])
    return shared - kept


def gather(
    doc: CleanedDocument,
    candidates: Iterable[str],
    kg: KgLookup,
    relation_iris: Iterable[str] = (),
    *,
    found: FoundCandidates | None = None,
    per_form: int = 0,
) -> AlignInput:
    """The aligner's input for one document: its links, subject and ``candidates`` (plain-text linking)
    looked up in ``kg``, two look-ups in all (the seeds, then the names their triples ask for).
    ``relation_iris``: the candidates that are KG properties, passed on to the aligner. With ``found``
    (what plain-text linking found, ``candidates`` being its IRIs) and ``per_form``, a surface form shared
    by several entities keeps its ``per_form`` best (:func:`keep_per_form`) before any name is fetched."""
    requests = dict(seed_requests(doc))
    for iri in candidates:
        requests.setdefault(iri, SeedRequest(doc.id, False))
    facts = kg.facts(requests)
    if found is not None and per_form > 0:
        by_iri = {c.iri: c for c in found.candidates if not c.relation}
        entity_forms = [[c for c in form if c[0] in by_iri] for form in found.forms]
        # A form that names one entity besides relations names that entity alone: it is sure too.
        sure = found.sure | {form[0][0] for form in entity_forms if len(form) == 1}
        forms = [form for form in entity_forms if len(form) > 1]
        own = frozenset(seed_requests_iris(doc))
        dropped = keep_per_form(forms, by_iri, facts, per_form, sure, own)
        for iri in dropped - own:
            requests.pop(iri, None)
    names = kg.names(requests)
    seeds = [
        fact
        for iri in sorted(requests)
        for fact in grant_seed_facts(
            (
                iri,
                {
                    "requests": [requests[iri]],
                    "triples": facts.get(iri, ()),
                    "names": [names[iri]] if iri in names else [],
                },
            )
        )
    ]
    wanted: dict[str, list[NameRequest]] = {}
    for seed in seeds:
        for iri, request in name_requests(seed):
            wanted.setdefault(iri, []).append(request)
    granted = kg.names(wanted)
    grants = [
        grant
        for iri in sorted(wanted)
        for grant in grant_names(
            (iri, {"requests": wanted[iri], "names": [granted[iri]] if iri in granted else []})
        )
    ]
    found_input = next(assemble((doc.id, {"doc": [doc], "seeds": seeds, "grants": grants})))
    return found_input._replace(relation_iris=tuple(sorted(set(relation_iris))))
