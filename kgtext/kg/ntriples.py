"""Streaming N-Triples / N-Quads line parser: one line of bytes -> Triple, LexiconEntry, DeadLetter or None.

Full W3C grammar (IRIREF with ``\\u`` escapes, blank nodes, string escapes, language tags, datatypes, an
optional graph label for N-Quads, trailing comments). A regular expression handles the common line shapes
(three IRIs, or two IRIs and an escape-free literal) in one match; every other line goes through a small
hand-written scanner that also names the reason a bad line is rejected. Graph labels are read and dropped.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from kgtext.common.dead_letters import DeadLetter, Reason, make_dead_letter
from kgtext.kg.config import KgConfig, canonical_property_iri
from kgtext.kg.records import LexiconEntry, NameKind, Triple

STAGE = "read_kg"

_IRI = r"[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>\"{}|^`\\]*"
_FAST_LINE = re.compile(
    rf"<({_IRI})>[ \t]+<({_IRI})>[ \t]+"
    rf"(?:<({_IRI})>|\"([^\"\\\r\n]*)\"(?:\^\^<({_IRI})>|@([a-zA-Z]+(?:-[a-zA-Z0-9]+)*))?)"
    r"[ \t]*\.[ \t]*(?:#[^\r\n]*)?\r?\n?"
)
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_IRI_FORBIDDEN = frozenset([chr(c) for c in range(0x21)] + list('<>"{}|^`'))
_BNODE = re.compile(
    r"_:[A-Za-z0-9_\u00b7-\U000effff](?:[A-Za-z0-9_.\-\u00b7-\U000effff]*[A-Za-z0-9_\-\u00b7-\U000effff])?"
)
_LANGTAG = re.compile(r"@([a-zA-Z]+(?:-[a-zA-Z0-9]+)*)")
_STRING_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


class ParseError(Exception):
    """A rejected line; ``reason`` is the dead-letter reason."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Term(NamedTuple):
    """One parsed RDF term: an IRI, a blank node (``_:label``) or a literal."""

    value: str
    is_literal: bool
    datatype: str
    lang: str


@functools.lru_cache(maxsize=16)
def _property_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def make_record(
    subject: str, predicate: str, obj: Term, config: KgConfig, *, property_iris: frozenset[str] = frozenset()
) -> Triple | LexiconEntry:
    """A naming statement (label predicate, literal object) -> LexiconEntry; anything else -> Triple.

    The name is a relation's when the subject matches ``config.property_iri_pattern`` or is in
    ``property_iris`` (subjects typed as properties elsewhere in the same file).
    """
    preferred = config.label_kind(predicate) if obj.is_literal else None
    if preferred is None:
        return Triple(subject, predicate, obj.value, obj.is_literal, obj.datatype, obj.lang)
    is_property = subject in property_iris or _property_pattern(config.property_iri_pattern).match(subject)
    kind = NameKind.RELATION if is_property else NameKind.ENTITY
    iri = canonical_property_iri(subject) if "/entity/P" in subject else subject
    return LexiconEntry(iri, kind, obj.value, preferred, obj.lang)


def parse_ntriples_line(
    line: bytes | str, *, file: str, line_no: int, config: KgConfig, allow_graph: bool = True
) -> Triple | LexiconEntry | DeadLetter | None:
    """Parse one N-Triples/N-Quads line. None for blank and comment lines; a DeadLetter for a bad line.

    ``allow_graph=False`` (plain ``.nt`` files) rejects a fourth term as wrong arity.
    """
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return make_dead_letter(STAGE, file, Reason.INVALID_UTF8, line.rstrip(b"\r\n"), line=line_no)
    else:
        text = line
    match = _FAST_LINE.fullmatch(text)
    if match is not None:
        subject, predicate, iri, lexical, datatype, lang = match.groups()
        if iri is not None:  # an IRI object is never a name, whatever the predicate
            return Triple(subject, predicate, iri, False, "", "")
        term = Term(lexical, True, datatype or "", lang.lower() if lang else "")
        if predicate in config.preferred_label_predicates or predicate in config.alias_predicates:
            return make_record(subject, predicate, term, config)
        return Triple(subject, predicate, term.value, True, term.datatype, term.lang)
    text = text.rstrip("\r\n")
    stripped = text.strip(" \t")
    if not stripped or stripped.startswith("#"):
        return None
    try:
        subject, predicate, obj = _parse_statement(text, allow_graph)
    except ParseError as err:
        return make_dead_letter(STAGE, file, err.reason, text, line=line_no)
    return make_record(subject, predicate, obj, config)


