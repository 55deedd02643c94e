"""Literal tails -> the surface forms English text uses for them (dates, numbers, quantities).

``surface_forms("1932-03-15", XSD.date, "")`` -> ("15 March 1932", "March 15, 1932", ..., "1932"). A full
date is written with a cardinal or ordinal day ("15th of March, 1932"), a full or abbreviated month
("Mar. 15, 1932"), as ISO and as numbers: year first, month first (US "03/15/1932"), and day first only for
days after the 12th. The aligner matches these strings in sentences; :func:`literal_term` gives the
N-Triples term that a matched mention points to (``Mention.entity``).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

XSD = "http://www.w3.org/2001/XMLSchema#"
DATE_TYPES = frozenset(XSD + t for t in ("date", "dateTime", "dateTimeStamp", "gYear", "gYearMonth"))
NUMBER_TYPES = frozenset(
    XSD + t
    for t in (
        "decimal", "integer", "int", "long", "short", "byte", "double", "float", "nonNegativeInteger",
        "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong",
        "unsignedShort", "unsignedByte",
    )
)  # fmt: skip
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip
# Unit datatypes (DBpedia style: "12.5"^^<http://dbpedia.org/datatype/kilometre>): local name -> written forms.
UNITS: dict[str, tuple[str, ...]] = {
    "kilometre": ("km", "kilometres", "kilometers"),
    "metre": ("m", "metres", "meters"),
    "centimetre": ("cm", "centimetres", "centimeters"),
    "millimetre": ("mm", "millimetres", "millimeters"),
    "mile": ("mi", "miles"),
    "foot": ("ft", "feet"),
    "inch": ("in", "inches"),
    "kilogram": ("kg", "kilograms"),
    "gram": ("g", "grams"),
    "pound": ("lb", "pounds"),
    "tonne": ("t", "tonnes"),
    "squareKilometre": ("km2", "km²", "square kilometres", "square kilometers"),
    "squareMetre": ("m2", "m²", "square metres", "square meters"),
    "squareMile": ("sq mi", "square miles"),
    "kilometrePerHour": ("km/h", "kilometres per hour"),
    "second": ("s", "seconds"),
    "minute": ("min", "minutes"),
    "hour": ("h", "hours"),
    "day": ("days",),
    "year": ("years",),
    "degreeCelsius": ("°C", "degrees Celsius"),
    "usDollar": ("$", "US dollars", "dollars"),
    "euro": ("€", "euros"),
    "inhabitantsPerSquareKilometre": ("/km2", "inhabitants per square kilometre"),
}
PREFIX_UNITS = frozenset({"$", "€"})

_DATE = re.compile(r"([+-]?)(\d*?)(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T[\d:.]+)?(Z|[+-]\d{2}:\d{2})?")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_QUANTITY = re.compile(r"([+-]?[\d.,]+(?:[eE][+-]?\d+)?)\s+(.+)")


def _unit_of(datatype: str) -> str | None:
    local = re.split(r"[/#]", datatype)[-1]
    return local if local in UNITS else None


def literal_kind(datatype: str, lexical: str) -> Literal["date", "number"] | None:
    """``"date"``, ``"number"`` (quantities included) or None for any other literal."""
    if datatype in DATE_TYPES:
        return "date" if _parse_date(lexical) is not None else None
    if datatype in NUMBER_TYPES or _unit_of(datatype) is not None:
        return "number" if _NUMBER.fullmatch(lexical.strip()) else None
    if not datatype and _QUANTITY.fullmatch(lexical.strip()) and _NUMBER.fullmatch(lexical.split()[0]):
        return "number"
    return None


def literal_term(lexical: str, datatype: str, lang: str) -> str:
    """The N-Triples term of a literal: ``"1932-03-15"^^<...#date>``, ``"x"@en`` or ``"x"``."""
    escaped = lexical.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    if datatype:
        return f'"{escaped}"^^<{datatype}>'
    if lang:
        return f'"{escaped}"@{lang}'
    return f'"{escaped}"'


def surface_forms(lexical: str, datatype: str, lang: str) -> tuple[str, ...]:
    """The ways English text writes this literal, most specific first, without duplicates.

    Dates and numbers get rendered forms; any other literal is matched as written.
    """
    kind = literal_kind(datatype, lexical)
    if kind == "date":
        forms = _date_forms(lexical)
    elif kind == "number":
        forms = _number_literal_forms(lexical, datatype)
    else:
        forms = [lexical.strip()]
    return tuple(dict.fromkeys(f for f in forms if f))


def _parse_date(lexical: str) -> tuple[int, int, int] | None:
    """(year, month, day) with 0 for an absent part; years before 1 CE are negative. None if malformed."""
    match = _DATE.fullmatch(lexical.strip())
    if match is None:
        return None
    sign, century, year4, month, day = match.group(1, 2, 3, 4, 5)
    year = int((century or "") + year4) * (-1 if sign == "-" else 1)
    month_i, day_i = int(month or 0), int(day or 0)
    if month_i > 12 or day_i > 31 or (day_i and not month_i) or year == 0 and sign != "-":
        return None
    return year, month_i, day_i


