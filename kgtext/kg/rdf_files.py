"""Whole-file RDF syntaxes (Turtle, N3, TriG, RDF/XML, OWL, JSON-LD) -> records, through rdflib, safely.

rdflib holds a file in memory, so files above ``KgConfig.max_rdflib_file_bytes`` are rejected. Before rdflib
sees the bytes: RDF/XML whose DOCTYPE declares external entities, parameter entities or entities that expand
other entities (XXE, "billion laughs") is rejected as ``unsafe_xml``, and JSON-LD naming a remote
``@context`` or ``@import`` is rejected as ``remote_context``; nothing touches the network or other files.
A parse failure becomes one dead letter naming the file and the line rdflib reports.
"""

from __future__ import annotations

import enum
import io
import json
import logging
import xml.parsers.expat
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from xml.sax import SAXException, SAXParseException

import rdflib
from rdflib.exceptions import ParserError
from rdflib.plugins.parsers.notation3 import BadSyntax

from kgtext.common.dead_letters import DeadLetter, Reason, make_dead_letter
from kgtext.kg.config import KgConfig
from kgtext.kg.ntriples import STAGE, Term, make_record
from kgtext.kg.records import LexiconEntry, LinesRead, Triple
from kgtext.kg.recover import Lost, lost_lines, parse_pieces, recover

logger = logging.getLogger(__name__)

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
PROPERTY_CLASSES = frozenset(
    {
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property",
        "http://www.w3.org/2002/07/owl#ObjectProperty",
        "http://www.w3.org/2002/07/owl#DatatypeProperty",
        "http://www.w3.org/2002/07/owl#AnnotationProperty",
        "http://www.w3.org/2002/07/owl#FunctionalProperty",
        "http://wikiba.se/ontology#Property",
    }
)


class RdfSyntax(str, enum.Enum):
    """rdflib parser names of the whole-file syntaxes."""

    TURTLE = "turtle"
    N3 = "n3"
    TRIG = "trig"
    RDFXML = "xml"
    JSONLD = "json-ld"


MAX_ENTITY_VALUE_BYTES = 4096
"""Longest internal entity value accepted (OWL exports declare namespace IRIs; a long value repeated
many times is the quadratic-blowup attack)."""


class _UnsafeXmlError(Exception):
    """Internal: raised from an expat handler to stop at the first unsafe declaration."""


class _PrologDoneError(Exception):
    """Internal: the root element started, so the document type declaration (if any) is over."""


def _on_doctype(name: str, system_id: str | None, public_id: str | None, has_internal_subset: int) -> None:
    if system_id or public_id:
        raise _UnsafeXmlError(f"DOCTYPE names an external DTD ({system_id or public_id!r})")


def _on_entity(
    name: str,
    is_parameter_entity: int,
    value: str | None,
    base: str | None,
    system_id: str | None,
    public_id: str | None,
    notation_name: str | None,
) -> None:
    if is_parameter_entity:
        raise _UnsafeXmlError(f"parameter entity {name!r}")
    if value is None:
        raise _UnsafeXmlError(f"external entity {name!r} (XXE)")
    if "&" in value or "%" in value:
        raise _UnsafeXmlError(f"entity {name!r} expands other entities (billion laughs)")
    if len(value.encode("utf-8")) > MAX_ENTITY_VALUE_BYTES:
        raise _UnsafeXmlError(
            f"entity {name!r} is longer than {MAX_ENTITY_VALUE_BYTES} bytes (quadratic blowup)"
        )


def _on_root(name: str, attributes: object) -> None:
    raise _PrologDoneError


def xml_safety_problem(data: bytes) -> str | None:
    """Why this XML must not be parsed (external DTD, external, parameter, recursive or huge entities),
    or None when it is safe.

    The prolog is read by expat itself (the parser rdflib uses), in whatever encoding the document
    declares or its byte-order mark says (UTF-8, UTF-16, ...), so comments, processing instructions or
    encodings cannot hide a declaration from the check. Parsing stops at the root element: the time is
    bounded by the size of the prolog and no entity is ever expanded. A prolog expat cannot read is left
    to rdflib, which reports it as a syntax error.
    """
    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _on_doctype
    parser.EntityDeclHandler = _on_entity
    parser.StartElementHandler = _on_root
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except _UnsafeXmlError as err:
        return str(err)
    except (_PrologDoneError, xml.parsers.expat.ExpatError):
        return None
    return None