def _parse_statement(text: str, allow_graph: bool) -> tuple[str, str, Term]:
    """The slow path: scan terms left to right, then the final dot."""
    terms: list[Term] = []
    pos = _skip_ws(text, 0)
    while pos < len(text) and text[pos] != "." and text[pos] != "#":
        term, pos = _parse_term(text, pos)
        terms.append(term)
        pos = _skip_ws(text, pos)
    max_terms = 4 if allow_graph else 3
    if pos >= len(text) or text[pos] != ".":
        if len(terms) < 3 or len(terms) > max_terms:
            raise ParseError(Reason.WRONG_ARITY, f"{len(terms)} terms and no final '.'")
        raise ParseError(Reason.SYNTAX_ERROR, "statement does not end with '.'")
    rest = text[_skip_ws(text, pos + 1) :]
    if rest and not rest.startswith("#"):
        raise ParseError(Reason.SYNTAX_ERROR, f"text after the final '.': {rest[:20]!r}")
    if not 3 <= len(terms) <= max_terms:
        raise ParseError(
            Reason.WRONG_ARITY, f"{len(terms)} terms, expected 3" + (" or 4" if allow_graph else "")
        )
    subject, predicate, obj = terms[0], terms[1], terms[2]
    if subject.is_literal:
        raise ParseError(Reason.SYNTAX_ERROR, "literal in subject position")
    if predicate.is_literal or predicate.value.startswith("_:"):
        raise ParseError(Reason.SYNTAX_ERROR, "predicate must be an IRI")
    if len(terms) == 4 and terms[3].is_literal:
        raise ParseError(Reason.SYNTAX_ERROR, "literal as graph label")
    return subject.value, predicate.value, obj


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _parse_term(text: str, pos: int) -> tuple[Term, int]:
    char = text[pos]
    if char == "<":
        iri, pos = _parse_iri(text, pos)
        return Term(iri, False, "", ""), pos
    if char == "_":
        match = _BNODE.match(text, pos)
        if match is None:
            raise ParseError(Reason.BAD_BLANK_NODE, f"bad blank node at column {pos + 1}")
        return Term(match.group(), False, "", ""), match.end()
    if char == '"':
        return _parse_literal(text, pos)
    raise ParseError(Reason.SYNTAX_ERROR, f"unexpected {char!r} at column {pos + 1}")


def _parse_iri(text: str, pos: int) -> tuple[str, int]:
    """``<...>`` starting at ``pos`` (the ``<``); UCHAR escapes decoded; must be absolute."""
    end = text.find(">", pos + 1)
    if end < 0:
        raise ParseError(Reason.BAD_IRI, f"IRI at column {pos + 1} has no closing '>'")
    raw = text[pos + 1 : end]
    if "\\" in raw:
        raw = _decode_escapes(raw, iri=True)
    bad = next((c for c in raw if c in _IRI_FORBIDDEN or c == "\\"), None)
    if bad is not None:
        raise ParseError(Reason.BAD_IRI, f"character {bad!r} not allowed in IRI <{raw}>")
    if _ABSOLUTE_IRI.match(raw) is None:
        raise ParseError(Reason.BAD_IRI, f"relative IRI <{raw}>")
    return raw, end + 1


def _parse_literal(text: str, pos: int) -> tuple[Term, int]:
    """``"..."`` with an optional ``^^<datatype>`` or ``@lang`` suffix."""
    index = pos + 1
    while True:
        index = text.find('"', index)
        if index < 0:
            raise ParseError(Reason.UNTERMINATED_LITERAL, f"literal at column {pos + 1} is not closed")
        backslashes = 0
        while text[index - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            break
        index += 1
    raw = text[pos + 1 : index]
    lexical = _decode_escapes(raw, iri=False) if "\\" in raw else raw
    index += 1
    if text.startswith("^^", index):
        if not text.startswith("<", index + 2):
            raise ParseError(Reason.BAD_LITERAL, "datatype after '^^' is not an IRI")
        datatype, index = _parse_iri(text, index + 2)
        return Term(lexical, True, datatype, ""), index
    if text.startswith("@", index):
        match = _LANGTAG.match(text, index)
        if match is None:
            raise ParseError(Reason.BAD_LITERAL, f"bad language tag at column {index + 1}")
        return Term(lexical, True, "", match.group(1).lower()), match.end()
    if index < len(text) and text[index] not in " \t.":
        raise ParseError(Reason.BAD_LITERAL, f"unexpected {text[index]!r} after literal")
    return Term(lexical, True, "", ""), index


def _decode_escapes(raw: str, *, iri: bool) -> str:
    """Decode ``\\uXXXX``/``\\UXXXXXXXX`` (and, in literals, ECHAR) escapes."""
    out: list[str] = []
    index = 0
    while True:
        slash = raw.find("\\", index)
        if slash < 0:
            out.append(raw[index:])
            return "".join(out)
        out.append(raw[index:slash])
        code = raw[slash + 1 : slash + 2]
        if code in ("u", "U"):
            width = 4 if code == "u" else 8
            digits = raw[slash + 2 : slash + 2 + width]
            if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ParseError(Reason.BAD_ESCAPE, f"bad \\{code} escape {raw[slash : slash + 2 + width]!r}")
            value = int(digits, 16)
            if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise ParseError(Reason.BAD_ESCAPE, f"escape \\{code}{digits} is not a Unicode scalar value")
            out.append(chr(value))
            index = slash + 2 + width
        elif not iri and code in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[code])
            index = slash + 2
        else:
            raise ParseError(Reason.BAD_ESCAPE, f"bad escape '\\{code}'")
