"""Sentence splitting, mention detection and triple alignment on real documents, plus the stress inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgtext.aligners.align import Aligner, document_stats, mention_kind
from kgtext.aligners.clean import clean_document
from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.language import english_plural, language_for, normalise_same_length
from kgtext.aligners.mentions import name_keys, name_variants, needs_capital
from kgtext.aligners.records import CleanedDocument, Document, Link
from kgtext.corpus.records import AlignedDocument, AlignedTriple, Mention
from kgtext.evaluation.gold import load_rebel, load_webnlg
from kgtext.kg.records import Names, Triple

WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
DBR = "http://dbpedia.org/resource/"
DBP = "http://dbpedia.org/property/"
DATE = "http://www.w3.org/2001/XMLSchema#date"


def _clean(doc: Document) -> CleanedDocument:
    cleaned = clean_document(doc, AlignerConfig())
    assert isinstance(cleaned, CleanedDocument)
    return cleaned


def _rebel(fixtures: Path, aligner: Aligner, doc_id: str) -> AlignedDocument:
    item = next(i for i in load_rebel(str(fixtures)) if i.doc.id == doc_id)
    return aligner.align(_clean(item.doc), item.entities, item.triples, item.relations)


def test_rebel_links_dates_and_triples(fixtures: Path, aligner: Aligner) -> None:
    aligned = _rebel(fixtures, aligner, "30120180")
    [sent] = aligned.sentences
    assert sent.text.startswith("David M. Louie (born October 8, 1951, in Oakland, California) is")
    assert sent.mentions == (
        Mention(0, 14, WD + "Q16149427", "link"),
        Mention(21, 36, f'"1951-10-08T00:00:00Z"^^<{DATE}Time>', "date", kind="literal"),
        Mention(41, 48, WD + "Q17042", "link"),
        Mention(50, 60, WD + "Q99", "link"),
        Mention(101, 127, WD + "Q4818635", "link"),
    )
    assert sent.text[21:36] == "October 8, 1951"
    assert sent.triples == (
        AlignedTriple(WD + "Q16149427", WDT + "P19", WD + "Q17042", False, "allent"),
        AlignedTriple(WD + "Q16149427", WDT + "P569", "1951-10-08T00:00:00Z", True, "allent"),
    )
    assert (sent.doc_id, sent.paragraph_index, sent.sentence_index, sent.passes_filter) == (
        "30120180",
        0,
        0,
        True,
    )


def test_year_inside_a_link_is_a_nested_date(fixtures: Path, aligner: Aligner) -> None:
    first = _rebel(fixtures, aligner, "30114533").sentences[0]
    assert first.mentions[:2] == (
        Mention(4, 8, f'"1913-01-01T00:00:00Z"^^<{DATE}Time>', "date", kind="literal"),
        Mention(4, 43, WD + "Q4559696", "link"),
    )
    assert (
        AlignedTriple(WD + "Q4559696", WDT + "P585", "1913-01-01T00:00:00Z", True, "allent") in first.triples
    )
    no_nesting = Aligner(AlignerConfig(nested_literals=False))
    item = next(i for i in load_rebel(str(fixtures)) if i.doc.id == "30114533")
    plain = no_nesting.align(_clean(item.doc), item.entities, item.triples, item.relations).sentences[0]
    assert [m.source for m in plain.mentions] == ["link", "link", "link"]


def test_pronoun_subject_nosub_and_spo(fixtures: Path, aligner: Aligner) -> None:
    item = next(i for i in load_rebel(str(fixtures)) if i.doc.id == "30113992")  # Chelopech Hill
    hill, glacier, village = WD + "Q5090011", WD + "Q7381866", WD + "Q2418971"
    triples = [
        Triple(hill, WDT + "P706", glacier, False, "", ""),
        Triple(hill, WDT + "P138", village, False, "", ""),
    ]
    relations = [Names(WDT + "P138", "named after", ("eponym",))]
    aligned = aligner.align(_clean(item.doc), item.entities, triples, relations)
    texts = [s.text for s in aligned.sentences]
    assert texts[1:] == [
        "It is surmounting Russell West Glacier to the north.",
        "The hill is named after the settlement of Chelopech in Western Bulgaria.",
    ]
    it_sentence, named_sentence = aligned.sentences[1:]
    assert it_sentence.mentions[0] == Mention(0, 2, hill, "subject", 0.8)
    assert it_sentence.triples == (AlignedTriple(hill, WDT + "P706", glacier, False, "allent"),)
    assert not it_sentence.passes_filter  # 9 words < 10: kept in the document, filtered from aligned/
    assert named_sentence.triples == (AlignedTriple(hill, WDT + "P138", village, False, "nosub"),)
    assert named_sentence.paragraph_index == 1
    # The subject by name in the first sentence, with the relation named too: spo.
    relations_first = [Names(WDT + "P706", "rising to", ())]
    first = aligner.align(_clean(item.doc), item.entities, triples[:1], relations_first).sentences[0]
    assert first.triples == ()  # the glacier is not in the first sentence
    stats = document_stats(aligned)
    assert stats["aligned.sentences"] == 3 and stats["aligned.sentences.short"] == 1
    assert (
        stats["aligned.triples.nosub"] == 1 and stats["aligned.triples.allent"] == 0
    )  # the allent one is in a short sentence


def test_webnlg_labels_literal_dates_and_spo(fixtures: Path, aligner: Aligner) -> None:
    item = next(i for i in load_webnlg(str(fixtures)) if i.doc.id == "Astronaut-Id1-Id2-2")
    relations = [Names(DBP + "was_a_crew_member_of", "was a crew member of", ("crew member of",))]
    [sent] = aligner.align(_clean(item.doc), item.entities, item.triples, relations).sentences
    assert sent.text == "Alan Shepard, who served as a crew member of Apollo 14, retired 1974-08-01."
    assert sent.mentions == (
        Mention(0, 12, DBR + "Alan_Shepard", "label"),
        Mention(45, 54, DBR + "Apollo_14", "label", 0.9),  # a neighbour of the subject
        Mention(64, 74, f'"1974-08-01"^^<{DATE}>', "date", kind="literal"),
    )
    assert sent.triples == (
        AlignedTriple(DBR + "Alan_Shepard", DBP + "dateOfRetirement", "1974-08-01", True, "allent"),
        AlignedTriple(DBR + "Alan_Shepard", DBP + "was_a_crew_member_of", DBR + "Apollo_14", False, "spo"),
    )


def test_case_accents_variants_and_word_boundaries(aligner: Aligner) -> None:
    text = "Gerard Larcher met the apple growers of Apple Inc. in St Louis; Applebee's was closed."
    doc = _clean(Document("d", text, "", "", (), "f", 1))
    entities = [
        Names("e:GL", "Gérard Larcher", ()),
        Names("e:Apple", "Apple Inc.", ("Apple",)),
        Names("e:StL", "St. Louis (Missouri)", ()),
    ]
    [sent] = aligner.align(doc, entities, [], []).sentences
    assert [(sent.text[m.start : m.end], m.entity, m.source) for m in sent.mentions] == [
        ("Gerard Larcher", "e:GL", "label"),
        ("Apple Inc.", "e:Apple", "label"),
        ("St Louis", "e:StL", "alias"),
    ]


def test_iri_local_name_is_an_alias(aligner: Aligner) -> None:
    text = "He taught at St Andrews College and at the Q5 school for many years before retiring."
    doc = _clean(Document("d", text, "", "", (), "f", 1))
    entities = [
        Names("http://example.org/St_Andrews_College", "Saint Andrew's College", ()),
        Names(WD + "Q5", "human", ()),
    ]
    [sent] = aligner.align(doc, entities, [], []).sentences
    # Found without any KG support in the document: evidence 0.3, times 0.9 for an alias.
    assert sent.mentions == (Mention(13, 31, "http://example.org/St_Andrews_College", "alias", 0.27),)


def test_links_keep_sentences_whole(aligner: Aligner) -> None:
    text = "He studied at St. Andrews College in Sydney for four years before he moved away."
    link = Link(text.index("St."), text.index(" in Sydney"), "e:college")
    [sent] = aligner.align(_clean(Document("d", text, "", "", (link,), "f", 1)), [], [], []).sentences
    assert sent.mentions == (Mention(14, 33, "e:college", "link"),)


def test_name_helpers() -> None:
    assert name_variants("Glen Ridge, New Jersey") == ["Glen Ridge, New Jersey", "Glen Ridge"]
    assert name_variants("AIDS (journal)") == ["AIDS (journal)", "AIDS"]
    assert name_variants("St. Louis") == ["St. Louis", "St Louis"]
    assert (needs_capital("Shortcrust pastry"), needs_capital("Apple"), needs_capital("Alba Iulia")) == (
        False,
        True,
        True,
    )
    assert name_variants("English language") == ["English language", "English"]
    assert name_variants("Japanese people (ethnic group)") == [
        "Japanese people (ethnic group)",
        "Japanese people",
        "Japanese",
    ]
    assert name_variants("Sign language") == ["Sign language"]  # "Sign" is no nationality word
    assert needs_capital("University of Texas System") is False  # three words or more: any case
    assert [english_plural(w) for w in ("Cookie", "Cherry", "Peach", "Day")] == [
        "Cookies",
        "Cherries",
        "Peaches",
        "Days",
    ]
    # A one-word label derived from a DBpedia IRI also matches its plural (as an alias key).
    assert [k for k, _, _ in name_keys("Raisin", 2, True)] == ["raisin", "raisins"]
    assert [k for k, _, _ in name_keys("Raisin", 2)] == ["raisin"]
    assert normalise_same_length("Arròs–Négre’s_x") == "arros negre's x"
    with pytest.raises(ValueError, match="'xx'"):
        language_for("xx")


def test_chinese_needs_no_spaces_between_words() -> None:
    config = AlignerConfig(language="zh", min_sentence_words=3)
    doc = clean_document(
        Document("z", "北京是中国的首都。他出生在上海。", "北京", "e:bj", (), "f", 1), config
    )
    assert isinstance(doc, CleanedDocument)
    entities = [Names("e:bj", "北京", ()), Names("e:sh", "上海", ())]
    triples = [Triple("e:bj", "r:birthplace-of", "e:sh", False, "", "")]
    first, second = Aligner(config).align(doc, entities, triples, []).sentences
    assert first.text == "北京是中国的首都。" and first.mentions == (Mention(0, 2, "e:bj", "label"),)
    assert second.mentions == (Mention(0, 1, "e:bj", "subject", 0.8), Mention(4, 6, "e:sh", "label", 0.9))
    assert second.triples == (AlignedTriple("e:bj", "r:birthplace-of", "e:sh", False, "allent"),)


def test_sentence_with_ten_thousand_candidates_is_bounded(aligner: Aligner) -> None:
    names = [f"Station {i:05d}" for i in range(10_000)]
    text = "Trains stop at " + ", ".join(names[::5]) + " and nowhere else."
    entities = [Names(f"e:{i}", name, (f"Stop {i:05d}",)) for i, name in enumerate(names)]
    triples = [Triple(f"e:{i}", "r:next", f"e:{i + 1}", False, "", "") for i in range(9_999)]
    aligned = aligner.align(_clean(Document("d", text, "", "", (), "f", 1)), entities, triples, [])
    [sent] = aligned.sentences
    # Each station has two KG neighbours among the candidates (evidence 0.3 + 0.6 * 2/3), the first one.
    assert len(sent.mentions) == 2_000 and sent.mentions[:2] == (
        Mention(15, 28, "e:0", "label", 0.6),
        Mention(30, 43, "e:5", "label", 0.7),
    )
    assert sent.triples == ()  # every fifth station: no two consecutive ones co-occur


def test_candidate_bound_is_respected(aligner: Aligner) -> None:
    small = Aligner(AlignerConfig(max_candidates=1))
    doc = _clean(Document("d", "Rome and Paris are capitals of their countries today.", "", "", (), "f", 1))
    entities = [Names("e:Rome", "Rome", ()), Names("e:Paris", "Paris", ())]
    assert [m.entity for m in small.align(doc, entities, [], []).sentences[0].mentions] == ["e:Rome"]
    assert [m.entity for m in aligner.align(doc, entities, [], []).sentences[0].mentions] == [
        "e:Rome",
        "e:Paris",
    ]


def test_candidate_bound_keeps_the_best_supported_candidates() -> None:
    """Past the bound, a link target and the subject's KG neighbours win over earlier lexicon-only names."""
    text = "Rome and Paris are capitals of their countries today."
    entities = [
        Names("e:Rome", "Rome", ()),
        Names("e:Paris", "Paris", ()),
        Names("e:France", "countries", ()),
    ]
    linked = _clean(Document("d", text, "", "", (Link(9, 14, "e:Paris"),), "f", 1))
    small = Aligner(AlignerConfig(max_candidates=1))
    assert [m.entity for m in small.align(linked, entities, [], []).sentences[0].mentions] == ["e:Paris"]
    subject = _clean(Document("d", text, "", "e:Europe", (), "f", 1))
    neighbour = [Triple("e:Europe", "r:has", "e:France", False, "", "")]
    two = Aligner(AlignerConfig(max_candidates=2))
    found = [m.entity for m in two.align(subject, entities, neighbour, []).sentences[0].mentions]
    # The neighbour is kept (before the fix the bound kept Rome and Paris, which anchoring then drops as
    # lexicon-only names without a KG tie: no mention at all).
    assert found == ["e:France"]


