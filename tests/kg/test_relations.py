"""kg.relations: the shipped Wikidata property table and its derivation from the T-REx CSV."""

from __future__ import annotations

from pathlib import Path

from kgtext.kg.records import Names
from kgtext.kg.relations import derive_property_table, parse_names_row, wikidata_property_names

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kg"
WDT = "http://www.wikidata.org/prop/direct/"


def test_shipped_table() -> None:
    names = wikidata_property_names()
    assert len(names) == 2569
    assert names[WDT + "P17"] == Names(WDT + "P17", "country", ("land", "nation", "sovereign state", "state"))
    assert names[WDT + "P569"].label == "date of birth"
    assert WDT + "P3373" not in names  # newer than the 2017 source (see data README)


def test_derivation_from_fixture() -> None:
    rows = derive_property_table(FIXTURES / "wikidata_properties" / "wikidata_properties_head.tsv")
    assert rows[0].split("\t")[:2] == ["P16", "highway system"]
    assert any(row.startswith("P778\t") and "Församlingskod" in row for row in rows)
    # P778 and P950 have only an alias line in the fixture, so the alias stands in for the label there.
    assert [row.split("\t")[1] for row in rows if row.startswith(("P778\t", "P950\t"))] == [
        "Församlingskod", "Biblioteca Nacional de España ID",
    ]  # fmt: skip
    shipped = wikidata_property_names()
    for row in rows:
        pid, label, *_ = row.split("\t")
        if pid not in ("P778", "P950"):
            assert shipped[WDT + pid].label == label


def test_parse_names_row() -> None:
    assert parse_names_row("P17\tcountry\tland\n") == ("P17", "country", ("land",))
    assert parse_names_row("\n") is None
