"""The per-entry-KG diagnostic of ``kgtext align-eval --oracle``: each gold document aligned in memory
against only its own triples, scored with a label-substring baseline; and the scoring both evaluations use.

This is an oracle (a user's KG is one for the whole corpus): the real figures come from
``pipelines/align_eval.py``, which runs ``kgtext build-corpus``. The gold sets are read from a data folder
(``../shared/data`` in the kgtext repository); nothing here runs at corpus-build time.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from kgtext.aligners.align import Aligner
from kgtext.aligners.clean import clean_document
from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.evalsets import EvalDoc, load_fewrel, load_rebel, load_redocred, load_webnlg, tail_key
from kgtext.aligners.records import CleanedDocument
from kgtext.corpus.records import AlignedDocument, Mention

logger = logging.getLogger(__name__)

BASELINE = "plain-label baseline"
OURS = "kgtext"


class Prediction(NamedTuple):
    """Predicted mentions (raw-text offsets) and triple-sentence pairs of one document."""

    mentions: frozenset[tuple[int, int, str, str]]
    """(start, end, entity, source)."""
    pairs: frozenset[tuple[int, tuple[str, str, str], str]]
    """(sentence index, (head, relation, tail key), level)."""
    sentence_spans: tuple[tuple[int, int], ...]
    """Raw-text span of each sentence."""


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
    pairs_of: Callable[[int], Sequence[tuple[tuple[str, str, str], str]]],
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
    """Run kgtext's aligner on one evaluation document."""
    aligned = aligner.align(cleaned, item.entities, item.triples, item.relations)
    sents = aligned.sentences
    prediction = _predict(
        item,
        cleaned,
        aligned,
        lambda i: sents[i].mentions,
        lambda i: [
            ((t.head, t.relation, _tail_key(t.tail, t.tail_is_literal, item)), t.level)
            for t in sents[i].triples
        ],
    )
    return prediction, aligned


def _tail_key(tail: str, is_literal: bool, item: EvalDoc) -> str:
    if not is_literal:
        return tail
    for triple in item.triples:
        if triple.tail_is_literal and triple.tail == tail:
            return tail_key(triple)
    return tail


def predict_baseline(item: EvalDoc, cleaned: CleanedDocument, aligned: AlignedDocument) -> Prediction:
    """Plain-label baseline on the same sentences: the document's links plus case-sensitive label substrings
    (literals as written in the KG), and a triple aligned when both ends occur (co-occurrence rule)."""
    names = [(n.label, n.iri) for n in item.entities]
    names += [(t.tail, tail_key(t)) for t in item.triples if t.tail_is_literal]

    def mentions_of(index: int) -> list[Mention]:
        text = aligned.sentences[index].text
        found = [m for m in aligned.sentences[index].mentions if m.source == "link"]
        for label, entity in names:
            at = text.find(label) if label else -1
            while at >= 0:
                found.append(Mention(at, at + len(label), entity, "label"))
                at = text.find(label, at + 1)
        return found

    def pairs_of(index: int) -> list[tuple[tuple[str, str, str], str]]:
        present = {m.entity for m in mentions_of(index)}
        return [
            ((t.head, t.relation, tail_key(t)), "allent")
            for t in item.triples
            if t.head in present and tail_key(t) in present
        ]

    return _predict(item, cleaned, aligned, mentions_of, pairs_of)


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

    def row(self, system: str, name: str) -> str:
        p, r, f = self.prf()
        fmt = [
            f"{x:.3f}" if n else "-"
            for x, n in ((p, self.predicted), (r, self.gold), (f, self.predicted and self.gold))
        ]
        return f"| {system} | {name} | {self.predicted} | {self.gold} | {fmt[0]} | {fmt[1]} | {fmt[2]} |"


HEADER = "| system | what | predicted | gold | precision | recall | F1 |\n|---|---|---:|---:|---:|---:|---:|"


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
    entity counts: gold references often carry descriptors such as "author X"), one per predicted source (precision only) and one per
    gold kind (recall only). A prediction is correct when start, end and entity all equal a gold mention.
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


