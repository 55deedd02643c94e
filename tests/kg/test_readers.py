"""kg.readers / kg.rdf_files: every format by extension, compression, and every bad-input case of issue 3."""

from __future__ import annotations

import bz2
import gzip
import shutil
from collections import Counter
from pathlib import Path

import pytest

from kgtext.common.dead_letters import DeadLetter
from kgtext.kg.config import KgConfig
from kgtext.kg.rdf_files import RdfSyntax, parse_rdf_bytes, xml_safety_problem
from kgtext.kg.readers import KgFormat, kg_format_of, read_kg_file, read_kg_items
from kgtext.kg.records import LexiconEntry, LinesRead, Triple

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kg"
REBEL = FIXTURES / "rebel" / "kg_statements_sample.nt"
SPACE = FIXTURES / "tekgen" / "ont_7_space.ttl"
CONFIG = KgConfig()
ONTO = "https://cenguix.github.io/Text2KGBench/ont_7_space/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"

# Ten statements of the TEKGEN space ontology, written as a Turtle string.
SPACE_TURTLE = b"""@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix c: <https://cenguix.github.io/Text2KGBench/ont_7_space/concepts#> .
@prefix r: <https://cenguix.github.io/Text2KGBench/ont_7_space/relations#> .
c:Q11631 a owl:Class ; rdfs:label "astronaut" .
c:Q634 a owl:Class ; rdfs:label "planet" .
r:P450 a owl:ObjectProperty ; rdfs:label "astronaut mission" ;
    rdfs:domain c:Q5 ; rdfs:range c:Q5916 .
r:P59 a owl:ObjectProperty ; rdfs:label "constellation" .
"""


def _kinds(records: list[object]) -> Counter[str]:
    return Counter(type(r).__name__ for r in records)


def _dead(records: list[object]) -> list[DeadLetter]:
    return [r for r in records if isinstance(r, DeadLetter)]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.nt", KgFormat.NTRIPLES), ("a.nt.gz", KgFormat.NTRIPLES), ("A.NQ.bz2", KgFormat.NQUADS),
        ("a.ttl", KgFormat.TURTLE), ("a.n3", KgFormat.N3), ("a.trig", KgFormat.TRIG), ("a.rdf", KgFormat.RDFXML),
        ("a.xml", KgFormat.RDFXML), ("a.owl", KgFormat.OWL), ("a.jsonld", KgFormat.JSONLD),
        ("triples.tsv", KgFormat.TSV_TRIPLES), ("wikidata5m_entity.txt", KgFormat.TSV_NAMES),
        ("gs://bucket/wikidata5m_relation.txt.gz", KgFormat.TSV_NAMES),
    ],
)  # fmt: skip
def test_kg_format_of(name: str, fmt: KgFormat) -> None:
    assert kg_format_of(name) is fmt


@pytest.mark.parametrize("name", ["kg.csv", "kg", "kg.json.gz"])
def test_unknown_extension_names_the_file(name: str) -> None:
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        kg_format_of(name)
    with pytest.raises(ValueError, match="unknown KG file extension"):
        list(read_kg_file(name, CONFIG))


def test_turtle_string_in_memory() -> None:
    records = list(parse_rdf_bytes(SPACE_TURTLE, RdfSyntax.TURTLE, file="mem.ttl", config=CONFIG))
    assert [r for r in records if isinstance(r, LexiconEntry)] == [
        LexiconEntry(ONTO + "concepts#Q11631", "entity", "astronaut", True, ""),
        LexiconEntry(ONTO + "concepts#Q634", "entity", "planet", True, ""),
        LexiconEntry(ONTO + "relations#P450", "relation", "astronaut mission", True, ""),
        LexiconEntry(ONTO + "relations#P59", "relation", "constellation", True, ""),
    ]
    assert Triple(ONTO + "relations#P450", RDFS + "range", ONTO + "concepts#Q5916", False, "", "") in records
    assert _kinds(records) == Counter({"Triple": 6, "LexiconEntry": 4})


