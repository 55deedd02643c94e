"""Loud rejections end to end: field mapping, the rejected-share limit, hints, the closing WARNING summary
and the dead letters a failed build keeps (issue 16, item 2)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.replace import recover_output
from kgtext.pipelines.build_corpus import main
from kgtext.pipelines.rejections import Rejections, alignment_warnings, report_summary
from tests.pipelines.conftest import REDOCRED, build

TEKGEN = Path(__file__).resolve().parents[1] / "fixtures" / "aligners" / "tekgen" / "mojibake.jsonl"
WD = "http://www.wikidata.org/entity/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
TEKGEN_FIELDS = ["--text-field", "sent", "--subject-field", "sub", "--entity-prefix", WD]
SMALL_TEKGEN = ["--vocab-size", "400", "--num-shards", "1", "--min-sentence-words", "3"]


def _tekgen_kg(folder: Path) -> Path:
    """The TEKGEN records' own facts and labels as N-Triples (the KG a TEKGEN user would load)."""
    lines = []
    for raw in TEKGEN.read_text(encoding="utf-8").splitlines():
        r = json.loads(raw)
        lines.append(f"<{WD}{r['sub']}> <http://www.wikidata.org/prop/direct/{r['rel']}> <{WD}{r['obj']}> .")
        for iri, label in ((r["sub"], r["sub_label"]), (r["obj"], r["obj_label"])):
            lines.append(f"<{WD}{iri}> <{LABEL}> {json.dumps(label)}@en .")
    path = folder / "kg.nt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fail(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_tekgen_without_a_field_map_fails_naming_the_field_and_keeps_the_dead_letters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "corpus"
    argv = ["--kg", str(_tekgen_kg(tmp_path)), "--docs", str(TEKGEN), "--out", str(out), *SMALL_TEKGEN]
    err = _fail(argv, capsys)
    (failed,) = tmp_path.glob("corpus.failed-*")
    assert err == (
        "kgtext build-corpus: error: 3 of 3 document records (100.0%) were rejected, more than "
        f"--max-rejected-fraction 0.5 allows; top reason: 3 x missing_field 'text' in {TEKGEN}: "
        f"use --text-field sent?\n  the rejected records are in {failed / 'dead_letters'}\n"
    )
    letters = [
        json.loads(x) for x in (failed / "dead_letters" / "read_documents.jsonl").read_text().splitlines()
    ]
    assert [(d["line"], d["reason"]) for d in letters] == [
        (1, "missing_field"),
        (2, "missing_field"),
        (3, "missing_field"),
    ]
    assert not out.exists()
    # The stale-folder cleanup of the next build leaves the failed build's dead letters alone.
    assert recover_output(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([failed.name, "kg.nt"])


def test_tekgen_with_a_field_map_builds_and_aligns_through_the_subject(tmp_path: Path) -> None:
    manifest = build(
        tmp_path / "corpus", [_tekgen_kg(tmp_path)], [TEKGEN], *SMALL_TEKGEN, *TEKGEN_FIELDS, small=False
    )
    stats = manifest.statistics
    assert (stats["documents.read"], stats["documents.kept"], stats["aligned.sentences"]) == (3, 3, 3)
    assert not any(k.startswith("documents.rejected.") for k in stats)
    assert (stats["aligned.triples.spo"], stats["aligned.triples.nosub"]) == (1, 2)
    rows = [
        r for t in CorpusReader(tmp_path / "corpus").iter_tables("aligned", "train") for r in t.to_pylist()
    ]
    assert sorted(r["doc_id"] for r in rows) == [
        "ont_1_movie_train_1",
        "ont_1_movie_train_4",
        "ont_1_movie_train_7",
    ]
    assert manifest.build_config["text_field"] == "sent" and manifest.build_config["entity_prefix"] == WD


@pytest.fixture(scope="module")
def half_without_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 Re-DocRED documents, the text of every second one under ``body`` instead of ``text``."""
    lines = (REDOCRED / "docs.jsonl").read_text(encoding="utf-8").splitlines()[:20]
    records = [json.loads(line) for line in lines]
    for record in records[1::2]:
        record["body"] = record.pop("text")
        record.pop("links", None)
    path = tmp_path_factory.mktemp("half") / "docs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_half_the_records_without_text_builds_with_a_warning_summary(
    half_without_text: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "corpus"
    with caplog.at_level(logging.WARNING, logger="kgtext.pipelines.rejections"):
        manifest = build(out, [REDOCRED / "kg.ttl"], [half_without_text])
    assert manifest.statistics["documents.rejected.missing_field"] == 10
    summary = [r.getMessage() for r in caplog.records if r.name == "kgtext.pipelines.rejections"]
    assert summary[0] == "summary: rejected 0 of 3,291 KG lines (0.0%) and 10 of 20 document records (50.0%):"
    assert summary[1].startswith(
        f"  rejected: 10 x missing_field in {half_without_text} (first at {half_without_text}:2): 'text' ("
    )
    assert summary[1].endswith(f" -> use --text-field body? [{out}/dead_letters/read_documents.jsonl]")
    assert summary[2] == f"  dead letters: {out}/dead_letters/ (kgtext inspect shows the counts)"


@pytest.mark.parametrize(
    ("flags", "limit"),
    [(["--max-rejected-fraction", "0.4"], "--max-rejected-fraction 0.4"), (["--strict"], "--strict")],
)
def test_a_lower_limit_fails_the_same_build(
    half_without_text: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], limit: str
) -> None:
    argv = [
        "--kg",
        str(REDOCRED / "kg.ttl"),
        "--docs",
        str(half_without_text),
        "--out",
        str(tmp_path / "c"),
        *flags,
    ]
    err = _fail(argv, capsys)
    assert err.startswith(
        f"kgtext build-corpus: error: 10 of 20 document records (50.0%) were rejected, more than {limit} allows; "
        f"top reason: 10 x missing_field 'text' in {half_without_text}: use --text-field body?\n"
    )


def test_turtle_saved_as_nt_fails_with_a_rename_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kg = tmp_path / "kg.nt"
    shutil.copy(REDOCRED / "kg.ttl", kg)
    argv = ["--kg", str(kg), "--docs", str(REDOCRED / "docs.jsonl"), "--out", str(tmp_path / "c"),
            "--max-rejected-fraction", "0.3"]  # fmt: skip
    err = _fail(argv, capsys)
    assert err.startswith(
        "kgtext build-corpus: error: 1,635 of 3,291 KG lines (49.7%) were rejected, more than "
        f"--max-rejected-fraction 0.3 allows; top reason: 1,635 x syntax_error in {kg}: "
        "kg.nt holds Turtle (@prefix lines), not N-Triples: rename it to .ttl\n"
    )


def test_the_summary_of_a_build_without_rejections_lists_the_drops(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="kgtext.pipelines.rejections"):
        report_summary(Rejections([], []), {"links.dropped.link_overlap": 3, "documents.read": 30}, "out")
        report_summary(Rejections([], []), {"documents.read": 30}, "out")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "summary: no input record or KG statement was rejected; dropped while cleaning:"),
        ("WARNING", "  dropped: links.dropped.link_overlap: 3"),
        ("INFO", "summary: no input record or KG statement was rejected or dropped"),
    ]


def test_alignment_warnings_tell_a_threshold_from_a_kg_that_names_nothing() -> None:
    """Mentions the confidence threshold dropped are not mentions found (they used to be summed with them)."""
    base = {"aligned.documents": 5, "lexicon.forms": 40, "lexicon.entities": 12}
    assert alignment_warnings({**base, "aligned.mentions.below_threshold": 7}) == [
        "no mention was kept in 5 documents: all 7 found were below --min-mention-confidence; lower it "
        "(0 keeps every mention)"
    ]
    assert alignment_warnings(base) == [
        "no entity was found in 5 documents: no label or alias of the KG's 12 named entities occurs in the text "
        "(is the KG about these documents, in their language, and does it name its entities with rdfs:label or "
        "skos:altLabel?)"
    ]
    found = {
        **base,
        "aligned.mentions.label": 9,
        "aligned.triples.allent": 2,
        "aligned.documents.with_mentions": 5,
    }
    assert alignment_warnings({**found, "aligned.mentions.below_threshold": 3}) == []