def _gold_pairs(item: EvalDoc, pred: Prediction) -> set[tuple[int, tuple[str, str, str]]] | None:
    """Gold (sentence index, triple) pairs in the predicted sentence numbering; None if not comparable."""
    if item.gold_sentences >= 0:
        if item.gold_sentences != len(pred.sentence_spans):
            return None
        return {(p.sentence, p.triple) for p in item.pairs}
    gold = set()
    for p in item.pairs:
        index = next((i for i, (s, e) in enumerate(pred.sentence_spans) if s <= p.anchor < e), -1)
        gold.add((index, p.triple))
    return gold


def score_pairs(items: Sequence[EvalDoc], preds: Sequence[Prediction]) -> tuple[dict[str, Scores], int]:
    """Triple-sentence pair scores overall, per level and for ``spo+allent``; plus skipped documents."""
    counts: Counter[str] = Counter()
    skipped = 0
    for item, pred in zip(items, preds, strict=True):
        gold = _gold_pairs(item, pred)
        if gold is None:
            skipped += 1
            continue
        best: dict[tuple[int, tuple[str, str, str]], str] = {}
        for index, triple, level in pred.pairs:
            best.setdefault((index, triple), level)
        counts["gold"] += len(gold)
        for pair, level in best.items():
            hit = pair in gold
            for name in ("all", level, *(("spo+allent",) if level != "nosub" else ())):
                counts[f"pred.{name}"] += 1
                counts[f"hit.{name}"] += hit
    rows = {}
    for name in ("all", "spo+allent", "spo", "allent", "nosub"):
        rows[name] = Scores(
            counts[f"pred.{name}"], counts[f"hit.{name}"], counts["gold"], counts[f"hit.{name}"]
        )
    return rows, skipped


class SetResult(NamedTuple):
    """The scores of both systems on one gold set."""

    name: str
    documents: int
    mentions: dict[str, dict[str, Scores]]
    pairs: dict[str, dict[str, Scores]]
    skipped_pairs: int
    seconds: float


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
    return SetResult(name, len(kept), mentions, {OURS: pairs_ours, BASELINE: pairs_base}, skipped, seconds)


def render(results: Sequence[SetResult], data_dir: str) -> str:
    """The Markdown report of every evaluated set."""
    lines = [
        "# Alignment quality (`kgtext align-eval`)",
        "",
        f"Gold sets read from `{data_dir}`. Mentions: a prediction is correct when start, end and entity equal a gold",
        "mention (any gold type); `all` recall is over the gold types named per set. Pairs: (sentence, triple)",
        f"pairs in kgtext's sentence split. `{BASELINE}`: the document's links plus exact case-sensitive label",
        "substrings (literals as written) in the same sentences, a triple aligned when both ends occur. See docs/ALIGNMENT.md for the protocol of each set.",
    ]
    for res in results:
        lines += [
            "",
            f"## {res.name}",
            "",
            f"{res.documents} documents; cleaned, aligned and scored (both systems) in {res.seconds:.1f} s.",
            "",
        ]
        lines += ["### Mentions", "", HEADER]
        for system, rows in res.mentions.items():
            lines += [scores.row(system, what) for what, scores in rows.items()]
        lines += ["", "### Triple -> sentence pairs", ""]
        if res.skipped_pairs:
            lines += [
                f"{res.skipped_pairs} documents skipped: sentence count differs from the gold split.",
                "",
            ]
        lines += [HEADER]
        for system, rows in res.pairs.items():
            lines += [
                scores.row(system, what) for what, scores in rows.items() if system == OURS or what == "all"
            ]
    return "\n".join(lines) + "\n"


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


def oracle_report(
    data_dir: str, names: Sequence[str] = ("webnlg", "rebel", "redocred"), limit: int = 0
) -> str:
    """The per-entry-KG diagnostic (each document aligned against only its own triples), as Markdown.

    ``kgtext align-eval --oracle`` appends it, labelled: a user never has such a KG, so it is never a
    headline figure (``pipelines/align_eval.py`` measures through the real build)."""
    config = AlignerConfig()
    results = []
    for name in names:
        spec = LOADERS[name]
        items = spec.load(data_dir)
        results.append(evaluate_set(name, items[:limit] if limit else items, config, spec))
        logger.info("%s: %d documents in %.1f s", name, results[-1].documents, results[-1].seconds)
    return render(results, data_dir)
