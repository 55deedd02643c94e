"""kg.ntriples: the streaming N-Triples/N-Quads line parser, checked against rdflib on the same input."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib

from kgtext.common.dead_letters import DeadLetter
from kgtext.kg.config import KgConfig
from kgtext.kg.ntriples import parse_ntriples_line
from kgtext.kg.records import LexiconEntry, Triple

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kg"
XSD = "http://www.w3.org/2001/XMLSchema#"
CONFIG = KgConfig()
# Every statement a Triple: nothing is a label predicate (used for the rdflib comparison).
RAW = KgConfig(preferred_label_predicates=("urn:x-kgtext:none",), alias_predicates=())

# Every production of the N-Triples grammar at least once (W3C RDF 1.1 N-Triples, section 7).
GRAMMAR_CASES = (
    "<http://ex.org/s> <http://ex.org/p> <http://ex.org/o> .\n"
    "<http://ex.org/s>\t<http://ex.org/p>\t<http://ex.org/o>\t.\t# trailing comment\n"
    "_:b0 <http://ex.org/p> _:b1.b-2 .\n"
    '<http://ex.org/s> <http://ex.org/p> "plain" .\n'
    '<http://ex.org/s> <http://ex.org/p> "tagged"@en-GB .\n'
    '<http://ex.org/s> <http://ex.org/p> "42"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
    '<http://ex.org/s> <http://ex.org/p> "tab\\tnl\\ncr\\rq\\"sq\\\'bs\\\\b\\bf\\f" .\n'
    '<http://ex.org/s> <http://ex.org/p> "\\u00E9\\U0001F600 caf\\u00e9" .\n'
    "<http://ex.org/\\u00E9t\\U00000065> <http://ex.org/p> <urn:isbn:0451450523> .\n"
    '<http://ex.org/s> <http://ex.org/p> "" .\n'
    '<http://ex.org/s> <http://ex.org/p> "a \\"quoted\\" word"@fr .\n'
    "# a comment line\n"
    "\n"
    '<http://ex.org/s> <http://ex.org/p> "ünïcödé literal"@de .\n'
)


def _parse(text: str, config: KgConfig = CONFIG) -> list[Triple | LexiconEntry | DeadLetter | None]:
    return [
        parse_ntriples_line(line.encode("utf-8"), file="t.nt", line_no=n, config=config)
        for n, line in enumerate(text.splitlines(keepends=True), start=1)
    ]


def _as_rdflib(records: list[Triple | LexiconEntry | DeadLetter | None]) -> list[tuple[str, str, str]]:
    out = []
    for rec in records:
        if rec is None:
            continue
        assert isinstance(rec, Triple)
        if rec.tail_is_literal:
            tail = rdflib.Literal(rec.tail, lang=rec.lang or None, datatype=rec.datatype or None).n3()
        else:
            tail = "_:b" if rec.tail.startswith("_:") else f"<{rec.tail}>"
        head = "_:b" if rec.head.startswith("_:") else f"<{rec.head}>"
        out.append((head, f"<{rec.relation}>", tail.replace("@en-GB", "@en-gb")))
    return sorted(set(out))


def _rdflib_triples(data: bytes) -> list[tuple[str, str, str]]:
    graph = rdflib.Graph().parse(data=data, format="nt")
    norm = [tuple("_:b" if isinstance(t, rdflib.BNode) else t.n3() for t in spo) for spo in graph]
    return sorted((s, p, o.replace("@en-GB", "@en-gb")) for s, p, o in norm)


def test_full_grammar_matches_rdflib() -> None:
    """Same set of triples (rdflib's Graph is a set: the duplicate second line collapses)."""
    assert _as_rdflib(_parse(GRAMMAR_CASES, RAW)) == _rdflib_triples(GRAMMAR_CASES.encode("utf-8"))


def test_rebel_fixture_matches_rdflib() -> None:
    data = (FIXTURES / "rebel" / "kg_statements_sample.nt").read_bytes()
    records = _parse(data.decode("utf-8"), RAW)
    assert len(records) == 50
    assert _as_rdflib(records) == _rdflib_triples(data)


def test_escapes_are_decoded() -> None:
    records = _parse(GRAMMAR_CASES, RAW)
    assert records[6] == Triple(
        "http://ex.org/s", "http://ex.org/p", "tab\tnl\ncr\rq\"sq'bs\\b\bf\f", True, "", ""
    )
    assert records[7] == Triple("http://ex.org/s", "http://ex.org/p", "é\U0001f600 café", True, "", "")
    assert records[8] == Triple("http://ex.org/éte", "http://ex.org/p", "urn:isbn:0451450523", False, "", "")


def test_common_shapes() -> None:
    records = _parse(GRAMMAR_CASES, RAW)
    assert records[2] == Triple("_:b0", "http://ex.org/p", "_:b1.b-2", False, "", "")
    assert records[4] == Triple("http://ex.org/s", "http://ex.org/p", "tagged", True, "", "en-gb")
    assert records[5] == Triple("http://ex.org/s", "http://ex.org/p", "42", True, XSD + "integer", "")
    assert records[11] is None and records[12] is None


def test_label_lines_become_lexicon_entries() -> None:
    lines = (FIXTURES / "rebel" / "kg_statements_sample.nt").read_text(encoding="utf-8")
    records = _parse(lines)
    assert records[40] == LexiconEntry(
        "http://www.wikidata.org/prop/direct/P17", "relation", "country", True, "en"
    )
    assert records[46] == LexiconEntry(
        "http://www.wikidata.org/entity/Q105334", "entity", "Klaus Conrad", True, "en"
    )
    alias = _parse((FIXTURES / "rebel" / "anchor_aliases_sample.nt").read_text(encoding="utf-8"))[0]
    assert alias == LexiconEntry(
        "http://www.wikidata.org/entity/Q1000479", "entity", "Boston Children’s Hospital", False, "en"
    )


def test_label_with_iri_object_stays_a_triple() -> None:
    line = b"<http://ex.org/s> <http://www.w3.org/2000/01/rdf-schema#label> <http://ex.org/o> ."
    record = parse_ntriples_line(line, file="t.nt", line_no=1, config=CONFIG)
    assert isinstance(record, Triple)


def test_nquads_graph_label_is_dropped_and_nt_rejects_it() -> None:
    line = b'<http://ex.org/s> <http://ex.org/p> "o"@en <http://ex.org/g> .\n'
    assert parse_ntriples_line(line, file="t.nq", line_no=1, config=CONFIG) == Triple(
        "http://ex.org/s", "http://ex.org/p", "o", True, "", "en"
    )
    bad = parse_ntriples_line(line, file="t.nt", line_no=3, config=CONFIG, allow_graph=False)
    assert isinstance(bad, DeadLetter) and (bad.reason, bad.line) == ("wrong_arity", 3)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"<not an iri> <http://ex.org/p> <http://ex.org/o> .", "bad_iri"),
        (b"<relative> <http://ex.org/p> <http://ex.org/o> .", "bad_iri"),
        (b"<http://ex.org/s <http://ex.org/p> <http://ex.org/o> .", "bad_iri"),
        (b'<http://ex.org/s> <http://ex.org/p> "never closed .', "unterminated_literal"),
        (b'<http://ex.org/s> <http://ex.org/p> "bad \\x escape" .', "bad_escape"),
        (b'<http://ex.org/s> <http://ex.org/p> "short \\u12" .', "bad_escape"),
        (b'<http://ex.org/s> <http://ex.org/p> "surrogate \\uD800" .', "bad_escape"),
        (b"<http://ex.org/s> <http://ex.org/p> .", "wrong_arity"),
        (
            b"<http://ex.org/s> <http://ex.org/p> <http://ex.org/o> <http://ex.org/g> <http://ex.org/x> .",
            "wrong_arity",
        ),
        (b"<http://ex.org/s> <http://ex.org/p>", "wrong_arity"),
        (b"<http://ex.org/s> <http://ex.org/p> <http://ex.org/o>", "syntax_error"),
        (b'"lit" <http://ex.org/p> <http://ex.org/o> .', "syntax_error"),
        (b"<http://ex.org/s> <http://ex.org/p> <http://ex.org/o> . junk", "syntax_error"),
        (b'<http://ex.org/s> <http://ex.org/p> "x"@ .', "bad_literal"),
        (b'<http://ex.org/s> <http://ex.org/p> "x"^^xsd:int .', "bad_literal"),
        (b"_:-bad <http://ex.org/p> <http://ex.org/o> .", "bad_blank_node"),
        (b'<http://ex.org/s> <http://ex.org/p> "caf\xe9" .', "invalid_utf8"),
    ],
)
def test_bad_lines_become_dead_letters(line: bytes, reason: str) -> None:
    record = parse_ntriples_line(line, file="dump.nt", line_no=7, config=CONFIG)
    assert isinstance(record, DeadLetter)
    assert (record.stage, record.file, record.line, record.reason) == ("read_kg", "dump.nt", 7, reason)
