"""pipelines.read_kg: ReadKnowledgeGraph (split byte ranges, per-file rdflib) and ResolveNames on DirectRunner."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from kgtext.common.dead_letters import DeadLetter
from kgtext.kg.config import KgConfig
from kgtext.kg.readers import read_kg_file
from kgtext.kg.records import LexiconEntry, Names, Triple
from kgtext.pipelines.read_kg import FileRange, ReadKnowledgeGraph, ResolveNames, plan_ranges

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kg"
REBEL = FIXTURES / "rebel"
WD = "http://www.wikidata.org/entity/"


def test_plan_ranges() -> None:
    assert plan_ranges("a.nt", 250, 100) == [
        FileRange("a.nt", 0, 100),
        FileRange("a.nt", 100, 200),
        FileRange("a.nt", 200, 250),
    ]
    assert plan_ranges("a.nt.gz", 250, 100) == [FileRange("a.nt.gz", 0, -1)]
    assert plan_ranges("a.ttl", 250, 100) == [FileRange("a.ttl", 0, -1)]
    assert plan_ranges("a.nt", 100, 100) == [FileRange("a.nt", 0, -1)]


def test_read_knowledge_graph(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nt"
    bad.write_bytes(
        (REBEL / "anchor_aliases_sample.nt").read_bytes() + b'<http://x/s> <http://x/p> "open .\n'
    )
    files = [str(REBEL / "kg_statements_sample.nt"), str(bad), str(FIXTURES / "tekgen" / "ont_7_space.ttl")]
    config = KgConfig()
    expected = [r for f in files for r in read_kg_file(f, config)]
    with TestPipeline(runner="DirectRunner") as pipeline:
        kg = pipeline | ReadKnowledgeGraph(
            [str(REBEL / "kg_statements_sample.nt"), str(tmp_path / "*.nt"), files[2]],
            config,
            chunk_bytes=1000,
        )
        assert_that(kg.triples, equal_to([r for r in expected if isinstance(r, Triple)]), label="Triples")
        assert_that(
            kg.lexicon, equal_to([r for r in expected if isinstance(r, LexiconEntry)]), label="Lexicon"
        )
        assert_that(
            kg.dead_letters,
            equal_to(
                [
                    DeadLetter(
                        "read_kg",
                        str(bad),
                        26,
                        -1,
                        "unterminated_literal",
                        '<http://x/s> <http://x/p> "open .',
                    )
                ]
            ),
            label="DeadLetters",
        )
        totals = kg.stats | beam.CombinePerKey(sum)
        assert_that(
            totals,
            equal_to([("kg.lines_read", 50 + 26 + 92), ("kg.triples", 43 + 41), ("kg.lexicon_entries", 7 + 25 + 23),
                      ("kg.rejected.unterminated_literal", 1)]),
            label="Stats",
        )  # fmt: skip


def test_unmatched_pattern_and_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "kg.csv").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="matches no file"):
        TestPipeline(runner="DirectRunner") | ReadKnowledgeGraph([str(tmp_path / "*.nt")], KgConfig())
    with pytest.raises(ValueError, match="kg.csv"):
        TestPipeline(runner="DirectRunner") | ReadKnowledgeGraph([str(tmp_path / "kg.csv")], KgConfig())
    with pytest.raises(ValueError, match="patterns"):
        ReadKnowledgeGraph([], KgConfig())


def test_resolve_names() -> None:
    entries = [
        LexiconEntry(WD + "Q1000479", "entity", "Boston Children’s Hospital", False, "en"),
        LexiconEntry(WD + "Q1000479", "entity", "Boston Children's Hospital", True, "en"),
        LexiconEntry(WD + "Q1000479", "entity", "Kinderkrankenhaus Boston", True, "de"),
        LexiconEntry(WD + "Q105334", "entity", "Klaus Conrad", True, "en"),
    ]
    with TestPipeline(runner="DirectRunner") as pipeline:
        names = pipeline | beam.Create(entries) | ResolveNames(["en"])
        assert_that(
            names,
            equal_to([
                Names(WD + "Q1000479", "Boston Children's Hospital", ("Boston Children’s Hospital",)),
                Names(WD + "Q105334", "Klaus Conrad", ()),
            ]),
        )  # fmt: skip
