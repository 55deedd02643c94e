"""The one scorer of the alignment evaluation: predicted mentions and (sentence, triple) pairs against gold.

Both ``kgtext align-eval`` (through the real build) and its ``--oracle`` diagnostic turn their output into
:class:`Prediction` records in raw-text offsets and score them here.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from kgtext.corpus.schemas import AlignmentLevel
from kgtext.evaluation.gold import EvalDoc

BASELINE = "plain-label baseline"
OURS = "kgtext"

LEVEL_STRENGTH = (AlignmentLevel.SPO, AlignmentLevel.ALLENT, AlignmentLevel.NOSUB)
"""Strongest first: a pair predicted at several levels counts once, at its strongest."""
PAIR_ROWS = ("all", "spo+allent", *(level.value for level in LEVEL_STRENGTH))
"""The pair rows :func:`score_pairs` returns (``spo+allent``: every level but ``nosub``)."""

Pair = tuple[int, tuple[str, str, str]]
"""(sentence index, (head, relation, tail key))."""


class Prediction(NamedTuple):
    """Predicted mentions (raw-text offsets) and triple-sentence pairs of one document."""

    mentions: frozenset[tuple[int, int, str, str]]
    """(start, end, entity, source)."""
    pairs: frozenset[tuple[int, tuple[str, str, str], AlignmentLevel]]
    """(sentence index, (head, relation, tail key), level)."""
    sentence_spans: tuple[tuple[int, int], ...]
    """Raw-text span of each sentence; empty when the system wrote nothing for the document."""


class Scores(NamedTuple):
    """Counts behind one precision / recall / F1 row."""

    predicted: int
    correct_predicted: int
    gold: int
    found_gold: int

    def prf(self) -> tuple[float, float, float]:
        p = self.correct_predicted / self.predicted if self.predicted else 0.0
        r = self.found_gold / self.gold if self.gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


class SetResult(NamedTuple):
    """Both systems' scores on one gold set (or setting)."""

    name: str
    about: str
    documents: int
    without_output: int
    """Documents the system wrote nothing for (their gold scores as misses)."""
    skipped_pairs: int
    """Documents left out of the pair scores: their sentence count differs from a gold-numbered split."""
    seconds: float
    mentions: dict[str, dict[str, Scores]]
    """System -> row name -> scores (rows of :func:`score_mentions`)."""
    pairs: dict[str, dict[str, Scores]]
    """System -> row name (:data:`PAIR_ROWS`) -> scores."""


def raw_offsets(raw: str, clean: str) -> list[int]:
    """For each index of ``clean`` (and its end), the index in ``raw`` it came from (approximately)."""
    if raw == clean:
        return list(range(len(clean) + 1))
    mapping = [0] * (len(clean) + 1)
    matcher = difflib.SequenceMatcher(None, clean, raw, autojunk=False)
    last = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(i1, i2):
            mapping[k] = j1 + min(k - i1, max(j2 - j1 - 1, 0)) if tag != "equal" else j1 + k - i1
        last = j2
    mapping[len(clean)] = last
    return mapping


def _overlaps(start: int, end: int, entity: str, others: Iterable[tuple[int, int, str, str]]) -> bool:
    return any(s < end and start < e and ent == entity for s, e, ent, _ in others)


