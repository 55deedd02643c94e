# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Join each cleaned document with its candidate entities, their triples and relation names (CoGroupByKey).

The pipeline only wires: what each document asks for and how the answers are put together are the pure
functions of :mod:`aligners.candidates`.

Three joins, no side inputs (the DaskRunner mishandles them):

1. by entity IRI: seed requests (the document's link targets and subject) <- triples with that head and
   the entity's names -> :class:`SeedFacts` per (document, seed);
2. by IRI: name requests (the subject's one-hop neighbours, the relations and tails of seed triples)
   <- names -> :class:`NameGrant` per (document, IRI, role);
3. by document id: document + its seed facts + its name grants -> :class:`AlignInput`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam

from aligners.candidates import (
    AlignInput,
    NameGrant,
    NameRequest,
    SeedFacts,
    SeedRequest,
    assemble,
    grant_names,
    grant_seed_facts,
    name_requests,
    seed_requests,
)
from aligners.records import CleanedDocument
from kg.records import Names, Triple


def _key_doc(doc: CleanedDocument) -> tuple[str, CleanedDocument]:
    return doc.id, doc


# Records cross the three shuffles as plain tuples of primitives: Beam's FastPrimitivesCoder encodes those
# natively, while a NamedTuple falls back to pickling every element (and the DirectRunner decodes and
# re-encodes each one while grouping). The pure functions of aligners.candidates keep their NamedTuple interfaces.

PlainNames = tuple[str, str, tuple[str, ...]]
PlainTriple = tuple[str, str, str, bool, str, str]


def _names_of(plain: PlainNames | None) -> Names | None:
    return None if plain is None else Names._make(plain)


def _plain_facts(facts: SeedFacts) -> tuple[str, tuple[Any, ...]]:
    names = None if facts.names is None else tuple(facts.names)
    return facts.doc_id, (facts.doc_id, facts.iri, facts.is_subject, names, tuple(map(tuple, facts.triples)))


def _facts_of(plain: tuple[Any, ...]) -> SeedFacts:
    doc_id, iri, is_subject, names, triples = plain
    return SeedFacts(doc_id, iri, is_subject, _names_of(names), tuple(map(Triple._make, triples)))


def _plain_grant(grant: NameGrant) -> tuple[str, tuple[str, str, PlainNames]]:
    return grant.doc_id, (grant.doc_id, grant.role, tuple(grant.names))  # type: ignore[return-value]


def _grant_of(plain: tuple[str, str, PlainNames]) -> NameGrant:
    return NameGrant(plain[0], plain[1], Names._make(plain[2]))


def _plain_seed_requests(doc: CleanedDocument) -> Iterator[tuple[str, tuple[str, bool]]]:
    for iri, request in seed_requests(doc):
        yield iri, (request.doc_id, request.is_subject)


def _plain_triple(triple: Triple) -> tuple[str, PlainTriple]:
    return triple.head, tuple(triple)  # type: ignore[return-value]


def _plain_names(names: Names) -> tuple[str, PlainNames]:
    return names.iri, tuple(names)  # type: ignore[return-value]


def _plain_name_requests(facts: SeedFacts) -> Iterator[tuple[str, tuple[str, str]]]:
    for iri, request in name_requests(facts):
        yield iri, (request.doc_id, request.role)


def _join_seeds(group: tuple[str, Mapping[str, Iterable[Any]]]) -> Iterator[SeedFacts]:
    iri, parts = group
    return grant_seed_facts(
        (
            iri,
            {
                "requests": [SeedRequest._make(r) for r in parts["requests"]],
                "triples": [Triple._make(t) for t in parts["triples"]],
                "names": [Names._make(n) for n in parts["names"]],
            },
        )
    )


def _join_names(
    group: tuple[str, Mapping[str, Iterable[Any]]],
) -> Iterator[tuple[str, tuple[str, str, PlainNames]]]:
    iri, parts = group
    requests = [NameRequest._make(r) for r in parts["requests"]]
    names = [Names._make(n) for n in parts["names"]]
    return map(_plain_grant, grant_names((iri, {"requests": requests, "names": names})))


def _join_document(group: tuple[str, Mapping[str, Iterable[Any]]]) -> Iterator[AlignInput]:
    doc_id, parts = group
    seeds = [_facts_of(f) for f in parts["seeds"]]
    grants = [_grant_of(g) for g in parts["grants"]]
    return assemble((doc_id, {"doc": parts["doc"], "seeds": seeds, "grants": grants}))


class JoinCandidates(beam.PTransform[Any, Any]):
    """``(documents, triples, names)`` -> PCollection[AlignInput], one per document."""

    def __init__(self, triples: Any, names: Any, candidates: Any = None) -> None:
        """``candidates``: optional ``(IRI, (document id, False))`` requests from plain-text linking."""
        super().__init__()
        self.triples = triples
        self.names = names
        self.candidates = candidates

    def expand(self, docs: Any) -> Any:
        names_by_iri = self.names | "KeyNamesByIri" >> beam.Map(_plain_names)
        requests = docs | "SeedRequests" >> beam.FlatMap(_plain_seed_requests)
        if self.candidates is not None:
            requests = (requests, self.candidates) | "WithCandidates" >> beam.Flatten()
        facts = {
            "requests": requests,
            "triples": self.triples | "KeyTriplesByHead" >> beam.Map(_plain_triple),
            "names": names_by_iri,
        } | "JoinSeeds" >> beam.CoGroupByKey()
        seed_facts = facts | "SeedFacts" >> beam.FlatMap(_join_seeds)
        grants = (
            {
                "requests": seed_facts | "NameRequests" >> beam.FlatMap(_plain_name_requests),
                "names": names_by_iri,
            }
            | "JoinNames" >> beam.CoGroupByKey()
            | "GrantNames" >> beam.FlatMap(_join_names)
        )
        return (
            {
                "doc": docs | "KeyDocs" >> beam.Map(_key_doc),
                "seeds": seed_facts | "KeyFacts" >> beam.Map(_plain_facts),
                "grants": grants,
            }
            | "JoinByDocument" >> beam.CoGroupByKey()
            | "Assemble" >> beam.FlatMap(_join_document)
        )