def remote_context_problem(node: Any) -> str | None:
    """A remote ``@context``/``@import`` anywhere in a JSON-LD document, or None."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@import":
                return f"@import {value!r}"
            if key == "@context":
                contexts = value if isinstance(value, list) else [value]
                remote = [c for c in contexts if isinstance(c, str)]
                if remote:
                    return f"remote @context {remote[0]!r}"
            problem = remote_context_problem(value)
            if problem:
                return problem
    elif isinstance(node, list):
        for item in node:
            problem = remote_context_problem(item)
            if problem:
                return problem
    return None


def sniff_owl_syntax(data: bytes) -> RdfSyntax:
    """``.owl`` files are RDF/XML when they start with ``<``, else Turtle (Manchester/functional are not RDF)."""
    return RdfSyntax.RDFXML if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else RdfSyntax.TURTLE


def _term(node: rdflib.term.Node) -> Term:
    if isinstance(node, rdflib.Literal):
        lang = (node.language or "").lower()
        return Term(str(node), True, str(node.datatype) if node.datatype else "", lang)
    if isinstance(node, rdflib.BNode):
        return Term(f"_:{node}", False, "", "")
    return Term(str(node), False, "", "")


def _error_line(err: Exception) -> int:
    """1-based line of a parse error when the parser reports one, else -1."""
    if isinstance(err, BadSyntax):
        return int(err.lines) + 1
    if isinstance(err, SAXParseException):
        line = err.getLineNumber()
        return int(line) if line is not None else -1
    if isinstance(err, json.JSONDecodeError):
        return err.lineno
    return -1


PARSE_ERRORS: tuple[type[Exception], ...] = (
    SyntaxError,
    ValueError,
    SAXException,
    ParserError,
    KeyError,
    TypeError,
    AssertionError,
)
"""What rdflib raises on a file it cannot read (its Notation3 parser also fails some inputs by assert)."""
RECOVERABLE = frozenset({RdfSyntax.TURTLE, RdfSyntax.N3, RdfSyntax.TRIG})
"""Syntaxes whose statements can be parsed piece by piece after a syntax error (:mod:`kgtext.kg.recover`)."""

TermTriple = tuple[Term, Term, Term]


class _TurtleSink(rdflib.Graph):
    """A graph that only collects the statements a parser adds, in order and with repeats, without indexing
    them in a store. rdflib's Turtle parser hands every statement to ``add`` and reads nothing back; this
    saves about a third of its time (callers de-duplicate)."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[tuple[Any, Any, Any]] = []

    def add(self, triple: Any) -> _TurtleSink:
        self.added.append(triple)
        return self


def _parse_terms(data: bytes, syntax: RdfSyntax, file: str) -> list[TermTriple]:
    """All statements of ``data`` as terms (Turtle's may repeat); raises one of :data:`PARSE_ERRORS`."""
    public_id = f"file:///{file.lstrip('/')}"
    if syntax is RdfSyntax.TURTLE:
        sink = _TurtleSink()
        sink.parse(data=data, format=syntax.value, publicID=public_id)
        return [(_term(s), _term(p), _term(o)) for s, p, o in sink.added]
    # Only TriG has named graphs; a plain Graph avoids Dataset's deprecated default-context paths.
    graph = rdflib.Dataset(default_union=True) if syntax is RdfSyntax.TRIG else rdflib.Graph()
    if syntax is RdfSyntax.RDFXML:  # a byte stream: the XML parser then honours the declared encoding
        graph.parse(source=io.BytesIO(data), format=syntax.value, publicID=public_id)
    else:
        graph.parse(data=data, format=syntax.value, publicID=public_id)
    return [(_term(s), _term(p), _term(o)) for s, p, o in graph.triples((None, None, None))]


