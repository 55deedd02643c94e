"""The per-entry-KG diagnostic of ``kgtext align-eval --oracle``: each gold document aligned in memory
against only its own triples, beside the plain-label baseline over the same document's names.

This is an oracle (a user's KG is one for the whole corpus): the real figures come from
:mod:`kgtext.evaluation.align_eval`, which runs ``kgtext build-corpus``. Scored by
:mod:`kgtext.evaluation.score`, rendered by :mod:`kgtext.evaluation.report`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from kgtext.aligners.align import Aligner
from kgtext.aligners.clean import clean_document
from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.records import CleanedDocument
from kgtext.corpus.records import AlignedDocument, Mention
from kgtext.corpus.schemas import AlignmentLevel
from kgtext.evaluation.baseline import PlainLabelBaseline
from kgtext.evaluation.gold import EvalDoc, literal_keys, load_fewrel, load_rebel, load_redocred, load_webnlg
from kgtext.evaluation.report import render_oracle
from kgtext.evaluation.score import (
    BASELINE,
    OURS,
    Prediction,
    SetResult,
    raw_offsets,
    score_mentions,
    score_pairs,
)

logger = logging.getLogger(__name__)

PairsOf = Callable[[int], Sequence[tuple[tuple[str, str, str], AlignmentLevel]]]


def _sentence_starts(cleaned: CleanedDocument, aligned: AlignedDocument) -> list[int]:
    text, pos, starts = cleaned.text(), 0, []
    for sent in aligned.sentences:
        at = text.find(sent.text, pos)
        starts.append(at if at >= 0 else pos)
        pos = (at if at >= 0 else pos) + len(sent.text)
    return starts


def _predict(
    item: EvalDoc,
    cleaned: CleanedDocument,
    aligned: AlignedDocument,
    mentions_of: Callable[[int], Sequence[Mention]],
    pairs_of: PairsOf,
) -> Prediction:
    offsets = raw_offsets(item.doc.text, cleaned.text())
    starts = _sentence_starts(cleaned, aligned)
    mentions, pairs, spans = set(), set(), []
    for index, (sent, start) in enumerate(zip(aligned.sentences, starts, strict=True)):
        # An exclusive end maps through its last character (the next one may be a removed character).
        spans.append((offsets[start], offsets[start + len(sent.text) - 1] + 1))
        for m in mentions_of(index):
            mentions.add((offsets[start + m.start], offsets[start + m.end - 1] + 1, m.entity, m.source))
        for triple, level in pairs_of(index):
            pairs.add((index, triple, level))
    return Prediction(frozenset(mentions), frozenset(pairs), tuple(spans))


def predict_ours(
    item: EvalDoc, aligner: Aligner, cleaned: CleanedDocument
) -> tuple[Prediction, AlignedDocument]:
    """Run kgtext's aligner on one evaluation document, against only its own triples."""
    aligned = aligner.align(cleaned, item.entities, item.triples, item.relations)
    sents = aligned.sentences
    literals = literal_keys([item])
    prediction = _predict(
        item,
        cleaned,
        aligned,
        lambda i: sents[i].mentions,
        lambda i: [
            (
                (t.head, t.relation, literals.get(t.tail, t.tail) if t.tail_is_literal else t.tail),
                AlignmentLevel(t.level),
            )
            for t in sents[i].triples
        ],
    )
    return prediction, aligned


def predict_baseline(item: EvalDoc, cleaned: CleanedDocument, aligned: AlignedDocument) -> Prediction:
    """The plain-label baseline (:class:`PlainLabelBaseline`) over the document's own names and triples, plus
    the document's links, on the sentences kgtext split."""
    baseline = PlainLabelBaseline(item.entities, item.triples, literal_keys([item]))

    def mentions_of(index: int) -> list[Mention]:
        sentence = aligned.sentences[index]
        found = [m for m in sentence.mentions if m.source == "link"]
        found += [Mention(s, e, entity, "label") for s, e, entity in baseline.mentions(sentence.text)]
        return found

    def pairs_of(index: int) -> list[tuple[tuple[str, str, str], AlignmentLevel]]:
        entities = {m.entity for m in mentions_of(index)}
        return [(triple, AlignmentLevel.ALLENT) for triple in baseline.pairs(entities)]

    return _predict(item, cleaned, aligned, mentions_of, pairs_of)


class GoldSpec(NamedTuple):
    """How one gold set is loaded and which of its mention kinds it annotates exhaustively."""

    load: Callable[[str], list[EvalDoc]]
    recall_kinds: tuple[str, ...]
    """Gold kinds the ``all`` recall is computed over."""
    unscored: tuple[str, ...]
    """Predicted sources the set does not annotate (kept out of the ``all`` precision)."""


LOADERS: dict[str, GoldSpec] = {
    "webnlg": GoldSpec(load_webnlg, ("name",), ()),
    "rebel": GoldSpec(load_rebel, ("link", "date", "number"), ("label", "alias", "subject", "topic")),
    "redocred": GoldSpec(load_redocred, ("name",), ("subject", "topic")),
    "fewrel": GoldSpec(load_fewrel, ("name",), ("subject", "topic")),
}


def evaluate_set(name: str, items: Sequence[EvalDoc], config: AlignerConfig, spec: GoldSpec) -> SetResult:
    """Clean, align and score every document of one gold set with kgtext and the baseline."""
    aligner = Aligner(config)
    ours: list[Prediction] = []
    base: list[Prediction] = []
    kept: list[EvalDoc] = []
    began = time.perf_counter()
    for item in items:
        cleaned = clean_document(item.doc, config)
        if not isinstance(cleaned, CleanedDocument):
            logger.warning("%s: document %s dropped by cleaning (%s)", name, item.doc.id, cleaned.value)
            continue
        prediction, aligned = predict_ours(item, aligner, cleaned)
        ours.append(prediction)
        base.append(predict_baseline(item, cleaned, aligned))
        kept.append(item)
    seconds = time.perf_counter() - began
    mentions = {
        OURS: score_mentions(kept, ours, spec.recall_kinds, spec.unscored),
        BASELINE: score_mentions(kept, base, spec.recall_kinds, spec.unscored),
    }
    pairs_ours, skipped = score_pairs(kept, ours)
    pairs_base, _ = score_pairs(kept, base)
    without = sum(not p.sentence_spans for p in ours)
    return SetResult(
        name, "", len(kept), without, skipped, seconds, mentions, {OURS: pairs_ours, BASELINE: pairs_base}
    )


def oracle_report(
    data_dir: str, names: Sequence[str] = ("webnlg", "rebel", "redocred"), limit: int = 0
) -> str:
    """The per-entry-KG diagnostic (each document aligned against only its own triples), as Markdown.

    ``kgtext align-eval --oracle`` appends it, labelled: a user never has such a KG, so it is never a
    headline figure (:mod:`kgtext.evaluation.align_eval` measures through the real build)."""
    config = AlignerConfig()
    results = []
    for name in names:
        spec = LOADERS[name]
        items = spec.load(data_dir)
        results.append(evaluate_set(name, items[:limit] if limit else items, config, spec))
        logger.info("%s: %d documents in %.1f s", name, results[-1].documents, results[-1].seconds)
    return render_oracle(results, data_dir)
