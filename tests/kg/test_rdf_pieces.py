"""Large Turtle files are parsed piece by piece: the same records as one whole-file parse."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from kgtext.kg.config import KgConfig
from kgtext.kg.rdf_files import RdfSyntax, parse_rdf_bytes
from kgtext.kg.records import LinesRead

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pipelines" / "redocred" / "kg.ttl"


def _records(data: bytes, piece_bytes: int) -> Counter[object]:
    config = KgConfig(rdflib_piece_bytes=piece_bytes)
    items = parse_rdf_bytes(data, RdfSyntax.TURTLE, file=str(FIXTURE), config=config)
    return Counter(r for r in items if not isinstance(r, LinesRead))


def test_pieces_give_the_whole_file_records() -> None:
    data = FIXTURE.read_bytes()
    whole = _records(data, len(data) + 1)
    pieces = _records(data, 2048)
    assert len(data) > 4 * 2048 and sum(whole.values()) > 100
    assert set(pieces) == set(whole)
    assert all(n == 1 for n in whole.values())


def test_a_broken_statement_costs_only_itself_in_pieces() -> None:
    data = FIXTURE.read_bytes()
    broken = data + b'\n<http://example.org/x> <http://example.org/p> "unterminated .\n'
    config = KgConfig(rdflib_piece_bytes=2048)
    items = list(parse_rdf_bytes(broken, RdfSyntax.TURTLE, file="kg.ttl", config=config))
    letters = [r for r in items if getattr(r, "reason", None) == "syntax_error"]
    assert len(letters) == 1 and letters[0].line == data.count(b"\n") + 2
    kept = Counter(r for r in items if not isinstance(r, LinesRead) and r not in letters)
    assert set(kept) == set(_records(data, len(data) + 1))
