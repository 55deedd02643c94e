"""``kgtext align-eval`` through the real build on the licensed gold fixtures, and its plain-label baseline."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from kgtext.evaluation.align_eval import _doc_record, _union_kg, _write, aligned_rows, kg_lines, main, nt_iri
from kgtext.evaluation.baseline import PlainLabelBaseline
from kgtext.kg.records import Names, Triple
from tests.pipelines.conftest import REDOCRED, build

GOLD = Path(__file__).resolve().parents[1] / "fixtures" / "aligners"
Q = "http://www.wikidata.org/entity/"


def test_baseline_keeps_every_candidate_on_word_boundaries_case_sensitively() -> None:
    names = [
        Names(Q + "Q90", "Paris", ()),
        Names(Q + "Q167646", "Paris", ("Paris Hilton",)),
        Names(Q + "Q142", "France", ()),
    ]
    triples = [Triple(Q + "Q90", "http://www.wikidata.org/prop/direct/P17", Q + "Q142", False, "", "")]
    baseline = PlainLabelBaseline(names, triples, {})
    text = "Paris Hilton left Paris, France; parisian Parisians did not."
    assert baseline.mentions(text) == [
        (0, 5, Q + "Q167646"),
        (0, 5, Q + "Q90"),
        (0, 12, Q + "Q167646"),
        (18, 23, Q + "Q167646"),
        (18, 23, Q + "Q90"),
        (25, 31, Q + "Q142"),
    ]
    assert list(baseline.pairs([Q + "Q90", Q + "Q142", Q + "Q167646"])) == [
        (Q + "Q90", triples[0].relation, Q + "Q142")
    ]


def test_nt_iri_encodes_what_ntriples_forbids() -> None:
    assert nt_iri("http://dbpedia.org/resource/45.97 (square kilometres)") == (
        "http://dbpedia.org/resource/45.97%20(square%20kilometres)"
    )


def _run(tmp_path: Path, settings: str, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, dict]:
    main(
        ["--data-dir", str(GOLD), "--settings", settings, "--work", str(tmp_path / "work"), "--json", *extra]
    )
    return {row["setting"]: row for row in json.loads(capsys.readouterr().out)}


def test_scores_come_from_what_build_corpus_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _run(tmp_path, "webnlg-subject,webnlg-plain,rebel-linked,redocred-merged", capsys)
    pairs = {
        name: (row["kgtext"]["pairs"], row["plain-label baseline"]["pairs"]) for name, row in rows.items()
    }
    counts = {
        name: [(p["predicted"], p["correct_predicted"], p["gold"]) for p in both]
        for name, both in pairs.items()
    }
    assert counts == {
        "webnlg-subject": [(13, 13, 19), (8, 8, 19)],
        "webnlg-plain": [(13, 13, 19), (8, 8, 19)],
        "rebel-linked": [(14, 14, 15), (0, 0, 15)],
        "redocred-merged": [(63, 60, 60), (70, 58, 60)],
    }
    assert all(row["without_output"] == 0 for row in rows.values())
    kg = (tmp_path / "work" / "webnlg-plain" / "kg.nt").read_text()
    assert (
        "<http://dbpedia.org/resource/Alan_Shepard>" in kg
        and "subject" not in (tmp_path / "work" / "webnlg-plain" / "docs.jsonl").read_text()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # no report file without --out


def test_out_writes_the_markdown_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "ALIGNMENT.md"
    _run(tmp_path, "redocred-local", capsys, "--out", str(report))
    text = report.read_text()
    assert text.startswith("# Alignment quality through `kgtext build-corpus`")
    assert "| redocred-local | 2 | 0 | 0.952 / 1.000 / 0.976 |" in text


def _plain_docs(tmp_path: Path) -> Path:
    plain = tmp_path / "plain.jsonl"
    lines = [json.loads(x) for x in (REDOCRED / "docs.jsonl").read_text().splitlines()[:5]]
    plain.write_text("".join(json.dumps({"id": x["id"], "text": x["text"]}) + "\n" for x in lines))
    return plain


def test_plain_text_is_linked_against_the_whole_kg(tmp_path: Path) -> None:
    stats = build(tmp_path / "corpus", [REDOCRED / "kg.ttl"], [_plain_docs(tmp_path)]).statistics
    assert stats["documents.with_links"] == 0 and stats["documents.with_subject"] == 0
    assert stats["aligned.documents.with_mentions"] == 5
    assert stats["aligned.mentions.label"] > 0 and stats["aligned.triples.allent"] > 0
    assert stats["lexicon.forms"] > stats["lexicon.entities"] > 0


def test_a_build_without_links_or_lexicon_says_why_nothing_aligned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        build(tmp_path / "corpus", [REDOCRED / "kg.ttl"], [_plain_docs(tmp_path)], "--lexicon-linking", "off")
    assert "alignment: no entity was found in 5 documents: none has `links` or a `subject`" in caplog.text


def test_unknown_setting_and_missing_data_dir_exit_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as unknown:
        main(["--data-dir", str(GOLD), "--settings", "webnlg-plain,nope"])
    assert unknown.value.code == 2
    with pytest.raises(SystemExit) as missing:
        main(["--data-dir", str(tmp_path / "absent")])
    assert missing.value.code == 2


def test_a_property_the_kg_names_is_a_relation_mention_in_the_built_corpus(tmp_path: Path) -> None:
    """A KG that names a property like an entity (WebNLG's KG, whose property ``was_a_crew_member_of`` is
    given the alias "crew member" here, as DBpedia labels its properties) makes plain-text linking find the
    words "crew member": phase 0 marks the property's forms, the mention's kind is ``relation`` in
    ``aligned/``, the manifest counts it, and no entity or literal is called a relation."""
    from kgtext.evaluation.gold import load_webnlg
    from kgtext.kg.records import Names

    items = load_webnlg(str(GOLD))
    triples, names = _union_kg(items)
    crew = "http://dbpedia.org/property/was_a_crew_member_of"
    names = [Names(n.iri, n.label, ("crew member",)) if n.iri == crew else n for n in names]
    kg = _write(tmp_path / "kg.nt", kg_lines(triples, names))
    docs = _write(tmp_path / "docs.jsonl", (_doc_record(i, subject=False, links=False) for i in items))
    build(tmp_path / "corpus", [kg], [docs], "--min-sentence-words", "0")
    corpus = tmp_path / "corpus"
    predicates = {t.relation for t in triples}
    found: dict[str, set[tuple[str, str]]] = {}
    for rows in aligned_rows(corpus).values():
        for row in rows:
            for m in row["mentions"]:
                found.setdefault(m["kind"], set()).add((row["text"][m["start"] : m["end"]], m["entity"]))
    assert found["relation"] == {("crew member", crew)}
    assert not {entity for _, entity in found["entity"]} & predicates
    assert found["literal"] and all(entity.startswith('"') for _, entity in found["literal"])
    stats = json.loads((corpus / "manifest.json").read_text())["statistics"]
    relation_rows = [
        m
        for rows in aligned_rows(corpus).values()
        for r in rows
        for m in r["mentions"]
        if m["kind"] == "relation"
    ]
    assert stats["aligned.relation_mentions"] == len(relation_rows) >= 1