def test_long_paragraph_is_cut_into_chunks(fixtures: Path) -> None:
    item = next(i for i in load_rebel(str(fixtures)) if i.doc.id == "30120180")
    text = " ".join([item.doc.text] * 200)  # one 28 KB paragraph, one line
    chunked = Aligner(AlignerConfig(max_chunk_chars=1_000))
    aligned = chunked.align(_clean(Document("d", text, "", "", (), "f", 1)), item.entities, item.triples, [])
    assert len(aligned.sentences) == 200
    assert {s.text for s in aligned.sentences} == {item.doc.text}
    assert {tuple(m.source for m in s.mentions) for s in aligned.sentences} == {("label", "date")}


@pytest.mark.slow
def test_five_megabyte_document_is_processed_when_allowed(fixtures: Path) -> None:
    item = next(i for i in load_rebel(str(fixtures)) if i.doc.id == "30120180")
    text = " ".join([item.doc.text] * 36_000)  # 5.1 MB, one line
    config = AlignerConfig(max_document_chars=6_000_000)
    cleaned = clean_document(Document("d", text, "", "", (), "f", 1), config)
    assert isinstance(cleaned, CleanedDocument)
    aligned = Aligner(config).align(cleaned, item.entities, item.triples, [])
    assert len(aligned.sentences) == 36_000