def _year_text(year: int) -> str:
    return f"{-year} BC" if year < 0 else str(year)


def ordinal(number: int) -> str:
    """``1`` -> ``"1st"``, ``2`` -> ``"2nd"``, ``13`` -> ``"13th"``, ``23`` -> ``"23rd"``."""
    suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _month_abbreviations(month: int) -> list[str]:
    """``"Apr"``, ``"Apr."`` (and ``"Sept"``, ``"Sept."`` for September); none for May."""
    name = MONTHS[month - 1]
    shorts = [name[:3]] + (["Sept"] if month == 9 else [])
    return [f for short in shorts if short != name for f in (short, short + ".")]


def _date_forms(lexical: str) -> list[str]:
    parsed = _parse_date(lexical)
    if parsed is None:
        return [lexical]
    year, month, day = parsed
    y = _year_text(year)
    forms: list[str] = []
    if month and day:
        forms += _day_forms(year, month, day)
    if month:
        forms.append(f"{MONTHS[month - 1]} {y}")
    forms.append(y)
    return forms


def _day_forms(year: int, month: int, day: int) -> list[str]:
    """Forms of a full date: written (cardinal and ordinal day, full and abbreviated month), ISO, numeric.

    Every form holds the year: a day and month alone ("July 23") would also match other years' dates, and
    Wikidata writes year-precision dates as 1 January.
    """
    y, name = _year_text(year), MONTHS[month - 1]
    forms = [f"{day} {name} {y}", f"{name} {day}, {y}", f"{name} {day} {y}"]
    forms += [f"{day} {name[:3]} {y}", f"{name[:3]} {day}, {y}"]
    for written in (name, *_month_abbreviations(month)):
        for d in (str(day), ordinal(day)):
            forms += [
                f"{d} {written} {y}",
                f"{d} {written}, {y}",
                f"{written} {d}, {y}",
                f"{written} {d} {y}",
            ]
    nth = ordinal(day)
    forms += [
        f"{nth} of {name} {y}",
        f"{nth} of {name}, {y}",
        f"{name} the {nth} {y}",
        f"{name} the {nth}, {y}",
    ]
    forms += [f"{nth} of {name} in {y}", f"{name} {nth} in {y}"]
    if year > 0:
        forms.append(f"{year:04d}-{month:02d}-{day:02d}")
        forms += _numeric_forms(year, month, day)
    return forms


def _numeric_forms(year: int, month: int, day: int) -> list[str]:
    """Year first (``1927/07/23``, ``1927.07.23``) and month first (US: ``07/23/1927``, ``7/23/1927``).

    Day first (``23/07/1927``) only for days after the 12th, where no month-first reading exists: otherwise
    ``03/10/1983`` would stand for both 3 October and March 10.
    """
    forms = [f"{year:04d}/{month:02d}/{day:02d}", f"{year:04d}.{month:02d}.{day:02d}"]
    forms += [f"{month:02d}/{day:02d}/{year:04d}", f"{month}/{day}/{year:04d}"]
    if day > 12:
        forms += [f"{day:02d}/{month:02d}/{year:04d}", f"{day}/{month}/{year:04d}"]
    return forms


def _number_literal_forms(lexical: str, datatype: str) -> list[str]:
    text = lexical.strip()
    unit = _unit_of(datatype)
    if unit is None and not _NUMBER.fullmatch(text):
        quantity = _QUANTITY.fullmatch(text)
        if quantity is None:
            return [text]
        number, written_unit = quantity.groups()
        return [f"{n} {written_unit}" for n in number_forms(number)]
    numbers = number_forms(text)
    if unit is None:
        return numbers
    forms: list[str] = []
    for written in UNITS[unit]:
        if written in PREFIX_UNITS:
            forms += [f"{written}{n}" for n in numbers]
        else:
            forms += [f"{n} {written}" for n in numbers]
    return forms + numbers


def number_forms(lexical: str) -> list[str]:
    """``"+1234567.891"`` -> canonical, with separators, rounded to 2, 1, 0 decimals, and "1.23 million"."""
    try:
        value = Decimal(lexical.replace(",", ""))
    except InvalidOperation:
        return [lexical]
    if not value.is_finite():
        return [lexical]
    forms = [_plain(value), _grouped(value)]
    for places in (2, 1, 0):
        rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if rounded != 0 or value == 0:
            forms += [_plain(rounded), _grouped(rounded)]
    for scale, word in ((Decimal(10) ** 9, "billion"), (Decimal(10) ** 6, "million")):
        if abs(value) >= scale:
            scaled = value / scale
            for places in (2, 1):
                rounded = scaled.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
                forms.append(f"{_plain(rounded)} {word}")
            break
    return list(dict.fromkeys(forms))


def _plain(value: Decimal) -> str:
    """Fixed-point text without exponent, trailing zeros or a leading '+'."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _grouped(value: Decimal) -> str:
    text = _plain(value)
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}"
    return sign + grouped + (f".{frac}" if frac else "")
