"""Plain-text linking under ambiguity: a name shared by many entities keeps its best candidates (issue 29).

The names and facts are Re-DocRED dev document 101's ("Paris" ... "France", P17 country), replicated the way
bench/ambiguity.py replicates the whole set: fresh IRIs per replica, every replica's entity also named by
the other replicas' names, so each name is shared by eight entities whose facts differ only in their IRIs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from kgtext.aligners.candidates import gather, keep_per_form
from kgtext.aligners.lexicon_index import (
    ALIAS,
    LABEL,
    Candidate,
    LexiconIndex,
    encode_index_shard,
    find_candidates,
    form_entries,
)
from kgtext.aligners.records import CleanedDocument
from kgtext.kg.records import Names, Triple

P17 = "http://www.wikidata.org/prop/direct/P17"
TEXT = "It was released in Paris , France on 2 March 2012 ."
REPLICAS = 8


def _iri(name: str, replica: int) -> str:
    return f"urn:redocred:dev:101:name:{name}:r{replica}"


def _facts() -> dict[str, tuple[Triple, ...]]:
    return {
        _iri("Paris", r): (Triple(_iri("Paris", r), P17, _iri("France", r), False, "", ""),)
        for r in range(REPLICAS)
    }


def _names(own: int) -> list[Names]:
    """Replica ``own`` names its entities by label; the other replicas' entities carry the name as an alias."""
    out = []
    for r in range(REPLICAS):
        for name in ("Paris", "France"):
            out.append(
                Names(_iri(name, r), name if r == own else f"{name} r{r}", () if r == own else (name,))
            )
    return out


def _index(tmp_path: Path, names: Iterable[Names]) -> LexiconIndex:
    entries = [e for n in names for e in form_entries(n, 1, 2, 8)]
    data, dropped = encode_index_shard(entries, 256)
    assert dropped == 0
    path = tmp_path / "forms-00000-of-00001.arrow"
    path.write_bytes(data)
    return LexiconIndex([str(path)])


def test_a_name_shared_by_eight_entities_keeps_the_one_the_text_supports(tmp_path: Path) -> None:
    found = find_candidates(TEXT, _index(tmp_path, _names(own=3)), 8)
    assert len(found.candidates) == 2 * REPLICAS and found.sure == frozenset()
    paris = next(form for form in found.forms if form[0][0].endswith("Paris:r0"))
    assert dict(paris) == {_iri("Paris", r): LABEL if r == 3 else ALIAS for r in range(REPLICAS)}
    candidates = {c.iri: c for c in found.candidates}
    dropped = keep_per_form(found.forms, candidates, _facts(), 1)
    kept = set(candidates) - dropped
    assert kept == {_iri("Paris", 3), _iri("France", 3)}
    assert keep_per_form(found.forms, candidates, _facts(), 0) == set()
    assert keep_per_form(found.forms, candidates, _facts(), 2) == dropped - {
        _iri("Paris", 0),
        _iri("France", 0),
    }


def test_a_neighbour_named_unambiguously_decides_between_alias_matches() -> None:
    """Every "Paris" is only an alias match; the one whose country the text names unambiguously wins, and a
    candidate the text also names by a form of its own (``sure``) is never dropped."""
    paris = [(_iri("Paris", r), ALIAS) for r in range(REPLICAS)]
    candidates = {iri: Candidate(iri, ALIAS, 1) for iri, _ in paris} | {
        _iri("France", 5): Candidate(_iri("France", 5), LABEL, 1)
    }
    dropped = keep_per_form([paris], candidates, _facts(), 1)
    assert set(candidates) - dropped == {_iri("Paris", 5), _iri("France", 5)}
    assert _iri("Paris", 6) not in keep_per_form(
        [paris], candidates, _facts(), 1, frozenset({_iri("Paris", 6)})
    )


class _Kg:
    """A dictionary KG that records which IRIs were asked for names."""

    def __init__(self, facts: Mapping[str, tuple[Triple, ...]], names: Iterable[Names]) -> None:
        self._facts, self._names = facts, {n.iri: n for n in names}
        self.named: set[str] = set()

    def facts(self, iris: Iterable[str]) -> dict[str, tuple[Triple, ...]]:
        return {i: self._facts[i] for i in iris if i in self._facts}

    def names(self, iris: Iterable[str]) -> dict[str, Names]:
        asked = set(iris)
        self.named |= asked
        return {i: self._names[i] for i in asked if i in self._names}


def test_gather_fetches_names_and_aligns_facts_of_the_kept_candidates_only(tmp_path: Path) -> None:
    names = _names(own=3)
    found = find_candidates(TEXT, _index(tmp_path, names), 8)
    doc = CleanedDocument("redocred-dev-101:r3", "", "", (TEXT,), ())
    kg = _Kg(_facts(), names)
    iris = [c.iri for c in found.candidates]
    aligned = gather(doc, iris, kg, found=found, per_form=1)
    assert aligned.triples == (Triple(_iri("Paris", 3), P17, _iri("France", 3), False, "", ""),)
    assert {e.iri for e in aligned.entities} == {_iri("Paris", 3), _iri("France", 3)}
    assert kg.named == {_iri("Paris", 3), _iri("France", 3), P17}
    everything = gather(doc, iris, _Kg(_facts(), names))
    assert len(everything.triples) == REPLICAS and len(everything.entities) == 2 * REPLICAS


def test_a_document_with_5000_distinct_ambiguous_names_keeps_one_entity_per_name(tmp_path: Path) -> None:
    """Issue 29's bad input: 5,000 distinct names in one document, each shared by three entities; the names
    fetched and the entities the aligner sees are one per name, and the work is counted, not timed."""
    words = [f"Station{i:04d}" for i in range(5_000)]
    names = [
        Names(f"urn:x:{w}:r{r}", w if r == 0 else f"{w} r{r}", () if r == 0 else (w,))
        for w in words
        for r in range(3)
    ]
    text = " , ".join(words) + " ."
    found = find_candidates(text, _index(tmp_path, names), 8)
    assert len(found.candidates) == 15_000 and len(found.forms) == 5_000
    kg = _Kg({}, names)
    doc = CleanedDocument("hostile", "", "", (text,), ())
    aligned = gather(doc, [c.iri for c in found.candidates], kg, found=found, per_form=1)
    assert {e.iri for e in aligned.entities} == {f"urn:x:{w}:r0" for w in words}
    assert len(kg.named) == 5_000


def test_a_rival_gains_nothing_from_an_edge_to_its_own_forms_winner() -> None:
    """Two entities share a name and one names the other: that edge is no evidence for either."""
    a, b = "urn:redocred:dev:101:name:Paris", "urn:redocred:dev:101:name:Paris (film)"
    candidates = {a: Candidate(a, LABEL, 10), b: Candidate(b, LABEL, 1)}
    facts = {b: (Triple(b, P17, a, False, "", ""),)}
    assert keep_per_form([[(a, LABEL), (b, LABEL)]], candidates, facts, 1) == {b}


def test_a_seed_comes_first_in_its_form_and_its_rival_goes() -> None:
    a, b = _iri("Paris", 0), _iri("Paris", 1)
    candidates = {a: Candidate(a, LABEL, 10), b: Candidate(b, ALIAS, 1)}
    assert keep_per_form([[(a, LABEL), (b, ALIAS)]], candidates, {}, 1, seeds=frozenset({b})) == {a}
