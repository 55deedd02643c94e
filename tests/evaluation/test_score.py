"""kgtext.evaluation.score: the one scorer (strongest level per pair, documents without output, skipped
splits), and no second scorer or renderer anywhere in the package."""

from __future__ import annotations

import ast
from pathlib import Path

from kgtext.aligners.records import Document
from kgtext.corpus.schemas import AlignmentLevel
from kgtext.evaluation.gold import EvalDoc, GoldMention, GoldPair
from kgtext.evaluation.score import PAIR_ROWS, Prediction, Scores, score_mentions, score_pairs

LEADER = ("dbr:Bolivia", "dbo:leader", "dbr:Evo_Morales")
CAPITAL = ("dbr:Bolivia", "dbo:capital", "dbr:Sucre")
TEXT = "Evo Morales leads Bolivia. Its capital is Sucre."


def _doc(pairs: tuple[GoldPair, ...], gold_sentences: int = -1) -> EvalDoc:
    doc = Document("d1", TEXT, "", "", (), "gold.jsonl", 1)
    mentions = (GoldMention(0, 11, "dbr:Evo_Morales", "name"), GoldMention(18, 25, "dbr:Bolivia", "name"))
    return EvalDoc(doc, (), (), (), mentions, pairs, gold_sentences)


SPANS = ((0, 26), (27, 48))


def test_a_pair_counts_once_at_its_strongest_level() -> None:
    gold = _doc((GoldPair(-1, 5, LEADER), GoldPair(-1, 30, CAPITAL)))
    pred = Prediction(
        frozenset(),
        frozenset(
            {
                (0, LEADER, AlignmentLevel.NOSUB),
                (0, LEADER, AlignmentLevel.SPO),  # the same pair, stronger
                (1, LEADER, AlignmentLevel.ALLENT),  # wrong sentence
            }
        ),
        SPANS,
    )
    rows, skipped = score_pairs([gold], [pred])
    assert skipped == 0 and tuple(rows) == PAIR_ROWS
    assert rows["all"] == Scores(2, 1, 2, 1)
    assert rows["spo"] == Scores(1, 1, 2, 1)
    assert rows["allent"] == Scores(1, 0, 2, 0)
    assert rows["nosub"] == Scores(0, 0, 2, 0)
    assert rows["spo+allent"] == Scores(2, 1, 2, 1)


def test_a_document_without_output_scores_its_gold_as_misses() -> None:
    gold = _doc((GoldPair(-1, 5, LEADER), GoldPair(-1, 30, CAPITAL)))
    rows, skipped = score_pairs([gold], [Prediction(frozenset(), frozenset(), ())])
    assert skipped == 0 and rows["all"] == Scores(0, 0, 2, 0)


def test_a_gold_numbered_split_of_another_length_is_skipped() -> None:
    gold = _doc((GoldPair(0, -1, LEADER),), gold_sentences=3)
    pred = Prediction(frozenset(), frozenset({(0, LEADER, AlignmentLevel.SPO)}), SPANS)
    rows, skipped = score_pairs([gold], [pred])
    assert skipped == 1 and rows["all"] == Scores(0, 0, 0, 0)


def test_mentions_exact_and_overlapping() -> None:
    pred = Prediction(
        frozenset({(0, 11, "dbr:Evo_Morales", "label"), (18, 26, "dbr:Bolivia", "label")}), frozenset(), SPANS
    )
    rows = score_mentions([_doc(())], [pred], ("name",))
    assert rows["all"] == Scores(2, 1, 2, 1)
    assert rows["all (overlap)"] == Scores(2, 2, 2, 2)
    assert rows["source=label"] == Scores(2, 1, 0, 0)
    assert rows["gold name"] == Scores(0, 0, 2, 1)


def test_one_scorer_and_one_renderer() -> None:
    """The issue's duplicate: score_pairs, score_mentions, predict_baseline's scorer and render existed twice."""
    package = Path(__file__).resolve().parents[2] / "kgtext"
    defined: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                defined.setdefault(node.name, []).append(path.relative_to(package).as_posix())
    assert defined["score_pairs"] == ["evaluation/score.py"]
    assert defined["score_mentions"] == ["evaluation/score.py"]
    assert defined["Scores"] == ["evaluation/score.py"]
    assert defined["render_sweep"] == ["evaluation/report.py"]
    assert [p for p in defined["render"] if p.startswith("evaluation/")] == ["evaluation/report.py"]
