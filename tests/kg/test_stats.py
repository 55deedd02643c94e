"""kg.stats: ``kgtext kg-stats`` counts on the real REBEL and TEKGEN fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgtext.kg.config import KgConfig
from kgtext.kg.stats import collect_stats, main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kg"
REBEL = FIXTURES / "rebel"


def test_json_counts_on_rebel(capsys: pytest.CaptureFixture[str]) -> None:
    """Expected numbers were cross-checked by loading the same files into an rdflib Graph."""
    main(
        [
            str(REBEL / "kg_statements_sample.nt"),
            str(REBEL / "anchor_aliases_sample.nt"),
            "--json",
            "--top",
            "2",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary == {
        "lines_read": 75,
        "lines_lost": 0,
        "triples": 43,
        "entities": 64,
        "entities_without_labels": 56,
        "lexicon_entries": 32,
        "named_iris": 31,
        "relations": 21,
        "literals": 6,
        "literals_by_datatype": {
            "http://www.w3.org/2001/XMLSchema#dateTime": 3,
            "http://www.w3.org/2001/XMLSchema#decimal": 3,
        },
        "top_relations": {
            "http://www.wikidata.org/prop/direct/P131": 7,
            "http://www.wikidata.org/prop/direct/P54": 6,
        },
        "lines_rejected": 0,
        "rejected_by_reason": {},
    }


def test_table_output_and_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.nt"
    bad.write_bytes((REBEL / "kg_statements_sample.nt").read_bytes() + b"<http://x/s> <http://x/p> .\n")
    main([str(bad), str(FIXTURES / "tekgen" / "ont_7_space.ttl")])
    out = capsys.readouterr().out
    assert "triples                            84" in out
    assert "           1  wrong_arity" in out


def test_progress_bar_on_big_files(capsys: pytest.CaptureFixture[str]) -> None:
    stats = collect_stats([str(REBEL / "kg_statements_sample.nt")], KgConfig(), progress_min_bytes=1)
    assert stats.triples == 43
    assert "kg_statements_sample.nt: 100%" in capsys.readouterr().err


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([str(REBEL / "kg_statements_sample.nt"), "--top", "-1"])
    with pytest.raises(SystemExit):
        main(["kg.csv"])
    assert "unknown KG file extension" in capsys.readouterr().err
