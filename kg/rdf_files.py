"""Whole-file RDF syntaxes (Turtle, N3, TriG, RDF/XML, OWL, JSON-LD) -> records, through rdflib, safely.

rdflib holds a file in memory, so files above ``KgConfig.max_rdflib_file_bytes`` are rejected. Before rdflib
sees the bytes: RDF/XML whose DOCTYPE declares external entities, parameter entities or entities that expand
other entities (XXE, "billion laughs") is rejected as ``unsafe_xml``, and JSON-LD naming a remote
``@context`` or ``@import`` is rejected as ``remote_context``; nothing touches the network or other files.
A parse failure becomes one dead letter naming the file and the line rdflib reports.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator
from typing import Any
from xml.sax import SAXException, SAXParseException

import rdflib
from rdflib.exceptions import ParserError
from rdflib.plugins.parsers.notation3 import BadSyntax

from corpus.records import DeadLetter, Reason, make_dead_letter
from kg.config import KgConfig
from kg.ntriples import STAGE, Term, make_record
from kg.records import LexiconEntry, Triple

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


_DOCTYPE = re.compile(rb"<!DOCTYPE\s+[^\s\[>]+(\s+(?:SYSTEM|PUBLIC)\b)?[^\[>]*(?:\[(.*?)\]\s*)?>", re.DOTALL)
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s+)?([^\s]+)\s+(SYSTEM|PUBLIC|\"[^\"]*\"|'[^']*')", re.DOTALL)


def xml_safety_problem(data: bytes) -> str | None:
    """Why this XML must not be parsed (external or recursive entities), or None when it is safe."""
    match = _DOCTYPE.search(data)
    if match is None:
        return "ENTITY declaration outside a DOCTYPE" if b"<!ENTITY" in data else None
    if match.group(1):
        return "DOCTYPE names an external DTD"
    subset = match.group(2) or b""
    declared = _ENTITY_DECL.findall(subset)
    if subset.count(b"<!ENTITY") != len(declared):
        return "unreadable ENTITY declaration"
    for percent, name, value in declared:
        label = name.decode("utf-8", "replace")
        if percent:
            return f"parameter entity {label!r}"
        if value in (b"SYSTEM", b"PUBLIC"):
            return f"external entity {label!r} (XXE)"
        if b"&" in value or b"%" in value:
            return f"entity {label!r} expands other entities (billion laughs)"
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


def parse_rdf_bytes(
    data: bytes, syntax: RdfSyntax, *, file: str, config: KgConfig
) -> Iterator[Triple | LexiconEntry | DeadLetter]:
    """Parse one whole file with rdflib; records come out sorted (deterministic across runs)."""
    rejection = _safety_problem(data, syntax)
    if rejection is not None:
        reason, problem, line = rejection
        yield make_dead_letter(STAGE, file, reason, f"{file}: {problem}", line=line)
        return
    # Only TriG has named graphs; a plain Graph avoids Dataset's deprecated default-context paths.
    graph = rdflib.Dataset(default_union=True) if syntax is RdfSyntax.TRIG else rdflib.Graph()
    try:
        graph.parse(data=data, format=syntax.value, publicID=f"file:///{file.lstrip('/')}")
    except (SyntaxError, ValueError, SAXException, ParserError, KeyError, TypeError) as err:
        line = _error_line(err)
        where = f"{file}:{line}" if line > 0 else file
        yield make_dead_letter(
            STAGE, file, Reason.SYNTAX_ERROR, f"{where}: {type(err).__name__}: {err}", line=line
        )
        return
    triples = [tuple(_term(node) for node in spo) for spo in graph.triples((None, None, None))]
    properties = frozenset(
        s.value for s, p, o in triples if p.value == RDF_TYPE and o.value in PROPERTY_CLASSES
    )
    triples.sort()
    for s, p, o in triples:
        yield make_record(s.value, p.value, o, config, property_iris=properties)


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
