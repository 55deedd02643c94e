"""kg.lexicon: label / alias resolution with language preference and IRI local-name fallback."""

from __future__ import annotations

from kgtext.kg.lexicon import language_rank, names_from_iri, resolve_names
from kgtext.kg.records import LexiconEntry, Names

WD = "http://www.wikidata.org/entity/"


def _entry(name: str, lang: str, preferred: bool = True, iri: str = WD + "Q105334") -> LexiconEntry:
    return LexiconEntry(iri, "entity", name, preferred, lang)


def test_names_from_iri() -> None:
    assert names_from_iri("http://dbpedia.org/resource/Alan_Bean") == Names(
        "http://dbpedia.org/resource/Alan_Bean", "Alan Bean", ()
    )
    assert names_from_iri("http://ex.org/onto#Space_mission/").label == "Space mission"
    assert names_from_iri("http://dbpedia.org/resource/S%C3%A3o_Paulo").label == "São Paulo"
    assert names_from_iri("urn:isbn:0451450523").label == "0451450523"


def test_preferred_language_wins() -> None:
    entries = [_entry("Klaus Konrad", "de"), _entry("Klaus Conrad", "en"), _entry("K. Conrad", "en", False)]
    assert resolve_names(WD + "Q105334", entries, ("en", "")) == Names(
        WD + "Q105334", "Klaus Conrad", ("K. Conrad",)
    )
    assert resolve_names(WD + "Q105334", entries, ("de", "en")) == Names(
        WD + "Q105334", "Klaus Konrad", ("Klaus Conrad", "K. Conrad")
    )


def test_fallbacks() -> None:
    only_alias = [_entry("Conrad", "en", False), _entry("Klaus Konrad", "de")]
    assert resolve_names(WD + "Q1", only_alias, ("en",)).label == "Conrad"
    only_other = [_entry("Klaus Konrad", "de"), _entry("Klaus Conrad (fr)", "fr")]
    assert resolve_names(WD + "Q1", only_other, ("en",)) == Names(WD + "Q1", "Klaus Konrad", ())
    assert resolve_names("http://dbpedia.org/resource/Alan_Bean", [], ("en",)).label == "Alan Bean"


def test_region_subtags_and_untagged() -> None:
    assert language_rank("en-GB", ("en", "")) == 0
    assert language_rank("", ("en", "")) == 1
    assert language_rank("eng", ("en",)) is None
    entries = [_entry("colour", "en-gb"), _entry("untagged", "")]
    assert resolve_names(WD + "Q1", entries, ("en", "")) == Names(WD + "Q1", "colour", ("untagged",))


def test_aliases_deduplicated_and_order_independent() -> None:
    entries = [
        _entry("Boston Children’s Hospital", "en", False),
        _entry("Boston Children's Hospital", "en"),
        _entry("Boston  Children’s Hospital ", "en", False),
        _entry("BCH", "en", False),
        _entry("", "en", False),
    ]
    expected = Names(WD + "Q1", "Boston Children's Hospital", ("BCH", "Boston Children’s Hospital"))
    assert resolve_names(WD + "Q1", entries, ("en",)) == expected
    assert resolve_names(WD + "Q1", list(reversed(entries)), ("en",)) == expected