def test_real_turtle_ontology() -> None:
    records = list(read_kg_items(str(SPACE), CONFIG))
    assert _kinds(records) == Counter({"Triple": 41, "LexiconEntry": 23, "LinesRead": 1})
    assert records[-1] == LinesRead(str(SPACE), 92)
    relations = sorted(r.name for r in records if isinstance(r, LexiconEntry) and r.kind == "relation")
    assert relations[:3] == ["astronaut mission", "backup or reserve team or crew", "constellation"]


def test_real_ntriples_plain_gz_bz2_agree(tmp_path: Path) -> None:
    plain = list(read_kg_file(str(REBEL), CONFIG))
    gz = tmp_path / "kg.nt.gz"
    gz.write_bytes(gzip.compress(REBEL.read_bytes()))
    bz = tmp_path / "kg.nt.bz2"
    bz.write_bytes(bz2.compress(REBEL.read_bytes()))
    assert _kinds(plain) == Counter({"Triple": 43, "LexiconEntry": 7})
    assert [r._replace() for r in read_kg_file(str(gz), CONFIG)] == plain
    assert list(read_kg_file(str(bz), CONFIG)) == plain


def test_byte_ranges_cover_each_line_once(tmp_path: Path) -> None:
    whole = list(read_kg_items(str(REBEL), CONFIG))
    size = REBEL.stat().st_size
    parts: list[object] = []
    for start in range(0, size, 997):
        parts += read_kg_items(str(REBEL), CONFIG, start=start, end=min(start + 997, size))
    assert [r for r in parts if not isinstance(r, LinesRead)] == whole[:-1]
    assert sum(r.lines for r in parts if isinstance(r, LinesRead)) == 50


def test_bad_lines_keep_good_lines_with_line_numbers(tmp_path: Path) -> None:
    lines = REBEL.read_bytes().splitlines(keepends=True)
    lines[2] = b"<http://www.wikidata.org/entity/Q1 <http://x/p> <http://x/o> .\n"
    lines[5] = b'<http://x/s> <http://x/p> "caf\xe9" .\n'
    path = tmp_path / "broken.nt"
    path.write_bytes(b"".join(lines))
    records = list(read_kg_file(str(path), CONFIG))
    assert [(d.line, d.reason) for d in _dead(records)] == [(3, "bad_iri"), (6, "invalid_utf8")]
    assert len(records) == 50
    size = path.stat().st_size
    ranged = [
        r
        for s in range(0, size, 500)
        for r in read_kg_items(str(path), CONFIG, start=s, end=min(s + 500, size))
    ]
    assert [(d.line, d.reason) for d in _dead(ranged)] == [(3, "bad_iri"), (6, "invalid_utf8")]


