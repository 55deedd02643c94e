"""A Turtle, N3 or TriG file that rdflib rejects -> the statements it can still read, and what was lost.

rdflib parses a whole file or nothing: one broken line would cost every statement of the file. On a parse
failure the file is cut at statement boundaries (a ``.`` that ends a statement, outside strings, IRIs,
comments and ``{ }`` graph blocks; a line-leading ``PREFIX``/``BASE``), every ``@prefix``/``@base``/
``PREFIX``/``BASE`` directive is kept as a header, and the statements are parsed in halves, recursively, until
each failing piece is one statement (bisection: about ``2 log2(n)`` extra parses per bad statement). The
statements of the failing pieces are reported with their line ranges; everything else is kept.

Limits (docs/KG.md): a blank node label (``_:b``) used in two pieces becomes two blank nodes in recovered
files, and a statement whose end the scanner cannot see (an unterminated long string) is lost together with
the statements up to the next ``.`` it does see.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, TypeVar

T = TypeVar("T")

_TOKEN = re.compile(
    rb'"""(?:[^"\\]|\\.|"(?!""))*"""'
    rb"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    rb'|"(?:[^"\\\n]|\\.)*"'
    rb"|'(?:[^'\\\n]|\\.)*'"
    rb"|<[^<>\"{}|^`\\\s]*>"
    rb"|\#[^\n]*"
    rb"|[{}]"
    rb"|\.(?=\s|\#|$)"
    rb"|^[ \t]*(?:PREFIX|BASE)\b[^\n]*",
    re.DOTALL | re.MULTILINE | re.IGNORECASE,
)
_DIRECTIVE = re.compile(rb"\s*(?:@prefix|@base|PREFIX\b|BASE\b)", re.IGNORECASE)


class Statement(NamedTuple):
    """One statement (or directive) of the file: its bytes and its 1-based first and last lines."""

    first_line: int
    last_line: int
    text: bytes


class Lost(NamedTuple):
    """A statement rdflib cannot parse even alone, and rdflib's message for it."""

    statement: Statement
    error: str


def split_statements(data: bytes) -> list[Statement]:
    """Cut ``data`` after every top-level statement end; blank space and comments join the next piece."""
    cuts: list[int] = []
    depth = 0
    for match in _TOKEN.finditer(data):
        token = match.group()
        if token == b"{":
            depth += 1
        elif token == b"}":
            depth = max(0, depth - 1)
            if depth == 0:
                cuts.append(match.end())
        elif token == b"." and depth == 0:
            cuts.append(match.end())
        elif depth == 0 and token.lstrip()[:1] in (b"P", b"p", b"B", b"b"):
            cuts += [match.start(), match.end()]  # a SPARQL-style directive is its own statement
    statements: list[Statement] = []
    start, line = 0, 1
    for end in [*cuts, len(data)]:
        if end <= start:
            continue
        piece = data[start:end]
        lead = len(piece) - len(piece.lstrip())
        first = line + piece.count(b"\n", 0, lead)
        line += piece.count(b"\n")
        if piece.strip():
            statements.append(Statement(first, line - (1 if piece.endswith(b"\n") else 0), piece))
        start = end
    return statements


def is_directive(statement: Statement) -> bool:
    body = b"\n".join(
        ln for ln in statement.text.splitlines() if ln.strip() and not ln.lstrip().startswith(b"#")
    )
    return bool(_DIRECTIVE.match(body))


def parse_pieces(
    data: bytes, parse: Callable[[bytes], T], errors: tuple[type[Exception], ...], piece_bytes: int
) -> Iterator[T | Lost]:
    """Parse ``data`` in pieces of consecutive statements of at most ``piece_bytes`` (one statement at
    least), in file order: each accepted piece's result, or, for a piece ``parse`` rejects, the results of
    its halves (recursively) and a :class:`Lost` per statement that fails alone.

    ``parse`` raises one of ``errors`` on bytes it cannot read; it is called with every directive of the
    file prepended to each piece. Only one piece's result is alive at a time if the caller consumes them.
    """
    statements = split_statements(data)
    header = b"".join(s.text + b"\n" for s in statements if is_directive(s))
    body = [s for s in statements if not is_directive(s)]
    del statements
    start, size = 0, 0
    ranges: list[tuple[int, int]] = []
    for i, statement in enumerate(body):
        if i > start and size + len(statement.text) > piece_bytes:
            ranges.append((start, i))
            start, size = i, 0
        size += len(statement.text)
    if body:
        ranges.append((start, len(body)))
    for first in ranges:
        pending = [first]
        while pending:
            lo, hi = pending.pop()
            try:
                result = parse(header + b"".join(s.text for s in body[lo:hi]))
            except errors as err:
                if hi - lo == 1:
                    yield Lost(body[lo], f"{type(err).__name__}: {err}".splitlines()[0])
                else:
                    mid = (lo + hi) // 2
                    pending += [(mid, hi), (lo, mid)]
            else:
                yield result


def recover(
    data: bytes, parse: Callable[[bytes], T], errors: tuple[type[Exception], ...]
) -> tuple[list[T], list[Lost]]:
    """Parse the pieces of ``data`` that ``parse`` accepts (each result in file order) and the lost ones
    (:func:`parse_pieces` with the whole file as the first piece)."""
    results: list[T] = []
    lost: list[Lost] = []
    for item in parse_pieces(data, parse, errors, len(data) + 1):
        if isinstance(item, Lost):
            lost.append(item)
        else:
            results.append(item)
    return results, lost


def lost_lines(lost: Sequence[Lost]) -> int:
    """Lines covered by the lost statements."""
    return sum(item.statement.last_line - item.statement.first_line + 1 for item in lost)
