"""kg.literals: date / number / quantity surface forms, literal kinds and N-Triples literal terms."""

from __future__ import annotations

import pytest

from kgtext.kg.literals import literal_kind, literal_term, number_forms, ordinal, surface_forms

XSD = "http://www.w3.org/2001/XMLSchema#"


def test_xsd_date() -> None:
    assert surface_forms("1932-03-15", XSD + "date", "") == (
        "15 March 1932", "March 15, 1932", "March 15 1932", "15 Mar 1932", "Mar 15, 1932", "15 March, 1932",
        "15th March 1932", "15th March, 1932", "March 15th, 1932", "March 15th 1932", "15 Mar, 1932",
        "Mar 15 1932", "15th Mar 1932", "15th Mar, 1932", "Mar 15th, 1932", "Mar 15th 1932", "15 Mar. 1932",
        "15 Mar., 1932", "Mar. 15, 1932", "Mar. 15 1932", "15th Mar. 1932", "15th Mar., 1932", "Mar. 15th, 1932",
        "Mar. 15th 1932", "15th of March 1932", "15th of March, 1932", "March the 15th 1932",
        "March the 15th, 1932", "15th of March in 1932", "March 15th in 1932", "1932-03-15", "1932/03/15",
        "1932.03.15", "03/15/1932", "3/15/1932", "15/03/1932", "15/3/1932", "March 1932", "1932",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lexical", "written"),
    [
        ("1980-04-23", "23rd April 1980"), ("1923-11-18", "November 18th, 1923"), ("1998-07-21", "21st of July, 1998"),
        ("1932-07-27", "27th July, 1932"), ("1987-02-27", "27th of February in 1987"), ("1969-09-01", "1969.09.01"),
        ("1969-09-01", "September 1st 1969"), ("1927-07-23", "07/23/1927"), ("1983-10-03", "10/03/1983"),
        ("1923-11-18", "Nov 18th 1923"), ("1988-11-22", "22nd November 1988"), ("1927-07-23", "23rd of July in 1927"),
    ],
)  # fmt: skip
def test_webnlg_written_dates(lexical: str, written: str) -> None:
    # Date references of WebNLG v1.6 dev texts (CC BY-NC-SA 4.0) with the xsd:date of their triple.
    assert written in surface_forms(lexical, XSD + "date", "")


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 30, 31, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "30th", "31st", "101st", "111th",
        "112th",
    ]  # fmt: skip


def test_numeric_dates_day_first_only_after_the_12th() -> None:
    numeric = [f for f in surface_forms("1983-10-03", XSD + "date", "") if f[:4] == "1983" or "/" in f]
    assert numeric == ["1983-10-03", "1983/10/03", "1983.10.03", "10/03/1983", "10/3/1983", "1983"]
    late = [f for f in surface_forms("1927-07-23", XSD + "date", "") if "/" in f]
    assert late == ["1927/07/23", "07/23/1927", "7/23/1927", "23/07/1927", "23/7/1927"]


def test_month_abbreviations() -> None:
    september = surface_forms("1969-09-01", XSD + "date", "")
    assert [f for f in september if f.endswith("1, 1969")] == [
        "September 1, 1969", "Sep 1, 1969", "Sep. 1, 1969", "Sept 1, 1969", "Sept. 1, 1969",
    ]  # fmt: skip
    may = surface_forms("2010-05-03", XSD + "date", "")
    assert not any("May." in f for f in may) and "May 3rd, 2010" in may


def test_bc_date_has_no_numeric_forms() -> None:
    forms = surface_forms("-0044-03-15", XSD + "date", "")
    assert forms[-4:] == ("15th of March in 44 BC", "March 15th in 44 BC", "March 44 BC", "44 BC")
    assert not any("/" in f or "-" in f for f in forms)


def test_wikidata_datetime_from_rebel() -> None:
    # kg_statements.nt: Q1022746 P585 "2010-01-01T00:00:00Z"; Wikidata's signed form with a year precision date.
    forms = surface_forms("+1913-01-01T00:00:00Z", XSD + "dateTime", "")
    assert forms[:2] == ("1 January 1913", "January 1, 1913") and forms[-1] == "1913"
    assert surface_forms("2010-01-01T00:00:00Z", XSD + "dateTime", "")[-2:] == ("January 2010", "2010")


def test_gyear_gyearmonth_bc_and_timezone() -> None:
    assert surface_forms("1932", XSD + "gYear", "") == ("1932",)
    assert surface_forms("1932-03", XSD + "gYearMonth", "") == ("March 1932", "1932")
    assert surface_forms("-0044-03-15", XSD + "date", "")[0] == "15 March 44 BC"
    assert surface_forms("1932-03-15+02:00", XSD + "date", "")[0] == "15 March 1932"


def test_malformed_date_is_matched_as_written() -> None:
    assert literal_kind(XSD + "date", "1932-13-15") is None
    assert surface_forms("1932-13-15", XSD + "date", "") == ("1932-13-15",)


def test_rebel_decimal() -> None:
    assert surface_forms("+61", XSD + "decimal", "") == ("61",)


def test_numbers_separators_and_rounding() -> None:
    assert number_forms("1234567.891") == [
        "1234567.891", "1,234,567.891", "1234567.89", "1,234,567.89", "1234567.9", "1,234,567.9", "1234568",
        "1,234,568", "1.23 million", "1.2 million",
    ]  # fmt: skip
    assert surface_forms("3.14159", XSD + "double", "") == ("3.14159", "3.14", "3.1", "3")
    assert surface_forms("-2500", XSD + "integer", "") == ("-2500", "-2,500")
    assert surface_forms("0.004", XSD + "decimal", "") == ("0.004",)
    assert number_forms("2.5E9") == ["2500000000", "2,500,000,000", "2.5 billion"]
    assert number_forms("0") == ["0"]


def test_quantity_units() -> None:
    assert surface_forms("12.5", "http://dbpedia.org/datatype/kilometre", "")[:4] == (
        "12.5 km", "13 km", "12.5 kilometres", "13 kilometres",
    )  # fmt: skip
    assert surface_forms("1200", "http://dbpedia.org/datatype/usDollar", "")[:2] == ("$1200", "$1,200")
    assert surface_forms("12.5 km", "", "") == ("12.5 km", "13 km")
    assert literal_kind("", "12.5 km") == "number"


@pytest.mark.parametrize(
    ("datatype", "lexical", "kind"),
    [
        (XSD + "date", "1932-03-15", "date"), (XSD + "dateTime", "+1913-01-01T00:00:00Z", "date"),
        (XSD + "gYear", "1932", "date"), (XSD + "decimal", "+4", "number"), (XSD + "integer", "x", None),
        ("", "Alan Bean", None), (XSD + "string", "1932", None), ("http://dbpedia.org/datatype/metre", "3", "number"),
    ],
)  # fmt: skip
def test_literal_kind(datatype: str, lexical: str, kind: str | None) -> None:
    assert literal_kind(datatype, lexical) == kind


def test_other_literals_are_matched_as_written() -> None:
    assert surface_forms("  Klaus Conrad ", "", "en") == ("Klaus Conrad",)


def test_literal_term() -> None:
    assert (
        literal_term("1932-03-15", XSD + "date", "")
        == '"1932-03-15"^^<http://www.w3.org/2001/XMLSchema#date>'
    )
    assert literal_term('say "hi"\n', "", "en") == '"say \\"hi\\"\\n"@en'
    assert literal_term("x", "", "") == '"x"'