def test_truncated_gz_keeps_lines_before_the_cut(tmp_path: Path) -> None:
    data = gzip.compress(REBEL.read_bytes())
    path = tmp_path / "cut.nt.gz"
    path.write_bytes(data[: len(data) // 2])
    records = list(read_kg_file(str(path), CONFIG))
    dead = _dead(records)
    assert len(dead) == 1 and dead[0].reason == "truncated_compressed"
    good = [r for r in records if not isinstance(r, DeadLetter)]
    assert 0 < len(good) < 50 and dead[0].line == len(good) + 1
    assert good == list(read_kg_file(str(REBEL), CONFIG))[: len(good)]


def test_not_gzip_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.ttl.gz"
    shutil.copy(SPACE, path)
    assert [d.reason for d in _dead(list(read_kg_file(str(path), CONFIG)))] == ["read_error"]


@pytest.mark.parametrize("name", ["empty.nt", "empty.ttl", "empty.tsv", "empty.nt.gz"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")
    records = list(read_kg_file(str(path), CONFIG))
    assert [(r.reason, r.file) for r in _dead(records)] == [("empty_file", str(path))] and len(records) == 1


def test_turtle_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    lines = SPACE.read_bytes().splitlines(keepends=True)
    lines[16] = b'    rdfs:label "astronaut .\n'
    path = tmp_path / "space.ttl"
    path.write_bytes(b"".join(lines))
    records = list(read_kg_file(str(path), CONFIG))
    dead = _dead(records)
    # The edit breaks two statements (lines 17 and 18); every other statement of the file is recovered.
    assert [(d.reason, d.line) for d in dead] == [("syntax_error", 17), ("syntax_error", 18)]
    assert dead[0].excerpt.startswith(f"{path}:17-17: AssertionError: Quote expected in string")
    assert "skipped 1 line(s) (2 of 92 lines of the file lost in all)" in dead[0].excerpt
    good = set(read_kg_file(str(SPACE), CONFIG))
    kept = [r for r in records if not isinstance(r, DeadLetter)]
    assert set(kept) <= good and len(good) - len(kept) == 2  # Q11631's type and label, both broken


def test_rdfxml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.rdf"
    path.write_bytes(
        b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n<a>\n</rdf:RDF>\n'
    )
    (dead,) = list(read_kg_file(str(path), CONFIG))
    assert (dead.reason, dead.line) == ("syntax_error", 4)


RDFXML_BODY = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
 <rdf:Description rdf:about="http://www.wikidata.org/entity/Q1016767"><rdfs:label xml:lang="en">&name;</rdfs:label></rdf:Description>
</rdf:RDF>
"""


def test_rdfxml_with_plain_internal_entity_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "ok.owl"
    path.write_bytes(
        b'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [ <!ENTITY name "Stari Grad"> ]>\n' + RDFXML_BODY
    )
    assert list(read_kg_file(str(path), CONFIG)) == [
        LexiconEntry("http://www.wikidata.org/entity/Q1016767", "entity", "Stari Grad", True, "en")
    ]


@pytest.mark.parametrize(
    ("doctype", "why"),
    [
        (b'<!DOCTYPE rdf:RDF [ <!ENTITY name SYSTEM "file:///etc/passwd"> ]>', "XXE"),
        (b'<!DOCTYPE rdf:RDF [ <!ENTITY name PUBLIC "-//x//EN" "http://evil.example/x"> ]>', "XXE"),
        (b'<!DOCTYPE rdf:RDF [ <!ENTITY % p SYSTEM "http://evil.example/p.dtd"> %p; ]>', "parameter entity"),
        (
            b'<!DOCTYPE rdf:RDF [ <!ENTITY l0 "ha"> <!ENTITY l1 "&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;">'
            b' <!ENTITY name "&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;"> ]>',
            "billion laughs",
        ),
        (b'<!DOCTYPE rdf:RDF SYSTEM "http://evil.example/rdf.dtd">', "external DTD"),
    ],
)
def test_unsafe_xml_is_rejected_before_parsing(tmp_path: Path, doctype: bytes, why: str) -> None:
    path = tmp_path / "evil.rdf"
    path.write_bytes(b'<?xml version="1.0"?>\n' + doctype + b"\n" + RDFXML_BODY)
    (dead,) = list(read_kg_file(str(path), CONFIG))
    assert dead.reason == "unsafe_xml" and why in dead.excerpt and str(path) in dead.excerpt
    assert why in (xml_safety_problem(path.read_bytes()) or "")


BILLION_LAUGHS = (
    '<!DOCTYPE rdf:RDF [ <!ENTITY l0 "ha"> <!ENTITY l1 "&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;">'
    ' <!ENTITY l2 "&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;"> <!ENTITY name "&l2;&l2;&l2;&l2;&l2;&l2;"> ]>'
)


@pytest.mark.parametrize(
    ("prolog", "encoding"),
    [
        ('<?xml version="1.0"?><!-- <!DOCTYPE x> -->\n' + BILLION_LAUGHS, "utf-8"),
        ('<?xml version="1.0"?><?pi <!DOCTYPE x>?><!-- a comment -->' + BILLION_LAUGHS, "utf-8"),
        ('<?xml version="1.0" encoding="UTF-16"?>\n' + BILLION_LAUGHS, "utf-16"),
        ('<?xml version="1.0" encoding="UTF-16"?><!-- <!DOCTYPE x> -->' + BILLION_LAUGHS, "utf-16-le"),
        ('<?xml version="1.0" encoding="ISO-8859-1"?>\n' + BILLION_LAUGHS, "latin-1"),
    ],
)
def test_entity_declarations_cannot_hide_behind_comments_or_encodings(
    tmp_path: Path, prolog: str, encoding: str
) -> None:
    text = prolog + "\n" + RDFXML_BODY.decode()
    data = text.encode(encoding)
    if encoding == "utf-16-le":
        data = b"\xff\xfe" + data  # UTF-16 with a byte-order mark
    path = tmp_path / "evil.rdf"
    path.write_bytes(data)
    (dead,) = list(read_kg_file(str(path), CONFIG))
    assert dead.reason == "unsafe_xml" and "billion laughs" in dead.excerpt


def test_a_huge_internal_entity_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blowup.rdf"
    value = "x" * 5000
    path.write_bytes(
        f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [ <!ENTITY name "{value}"> ]>'.encode() + RDFXML_BODY
    )
    (dead,) = list(read_kg_file(str(path), CONFIG))
    assert dead.reason == "unsafe_xml" and "longer than 4096 bytes" in dead.excerpt


def test_utf16_rdfxml_with_a_plain_entity_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "ok.rdf"
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE rdf:RDF [ <!ENTITY name "Stari Grad"> ]>\n'
    path.write_bytes((text + RDFXML_BODY.decode()).encode("utf-16"))
    assert list(read_kg_file(str(path), CONFIG)) == [
        LexiconEntry("http://www.wikidata.org/entity/Q1016767", "entity", "Stari Grad", True, "en")
    ]


JSONLD_INLINE = b"""{"@context": {"label": {"@id": "http://www.w3.org/2000/01/rdf-schema#label", "@language": "en"},
  "P17": {"@id": "http://www.wikidata.org/prop/direct/P17", "@type": "@id"}},
 "@id": "http://www.wikidata.org/entity/Q1018537", "label": "Ljubija", "P17": "http://www.wikidata.org/entity/Q43"}"""


def test_jsonld_with_inline_context(tmp_path: Path) -> None:
    path = tmp_path / "kg.jsonld"
    path.write_bytes(JSONLD_INLINE)
    assert list(read_kg_file(str(path), CONFIG)) == [
        LexiconEntry("http://www.wikidata.org/entity/Q1018537", "entity", "Ljubija", True, "en"),
        Triple("http://www.wikidata.org/entity/Q1018537", "http://www.wikidata.org/prop/direct/P17",
               "http://www.wikidata.org/entity/Q43", False, "", ""),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "document",
    [
        b'{"@context": "https://schema.org/", "@id": "http://x/a", "name": "A"}',
        b'{"@context": [{"a": "http://x/"}, "http://evil.example/ctx.jsonld"], "@id": "http://x/a"}',
        b'{"@graph": [{"@context": "file:///etc/passwd", "@id": "http://x/a"}]}',
        b'{"@context": {"@import": "http://evil.example/ctx.jsonld"}, "@id": "http://x/a"}',
    ],
)
def test_remote_jsonld_context_is_rejected(tmp_path: Path, document: bytes) -> None:
    path = tmp_path / "remote.jsonld"
    path.write_bytes(document)
    (dead,) = list(read_kg_file(str(path), CONFIG))
    assert dead.reason == "remote_context"


def test_invalid_json_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonld"
    path.write_bytes(b'{"@id": "http://x/a",\n "http://x/p": [}\n')
    (dead,) = list(read_kg_file(str(path), CONFIG))
    assert (dead.reason, dead.line) == ("syntax_error", 2)


def test_file_too_large_for_rdflib(tmp_path: Path) -> None:
    (dead,) = list(read_kg_file(str(SPACE), KgConfig(max_rdflib_file_bytes=1000)))
    assert dead.reason == "too_large"


def test_tsv_triples_with_label_predicates_and_escapes() -> None:
    path = FIXTURES / "wikidata_properties" / "wikidata_properties_head.tsv"
    records = list(read_kg_file(str(path), CONFIG))
    assert _kinds(records) == Counter({"LexiconEntry": 32})
    assert records[0] == LexiconEntry(
        "http://www.wikidata.org/prop/direct/P16", "relation", "highway system", True, ""
    )
    assert records[-1].name == "Biblioteca Nacional de España ID"


def test_tsv_bare_ids_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "wikidata5m_train.tsv"
    path.write_bytes(b"Q1016767\tP131\tQ36074\nQ1\tP2\nQ1\tP2\t1932-03-15\nQ1 x\tP2\tQ3\n\xff\tP1\tQ2\n")
    records = list(read_kg_file(str(path), CONFIG))
    wd, wdt = "http://www.wikidata.org/entity/", "http://www.wikidata.org/prop/direct/"
    assert records[0] == Triple(wd + "Q1016767", wdt + "P131", wd + "Q36074", False, "", "")
    assert records[2] == Triple(wd + "Q1", wdt + "P2", "1932-03-15", True, "", "")
    assert [(d.line, d.reason) for d in _dead(records)] == [
        (2, "bad_tsv_row"),
        (4, "bad_tsv_row"),
        (5, "invalid_utf8"),
    ]


def test_tsv_names_wikidata5m_layout(tmp_path: Path) -> None:
    path = tmp_path / "wikidata5m_relation.txt"
    path.write_text("P17\tcountry\tland\tnation\nP131\n", encoding="utf-8")
    records = list(read_kg_file(str(path), CONFIG))
    iri = "http://www.wikidata.org/prop/direct/P17"
    assert records[:3] == [
        LexiconEntry(iri, "relation", "country", True, ""),
        LexiconEntry(iri, "relation", "land", False, ""),
        LexiconEntry(iri, "relation", "nation", False, ""),
    ]
    assert [(d.line, d.reason) for d in _dead(records)] == [(2, "bad_tsv_row")]


def test_owl_file_holding_turtle_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "space.owl"
    shutil.copy(SPACE, path)
    assert list(read_kg_file(str(path), CONFIG)) == list(read_kg_file(str(SPACE), CONFIG))


def test_trig_and_nquads_drop_graph_names(tmp_path: Path) -> None:
    trig = tmp_path / "kg.trig"
    trig.write_bytes(
        b"@prefix wd: <http://www.wikidata.org/entity/> .\n@prefix wdt: <http://www.wikidata.org/prop/direct/> .\n"
        b"<http://ex.org/g1> { wd:Q1018537 wdt:P17 wd:Q43 . }\nwd:Q1016767 wdt:P131 wd:Q36074 .\n"
    )
    nquads = tmp_path / "kg.nq"
    nquads.write_bytes(
        b"<http://www.wikidata.org/entity/Q1018537> <http://www.wikidata.org/prop/direct/P17> "
        b"<http://www.wikidata.org/entity/Q43> <http://ex.org/g1> .\n"
        b"<http://www.wikidata.org/entity/Q1016767> <http://www.wikidata.org/prop/direct/P131> "
        b"<http://www.wikidata.org/entity/Q36074> .\n"
    )
    expected = [
        Triple(
            "http://www.wikidata.org/entity/Q1016767",
            "http://www.wikidata.org/prop/direct/P131",
            "http://www.wikidata.org/entity/Q36074",
            False,
            "",
            "",
        ),
        Triple(
            "http://www.wikidata.org/entity/Q1018537",
            "http://www.wikidata.org/prop/direct/P17",
            "http://www.wikidata.org/entity/Q43",
            False,
            "",
            "",
        ),
    ]
    assert list(read_kg_file(str(trig), CONFIG)) == expected
    assert sorted(read_kg_file(str(nquads), CONFIG)) == expected  # type: ignore[type-var]


def test_truncated_bz2(tmp_path: Path) -> None:
    data = bz2.compress(REBEL.read_bytes())
    path = tmp_path / "cut.nt.bz2"
    path.write_bytes(data[: len(data) // 2])
    records = list(read_kg_file(str(path), CONFIG))
    # bzip2 decodes whole 900 kB blocks: half of this small file yields no line before the cut.
    assert [(d.reason, d.line) for d in records if isinstance(d, DeadLetter)] == [("truncated_compressed", 1)]
    assert len(records) == 1