def score_mentions(
    items: Sequence[EvalDoc],
    preds: Sequence[Prediction],
    recall_kinds: Sequence[str],
    unscored: Sequence[str] = (),
) -> dict[str, Scores]:
    """Mention scores: precision of predictions (against gold of any kind), recall of ``recall_kinds``.

    Predictions whose source is in ``unscored`` (what the gold set does not annotate, e.g. pronouns in
    REBEL) get their own row but stay out of ``all``.

    Rows: ``all`` (recall over ``recall_kinds``), ``all (overlap)`` (a span overlapping a gold span of the same
    entity counts: gold references often carry descriptors such as "author X"), one per predicted source
    (precision only) and one per gold kind (recall only). A prediction is correct when start, end and entity
    all equal a gold mention.
    """
    counts: Counter[str] = Counter()
    for item, pred in zip(items, preds, strict=True):
        gold_all = {(m.start, m.end, m.entity) for m in item.mentions}
        predicted_spans = {(s, e, ent) for s, e, ent, _ in pred.mentions}
        for s, e, ent, source in pred.mentions:
            hit = (s, e, ent) in gold_all
            counts[f"pred.{source}"] += 1
            counts[f"hit.{source}"] += hit
            if source in unscored:
                continue
            counts["pred.all"] += 1
            counts["hit.all"] += hit
            counts["ohit"] += _overlaps(s, e, ent, item.mentions)
        for m in item.mentions:
            found = (m.start, m.end, m.entity) in predicted_spans
            counts[f"gold.{m.kind}"] += 1
            counts[f"found.{m.kind}"] += found
            if m.kind in recall_kinds:
                counts["gold.all"] += 1
                counts["found.all"] += found
                counts["ofound"] += _overlaps(m.start, m.end, m.entity, pred.mentions)
    rows = {"all": Scores(counts["pred.all"], counts["hit.all"], counts["gold.all"], counts["found.all"])}
    rows["all (overlap)"] = Scores(counts["pred.all"], counts["ohit"], counts["gold.all"], counts["ofound"])
    for key in sorted(k for k in counts if k.startswith("pred.") and k != "pred.all"):
        source = key[len("pred.") :]
        rows[f"source={source}"] = Scores(counts[key], counts[f"hit.{source}"], 0, 0)
    for key in sorted(k for k in counts if k.startswith("gold.") and k != "gold.all"):
        kind = key[len("gold.") :]
        rows[f"gold {kind}"] = Scores(0, 0, counts[key], counts[f"found.{kind}"])
    return rows


def gold_pairs(item: EvalDoc, pred: Prediction) -> set[Pair] | None:
    """Gold (sentence index, triple) pairs in the predicted sentence numbering; None if not comparable (a
    gold set that numbers its own sentences, here WebNLG, and a prediction with another sentence count)."""
    if item.gold_sentences >= 0:
        if item.gold_sentences != len(pred.sentence_spans):
            return None
        return {(p.sentence, p.triple) for p in item.pairs}
    gold = set()
    for p in item.pairs:
        index = next((i for i, (s, e) in enumerate(pred.sentence_spans) if s <= p.anchor < e), -1)
        gold.add((index, p.triple))
    return gold


def strongest_levels(pred: Prediction) -> dict[Pair, AlignmentLevel]:
    """Each predicted pair once, at the strongest level it was predicted at (:data:`LEVEL_STRENGTH`)."""
    best: dict[Pair, AlignmentLevel] = {}
    for index, triple, level in pred.pairs:
        known = best.get((index, triple))
        if known is None or LEVEL_STRENGTH.index(level) < LEVEL_STRENGTH.index(known):
            best[(index, triple)] = level
    return best


def score_pairs(items: Sequence[EvalDoc], preds: Sequence[Prediction]) -> tuple[dict[str, Scores], int]:
    """(sentence, triple) pair scores for every row of :data:`PAIR_ROWS`, and the documents skipped.

    A document without output (no sentence) scores every gold pair as a miss; a document whose sentence
    count differs from a gold-numbered split is skipped and counted.
    """
    counts: Counter[str] = Counter()
    skipped = 0
    for item, pred in zip(items, preds, strict=True):
        if not pred.sentence_spans:
            counts["gold"] += len({(p.sentence, p.anchor, p.triple) for p in item.pairs})
            continue
        gold = gold_pairs(item, pred)
        if gold is None:
            skipped += 1
            continue
        counts["gold"] += len(gold)
        for pair, level in strongest_levels(pred).items():
            hit = pair in gold
            rows = ("all", level.value, *(("spo+allent",) if level != AlignmentLevel.NOSUB else ()))
            for name in rows:
                counts[f"pred.{name}"] += 1
                counts[f"hit.{name}"] += hit
    scores = {
        name: Scores(counts[f"pred.{name}"], counts[f"hit.{name}"], counts["gold"], counts[f"hit.{name}"])
        for name in PAIR_ROWS
    }
    return scores, skipped