_PARIS_TEXT = (
    "Paris is the capital of France and by far its largest city today. "
    "It lies on the river Seine in the north of the country."
)
_PARIS_ENTITIES = [
    Names("e:Paris", "Paris", ()),
    Names("e:Paris_Texas", "Paris", ()),
    Names("e:France", "France", ()),
]
_PARIS_TRIPLES = [Triple("e:France", "r:capital", "e:Paris", False, "", "")]


def test_confidence_is_evidence_times_share_of_a_shared_name(aligner: Aligner) -> None:
    doc = _clean(Document("d", _PARIS_TEXT, "", "", (), "f", 1))
    first, second = aligner.align(doc, _PARIS_ENTITIES, _PARIS_TRIPLES, []).sentences
    # e:Paris has a KG edge to a candidate (evidence 0.6), e:Paris_Texas none (0.3): 0.6 * 0.6 / 0.9 = 0.4.
    assert first.mentions == (
        Mention(0, 5, "e:Paris", "label", 0.4),
        Mention(24, 30, "e:France", "label", 0.6),
    )
    assert first.triples == (AlignedTriple("e:France", "r:capital", "e:Paris", False, "allent"),)
    # No subject was given: the inferred topic (e:Paris, named first) is what the pronoun refers to.
    assert second.mentions == (Mention(0, 2, "e:Paris", "topic", 0.5),)


