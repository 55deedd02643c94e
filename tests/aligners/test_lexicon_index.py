"""The surface-form index of plain-text linking: forms, caps, look-ups, bounded scans (issue 12's bad input)."""

from __future__ import annotations

from pathlib import Path

from kgtext.aligners.lexicon_index import (
    MAX_FORMS_PER_ENTITY,
    FormEntry,
    LexiconIndex,
    candidate_keys,
    chunks,
    document_candidates,
    encode_index_shard,
    form_entries,
    forms_of,
    key_hash,
)
from kgtext.kg.records import Names

Q = "http://www.wikidata.org/entity/"
STOPS = frozenset({"it", "the", "who"})


def _index(tmp_path: Path, entries: list, cap: int = 256) -> LexiconIndex:
    data, _ = encode_index_shard(entries, cap)
    path = tmp_path / "forms-00000-of-00001.arrow"
    path.write_bytes(data)
    return LexiconIndex([str(path)])


def test_forms_are_the_aligner_keys_of_label_variants_and_aliases() -> None:
    names = Names(Q + "Q1016767", "Stari Grad (Hvar)", ("Stari Grad, Croatia",))
    entries = form_entries(names, 7, 2, 8)
    assert sorted((e.hash, e.source) for e in entries) == sorted(
        [
            (key_hash("stari grad (hvar)"), 0),
            (key_hash("stari grad"), 1),
            (key_hash("stari grad, croatia"), 1),
        ]
    )
    assert {e.prior for e in entries} == {7}


def test_stop_word_forms_and_too_many_aliases_are_left_out_and_counted() -> None:
    kept, skipped = forms_of(Names(Q + "Q1", "It", ("The Who", "It Follows", "X", "?!")), 1, 2, 8, STOPS)
    # Stop words only ("it", "the who") are counted as skipped; a single character or punctuation is no key.
    assert [e.hash for e in kept] == [key_hash("it follows")] and skipped == 2
    many = Names(Q + "Q2", "Label", tuple(f"alias {i}" for i in range(5_000)))
    kept, skipped = forms_of(many, 1, 2, 8)
    assert len(kept) == MAX_FORMS_PER_ENTITY and skipped == 5_001 - MAX_FORMS_PER_ENTITY


def test_a_form_shared_by_many_entities_keeps_the_highest_priors(tmp_path: Path) -> None:
    # A label shared by 100,000 entities: the index keeps the 16 best-connected, the look-up stays small.
    entries = [e for i in range(100_000) for e in form_entries(Names(f"urn:x:{i}", "Paris", ()), i, 2, 8)]
    data, dropped = encode_index_shard(entries, 16)
    assert dropped == 99_984
    index = _index(tmp_path, entries, 16)
    found = index.lookup([key_hash("paris")])
    assert sorted(c.prior for c in found) == list(range(99_984, 100_000))


def test_document_candidates_find_word_bounded_forms(tmp_path: Path) -> None:
    entries = form_entries(Names(Q + "Q90", "Paris", ()), 5, 2, 8) + form_entries(
        Names(Q + "Q1", "St. Louis", ()), 3, 2, 8
    )
    index = _index(tmp_path, entries)
    found, over = document_candidates("From PARIS to St. Louis, not Parisian.", index, 8)
    assert [c.iri for c in found] == [Q + "Q1", Q + "Q90"] and over == 0
    found, over = document_candidates("Paris and St. Louis", index, 8, limit=1)
    assert len(found) == 1 and over == 1


def test_unspaced_text_is_scanned_by_character() -> None:
    keys = set(candidate_keys("我住在北京市", 4, spaced=False))
    assert "北京" in keys and "北京市" in keys and "我住在北京市" not in keys


def test_a_huge_document_is_scanned_in_bounded_pieces() -> None:
    text = "word " * 100_000
    pieces = list(chunks(text, 10_000))
    assert "".join(pieces) == text and max(len(p) for p in pieces) <= 10_000
    assert all(p.endswith(" ") for p in pieces)


def test_a_property_keeps_its_relation_mark_through_the_index(tmp_path: Path) -> None:
    """Phase 0 marks the forms of every IRI a triple uses as its predicate (``shard_forms`` reads the
    predicate runs), and a look-up hands the mark on (``Candidate.relation``)."""
    import pickle

    from kgtext.pipelines import lexicon

    leader = "http://dbpedia.org/ontology/leader"
    runs = {
        "named": [Names(leader, "leader", ()), Names(Q + "Q750", "Bolivia", ())],
        "degree": [Q + "Q750", Q + "Q750"],
        "predicate": [leader],
    }
    for kind, values in runs.items():
        (tmp_path / kind).write_bytes(pickle.dumps(values))
    items = [(kind, str(tmp_path / kind)) for kind in runs] + [None]
    rows = [row for forms, _ in lexicon.shard_forms((0, items), 2, frozenset()) for row in forms]
    assert {(iri, relation) for _, iri, _, _, relation in rows} == {(leader, True), (Q + "Q750", False)}
    index = _index(tmp_path, [FormEntry(*row) for row in rows])
    found = index.lookup([key_hash("leader"), key_hash("bolivia")])
    assert [(c.iri, c.prior, c.relation) for c in found] == [(leader, 0, True), (Q + "Q750", 2, False)]