def line_count(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def _lost_letters(lost: Sequence[Lost], data: bytes, file: str) -> list[DeadLetter]:
    """One dead letter per statement rdflib cannot parse even alone (and a warning for the file)."""
    total, n_lost = line_count(data), lost_lines(lost)
    letters = []
    for item in lost:
        first, last = item.statement.first_line, item.statement.last_line
        excerpt = (
            f"{file}:{first}-{last}: {item.error}; skipped {last - first + 1} line(s) "
            f"({n_lost} of {total} lines of the file lost in all): {item.statement.text.strip()[:300]!r}"
        )
        letters.append(make_dead_letter(STAGE, file, Reason.SYNTAX_ERROR, excerpt, line=first))
    if lost:
        logger.warning(
            "%s: %d statement(s) rdflib cannot parse were skipped (first at line %d); %d of %d lines lost",
            file,
            len(lost),
            lost[0].statement.first_line,
            n_lost,
            total,
        )
    return letters


def _recover(data: bytes, syntax: RdfSyntax, file: str) -> tuple[list[TermTriple], list[DeadLetter], int]:
    """The statements of a broken file that still parse, a dead letter per lost statement, lines lost."""
    pieces, lost = recover(data, lambda piece: _parse_terms(piece, syntax, file), PARSE_ERRORS)
    return [t for piece in pieces for t in piece], _lost_letters(lost, data, file), lost_lines(lost)


def _property_subjects(triples: Iterable[TermTriple]) -> set[str]:
    return {s.value for s, p, o in triples if p.value == RDF_TYPE and o.value in PROPERTY_CLASSES}


def parse_rdf_bytes(
    data: bytes, syntax: RdfSyntax, *, file: str, config: KgConfig
) -> Iterator[Triple | LexiconEntry | DeadLetter | LinesRead]:
    """Parse one whole file with rdflib; records come out sorted (deterministic across runs).

    A syntax error in Turtle, N3 or TriG costs only the statements around it (:mod:`kgtext.kg.recover`): one
    dead letter per lost statement with its lines. Other syntaxes lose the whole file (one dead letter).
    When lines were lost, a :class:`LinesRead` with ``lines=0`` and ``lost`` set says how many. Turtle,
    N3 and TriG files over ``config.rdflib_piece_bytes`` are parsed piece by piece
    (:func:`_parse_in_pieces`).
    """
    rejection = _safety_problem(data, syntax)
    if rejection is not None:
        reason, problem, line = rejection
        yield make_dead_letter(STAGE, file, reason, f"{file}: {problem}", line=line)
        yield LinesRead(file, 0, lost=line_count(data))
        return
    if syntax in RECOVERABLE and len(data) > config.rdflib_piece_bytes:
        yield from _parse_in_pieces(data, syntax, file, config)
        return
    try:
        triples = _parse_terms(data, syntax, file)
    except PARSE_ERRORS as err:
        if syntax not in RECOVERABLE:
            line = _error_line(err)
            where = f"{file}:{line}" if line > 0 else file
            excerpt = (
                f"{where}: {type(err).__name__}: {err}; the whole file ({line_count(data)} lines) was skipped"
            )
            logger.warning("%s", excerpt.splitlines()[0])
            yield make_dead_letter(STAGE, file, Reason.SYNTAX_ERROR, excerpt, line=line)
            yield LinesRead(file, 0, lost=line_count(data))
            return
        triples, letters, n_lost = _recover(data, syntax, file)
        yield from letters
        yield LinesRead(file, 0, lost=n_lost)
    unique = sorted(set(triples))
    properties = frozenset(_property_subjects(unique))
    for s, p, o in unique:
        yield make_record(s.value, p.value, o, config, property_iris=properties)


def _parse_in_pieces(
    data: bytes, syntax: RdfSyntax, file: str, config: KgConfig
) -> Iterator[Triple | LexiconEntry | DeadLetter | LinesRead]:
    """A large Turtle/N3/TriG file, one piece of statements at a time (:func:`kgtext.kg.recover.parse_pieces`).

    Each piece's statements come out sorted and distinct (a statement repeated in two pieces comes out
    twice, as a repeated N-Triples line does). Naming statements wait until the whole file is read: whether
    a name is a relation's depends on ``rdf:type`` statements anywhere in the file; they are a small share
    of a KG (about one per entity), unlike the triples, which leave as soon as their piece is parsed.
    """
    properties: set[str] = set()
    names: list[TermTriple] = []
    lost: list[Lost] = []
    for item in parse_pieces(
        data, lambda piece: _parse_terms(piece, syntax, file), PARSE_ERRORS, config.rdflib_piece_bytes
    ):
        if isinstance(item, Lost):
            lost.append(item)
            continue
        unique = sorted(set(item))
        properties |= _property_subjects(unique)
        for s, p, o in unique:
            if o.is_literal and config.label_kind(p.value) is not None:
                names.append((s, p, o))
            else:
                yield make_record(s.value, p.value, o, config)
    if lost:
        yield from _lost_letters(lost, data, file)
        yield LinesRead(file, 0, lost=lost_lines(lost))
    frozen = frozenset(properties)
    for s, p, o in names:
        yield make_record(s.value, p.value, o, config, property_iris=frozen)


def _safety_problem(data: bytes, syntax: RdfSyntax) -> tuple[Reason, str, int] | None:
    """(reason, message, line) when the bytes must not reach rdflib."""
    if syntax is RdfSyntax.RDFXML:
        problem = xml_safety_problem(data)
        return None if problem is None else (Reason.UNSAFE_XML, problem, -1)
    if syntax is RdfSyntax.JSONLD:
        try:
            document = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            line = err.lineno if isinstance(err, json.JSONDecodeError) else -1
            return Reason.SYNTAX_ERROR, f"line {line}: invalid JSON: {err}", line
        problem = remote_context_problem(document)
        return None if problem is None else (Reason.REMOTE_CONTEXT, problem, -1)
    return None