def test_confidence_threshold_drops_and_counts_mentions() -> None:
    config = AlignerConfig(min_mention_confidence=0.55)
    doc = clean_document(Document("d", _PARIS_TEXT, "", "", (), "f", 1), config)
    assert isinstance(doc, CleanedDocument)
    aligned = Aligner(config).align(doc, _PARIS_ENTITIES, _PARIS_TRIPLES, [])
    first, second = aligned.sentences
    assert first.mentions == (Mention(24, 30, "e:France", "label", 0.6),) and first.triples == ()
    assert second.mentions == ()  # a pronoun for an inferred topic (now e:France) has 0.5
    assert document_stats(aligned)["aligned.mentions.below_threshold"] == 1
    with pytest.raises(ValueError, match="min_mention_confidence"):
        AlignerConfig(min_mention_confidence=1.5)


def test_a_kg_property_named_like_an_entity_is_a_relation_mention(fixtures: Path, aligner: Aligner) -> None:
    """A KG that labels its properties (WebNLG, DBpedia) makes plain-text linking (no subject, no links: every
    candidate is kept) link a word such as "crew member" to the property IRI: the mention says so (kind
    ``relation``), a literal says ``literal``."""
    item = next(i for i in load_webnlg(str(fixtures)) if i.doc.id == "Astronaut-Id1-Id2-2")
    prop = DBP + "was_a_crew_member_of"
    entities = (*item.entities, Names(prop, "crew member", ()))
    plain = _clean(item.doc._replace(subject=""))
    [sent] = aligner.align(plain, entities, item.triples, [], [prop]).sentences
    assert [(sent.text[m.start : m.end], m.kind) for m in sent.mentions] == [
        ("Alan Shepard", "entity"),
        ("crew member", "relation"),
        ("Apollo 14", "entity"),
        ("1974-08-01", "literal"),
    ]
    assert (
        document_stats(aligner.align(plain, entities, item.triples, [], [prop]))["aligned.relation_mentions"]
        == 1
    )


def test_mention_kind() -> None:
    properties = {DBP + "leader"}
    assert mention_kind(DBP + "leader", properties) == "relation"
    assert mention_kind(DBR + "Bolivia", properties) == "entity"
    assert mention_kind('"1974-08-01"^^<http://www.w3.org/2001/XMLSchema#date>', properties) == "literal"
