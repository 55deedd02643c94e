"""``kgtext align-eval``: alignment quality measured through ``kgtext build-corpus``, the path a user runs.

For each gold setting it writes one KG for the whole gold set and the documents as JSONL under
``--work`` (default ``bench/_work/align_eval``), runs the real build (in-process DirectRunner, sentence
filter off: ``--min-sentence-words 0``), reads ``aligned/`` train and valid back through the corpus reader
and scores mentions and (sentence, triple) pairs against gold; a document without output scores as misses.
Beside every setting stands the plain-label baseline (:mod:`kgtext.evaluation.baseline`: exact, case-sensitive labels
and aliases of the whole KG on word boundaries, every candidate kept) on the same sentences.

Settings (docs/ALIGNMENT.md gives the protocol of each):

- ``webnlg-subject`` / ``webnlg-plain``: WebNLG dev, one KG of every entry's triples (labels from the
  DBpedia IRI local names), with the entry's main head as ``subject`` or with nothing but the text;
- ``redocred-merged`` / ``redocred-local``: Re-DocRED dev as plain text, entities merged by name across
  documents or kept per (document, name);
- ``rebel-plain`` / ``rebel-linked``: the REBEL sample without or with its hyperlinks and page subject.

The gold data is read from ``--data-dir`` (default ``../shared/data``); this command is a benchmark and
the only pipeline code that reads it. ``--oracle`` adds the old per-entry-KG scores (each document aligned
against only its own triples) as a labelled diagnostic, never a headline.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from kgtext.aligners.clean import clean_document
from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.records import CleanedDocument
from kgtext.common.cli_parser import HelpfulParser
from kgtext.common.jsonl import read_json_lines
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.schemas import AlignmentLevel
from kgtext.corpus.sharding import SPLITS
from kgtext.evaluation.baseline import PlainLabelBaseline
from kgtext.evaluation.gold import (
    EvalDoc,
    GoldPair,
    literal_keys,
    load_rebel,
    load_redocred,
    load_webnlg,
    tail_key,
)
from kgtext.evaluation.oracle import oracle_report
from kgtext.evaluation.report import plot_sweep, render, render_sweep, summary_rows
from kgtext.evaluation.score import (
    BASELINE,
    OURS,
    Prediction,
    SetResult,
    raw_offsets,
    score_mentions,
    score_pairs,
)
from kgtext.kg.config import KgConfig
from kgtext.kg.lexicon import resolve_names
from kgtext.kg.literals import literal_term
from kgtext.kg.readers import read_kg_file
from kgtext.kg.records import LexiconEntry, NameKind, Names, Triple
from kgtext.pipelines.build_corpus import build_corpus
from kgtext.pipelines.options import parse_args

logger = logging.getLogger(__name__)

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"


class Setting(NamedTuple):
    """One gold setting: the gold documents, the files the build reads, and how mentions are scored."""

    name: str
    about: str
    items: list[EvalDoc]
    kg_files: list[str]
    docs_file: str
    recall_kinds: tuple[str, ...]
    unscored: tuple[str, ...]
    renamed: dict[str, str]
    """IRIs the KG file spells percent-encoded -> the gold's spelling."""


# --- writing the inputs ------------------------------------------------------------------------------
_IRI_UNSAFE = frozenset(' <>"{}|^`\\')


def nt_iri(iri: str) -> str:
    """An IRI N-Triples accepts: characters it forbids (WebNLG has ``45.97 (square kilometres)``) are
    percent-encoded; :func:`renamed_iris` maps them back for scoring."""
    return "".join(f"%{ord(ch):02X}" if ch in _IRI_UNSAFE else ch for ch in iri)


def renamed_iris(triples: Iterable[Triple], names: Iterable[Names]) -> dict[str, str]:
    """Encoded IRI -> the IRI the gold uses, for every IRI :func:`nt_iri` changes."""
    iris = {t.head for t in triples} | {t.tail for t in triples if not t.tail_is_literal}
    iris |= {t.relation for t in triples} | {n.iri for n in names}
    return {nt_iri(iri): iri for iri in iris if nt_iri(iri) != iri}


def _nt_term(value: str, is_literal: bool, datatype: str = "", lang: str = "") -> str:
    return literal_term(value, datatype, lang) if is_literal else f"<{nt_iri(value)}>"


def kg_lines(triples: Iterable[Triple], names: Iterable[Names]) -> list[str]:
    """N-Triples lines of a KG: its triples, then an ``rdfs:label`` and ``skos:altLabel`` per name."""
    lines = dict.fromkeys(
        f"<{nt_iri(t.head)}> <{nt_iri(t.relation)}> {_nt_term(t.tail, t.tail_is_literal, t.datatype, t.lang)} ."
        for t in triples
        if t.tail_is_literal or t.head != t.tail
    )
    for entry in names:
        lines[f"<{nt_iri(entry.iri)}> <{RDFS_LABEL}> {literal_term(entry.label, '', '')} ."] = None
        for alias in entry.aliases:
            lines[f"<{nt_iri(entry.iri)}> <{SKOS_ALT}> {literal_term(alias, '', '')} ."] = None
    return list(lines)


def _write(path: Path, lines: Iterable[str]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def _doc_record(item: EvalDoc, *, subject: bool, links: bool) -> str:
    doc = item.doc
    record: dict[str, Any] = {"id": doc.id, "text": doc.text}
    if subject and doc.subject:
        record["subject"] = doc.subject
    if links and doc.links:
        record["links"] = [{"start": k.start, "end": k.end, "entity": k.entity} for k in doc.links]
        record["title"] = doc.title
    return json.dumps(record, ensure_ascii=False)


def _union_kg(items: Sequence[EvalDoc]) -> tuple[list[Triple], list[Names]]:
    triples = list(dict.fromkeys(t for item in items for t in item.triples))
    names: dict[str, Names] = {}
    for item in items:
        for entry in (*item.entities, *item.relations):
            names.setdefault(entry.iri, entry)
    return triples, list(names.values())


def webnlg_setting(data_dir: str, work: Path, *, subject: bool) -> Setting:
    items = load_webnlg(data_dir)
    name = "webnlg-subject" if subject else "webnlg-plain"
    triples, names = _union_kg(items)
    folder = work / name
    kg = _write(folder / "kg.nt", kg_lines(triples, names))
    docs = _write(folder / "docs.jsonl", (_doc_record(i, subject=subject, links=False) for i in items))
    about = (
        f"WebNLG dev, {len(items)} texts, one KG of every entry's {len(triples)} triples (labels from the DBpedia "
        + (
            "IRI local names); each text's main head as `subject`."
            if subject
            else "IRI local names); text only."
        )
    )
    return Setting(name, about, items, [kg], docs, ("name",), (), renamed_iris(triples, names))


def _redocred_iri(item_index: int, label: str, merged: bool) -> str:
    if merged:
        return f"urn:redocred:name:{quote(label, safe='')}"
    return f"urn:redocred:dev:{item_index}:name:{quote(label, safe='')}"


def _remap_redocred(items: Sequence[EvalDoc], merged: bool) -> tuple[list[EvalDoc], list[Names]]:
    """Entities of every document mapped to one node per name (merged) or per (document, name)."""
    aliases: dict[str, dict[str, None]] = defaultdict(dict)
    out: list[EvalDoc] = []
    for index, item in enumerate(items):
        new = {e.iri: _redocred_iri(index, e.label, merged) for e in item.entities}
        for entry in item.entities:
            for alias in entry.aliases:
                aliases[new[entry.iri]].setdefault(alias)
            aliases[new[entry.iri]].setdefault(entry.label)
        triples = tuple(
            dict.fromkeys(
                t._replace(head=new[t.head], tail=new[t.tail])
                for t in item.triples
                if new[t.head] != new[t.tail]
            )
        )
        pairs = tuple(
            dict.fromkeys(
                GoldPair(p.sentence, p.anchor, (new[p.triple[0]], p.triple[1], new[p.triple[2]]))
                for p in item.pairs
                if new[p.triple[0]] != new[p.triple[2]]
            )
        )
        mentions = tuple(m._replace(entity=new[m.entity]) for m in item.mentions)
        entities = tuple(Names(new[e.iri], e.label, ()) for e in item.entities)
        doc = item.doc._replace(title="", subject="", links=())
        out.append(item._replace(doc=doc, entities=entities, triples=triples, mentions=mentions, pairs=pairs))
    names = []
    for iri, forms in aliases.items():
        label = unquote(iri.rsplit(":", 1)[1])
        names.append(Names(iri, label, tuple(f for f in forms if f != label)))
    return out, names


def redocred_setting(data_dir: str, work: Path, *, merged: bool) -> Setting:
    items, names = _remap_redocred(load_redocred(data_dir), merged)
    name = "redocred-merged" if merged else "redocred-local"
    triples = list(dict.fromkeys(t for item in items for t in item.triples))
    relations = {r.iri: r for item in items for r in item.relations}
    folder = work / name
    kg = _write(folder / "kg.nt", kg_lines(triples, [*names, *relations.values()]))
    docs = _write(folder / "docs.jsonl", (_doc_record(i, subject=False, links=False) for i in items))
    how = "one node per name, shared by every document" if merged else "one node per (document, name)"
    about = f"Re-DocRED dev, {len(items)} documents as plain text; {how}; {len(names)} nodes, {len(triples)} facts."
    return Setting(name, about, items, [kg], docs, ("name",), (), {})


def rebel_setting(data_dir: str, work: Path, *, linked: bool) -> Setting:
    items = load_rebel(data_dir)
    root = Path(data_dir) / "rebel_sample"
    kg = [str(root / f) for f in ("kg_statements.nt", "anchor_aliases.nt") if (root / f).exists()]
    name = "rebel-linked" if linked else "rebel-plain"
    docs = _write(work / name / "docs.jsonl", (_doc_record(i, subject=linked, links=linked) for i in items))
    about = f"REBEL sample, {len(items)} documents; KG {' + '.join(Path(k).name for k in kg)}" + (
        "; with the hyperlinks and page subject."
        if linked
        else "; text only (anchor aliases are the documents' own link texts: optimistic)."
    )
    unscored = ("label", "alias", "subject", "topic")
    return Setting(name, about, items, kg, docs, ("link", "date", "number"), unscored, {})


SETTINGS: dict[str, Callable[[str, Path], Setting]] = {
    "webnlg-subject": lambda d, w: webnlg_setting(d, w, subject=True),
    "webnlg-plain": lambda d, w: webnlg_setting(d, w, subject=False),
    "redocred-merged": lambda d, w: redocred_setting(d, w, merged=True),
    "redocred-local": lambda d, w: redocred_setting(d, w, merged=False),
    "rebel-plain": lambda d, w: rebel_setting(d, w, linked=False),
    "rebel-linked": lambda d, w: rebel_setting(d, w, linked=True),
}


# --- running the build and reading what it wrote -------------------------------------------------------
def run_build(setting: Setting, work: Path, confidence: float = 0.0) -> Path:
    """``kgtext build-corpus`` on the setting's files (in-process DirectRunner, sentence filter off), with
    ``--min-mention-confidence confidence``."""
    out = work / setting.name / "corpus"
    argv = ["--kg", *setting.kg_files, "--docs", setting.docs_file, "--out", str(out), "--overwrite"]
    argv += ["--min-sentence-words", "0", "--num-shards", "1", "--log-examples", "0", "--runner=DirectRunner"]
    argv += ["--min-mention-confidence", str(confidence)]
    args = parse_args(argv)
    build_corpus(args.config, args.beam_args)
    return out


def aligned_rows(corpus: Path) -> dict[str, list[dict[str, Any]]]:
    """``aligned/`` rows of every split, grouped by document id and sorted by sentence index."""
    reader = CorpusReader(corpus)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for split in SPLITS:
        for table in reader.iter_tables("aligned", split):
            for row in table.to_pylist():
                rows[row["doc_id"]].append(row)
    for doc_rows in rows.values():
        doc_rows.sort(key=lambda r: r["sentence_index"])
    return rows


class Located(NamedTuple):
    """One aligned sentence placed in the raw document text."""

    start: int
    """Offset of the sentence in the cleaned text."""
    raw_span: tuple[int, int]
    row: dict[str, Any]


def locate(
    item: EvalDoc, rows: Sequence[dict[str, Any]], config: AlignerConfig
) -> tuple[list[Located], list[int]]:
    """Each row's place in the cleaned text (the build cleans the same way) and the cleaned->raw map."""
    cleaned = clean_document(item.doc._replace(links=()), config)
    if not isinstance(cleaned, CleanedDocument):
        return [], []
    text = cleaned.text()
    offsets = raw_offsets(item.doc.text, text)
    placed, pos = [], 0
    for row in rows:
        at = text.find(row["text"], pos)
        at = pos if at < 0 else at
        pos = at + len(row["text"])
        end = min(at + len(row["text"]), len(text)) - 1
        placed.append(Located(at, (offsets[at], offsets[max(end, at)] + 1), row))
    return placed, offsets


def predict_build(
    item: EvalDoc,
    placed: Sequence[Located],
    offsets: Sequence[int],
    literals: dict[str, str],
    renamed: dict[str, str],
) -> Prediction:
    """kgtext's prediction: the mentions and triples of the rows the build wrote for this document."""
    own = {t.tail: tail_key(t) for t in item.triples if t.tail_is_literal}
    mentions, pairs = set(), set()
    for index, sent in enumerate(placed):
        for m in sent.row["mentions"]:
            start, end = sent.start + m["start"], sent.start + m["end"]
            entity = renamed.get(m["entity"], m["entity"])
            mentions.add((offsets[start], offsets[end - 1] + 1, entity, m["source"]))
        for t in sent.row["triples"]:
            if t["tail_is_literal"]:
                tail = own.get(t["tail"], literals.get(t["tail"], t["tail"]))
            else:
                tail = renamed.get(t["tail"], t["tail"])
            triple = (renamed.get(t["head"], t["head"]), renamed.get(t["relation"], t["relation"]), tail)
            pairs.add((index, triple, AlignmentLevel(t["level"])))
    return Prediction(frozenset(mentions), frozenset(pairs), tuple(s.raw_span for s in placed))


def predict_baseline(
    placed: Sequence[Located], offsets: Sequence[int], baseline: PlainLabelBaseline
) -> Prediction:
    """The plain-label baseline on the same sentences."""
    mentions, pairs = set(), set()
    for index, sent in enumerate(placed):
        found = baseline.mentions(sent.row["text"])
        for start, end, entity in found:
            mentions.add((offsets[sent.start + start], offsets[sent.start + end - 1] + 1, entity, "label"))
        for triple in baseline.pairs(entity for _, _, entity in found):
            pairs.add((index, triple, AlignmentLevel.ALLENT))
    return Prediction(frozenset(mentions), frozenset(pairs), tuple(s.raw_span for s in placed))


def _renamed_names(names: Iterable[Names], renamed: dict[str, str]) -> list[Names]:
    return [n._replace(iri=renamed.get(n.iri, n.iri)) for n in names]


def _renamed_triples(triples: Iterable[Triple], renamed: dict[str, str]) -> list[Triple]:
    return [
        t._replace(
            head=renamed.get(t.head, t.head),
            relation=renamed.get(t.relation, t.relation),
            tail=t.tail if t.tail_is_literal else renamed.get(t.tail, t.tail),
        )
        for t in triples
    ]


def _baseline_for(setting: Setting, literals: dict[str, str]) -> PlainLabelBaseline:
    """The baseline's gazetteer: every name and triple of the KG files the build read."""
    config = KgConfig()
    entries: dict[str, list[LexiconEntry]] = defaultdict(list)
    triples: list[Triple] = []
    for path in setting.kg_files:
        for record in read_kg_file(path, config):
            if isinstance(record, Triple):
                triples.append(record)
            elif isinstance(record, LexiconEntry) and record.kind == NameKind.ENTITY:
                entries[record.iri].append(record)
    names = [resolve_names(iri, group, config.languages) for iri, group in entries.items()]
    keys = dict(literals)
    keys.update({t.tail: tail_key(t) for t in triples if t.tail_is_literal})
    renamed = setting.renamed
    return PlainLabelBaseline(_renamed_names(names, renamed), _renamed_triples(triples, renamed), keys)


def evaluate_setting(
    setting: Setting, work: Path, confidence: float = 0.0, baseline: PlainLabelBaseline | None = None
) -> SetResult:
    """Build, read back and score one setting, with the baseline on the same sentences (``baseline``: the
    setting's, when already made for another threshold; it reads the whole KG)."""
    began = time.perf_counter()
    rows = aligned_rows(run_build(setting, work, confidence))
    config = AlignerConfig()
    literals = literal_keys(setting.items)
    if baseline is None:
        baseline = _baseline_for(setting, literals)
    ours, base = [], []
    without = 0
    for item in setting.items:
        placed, offsets = locate(item, rows.get(item.doc.id, []), config)
        without += not placed
        ours.append(predict_build(item, placed, offsets, literals, setting.renamed))
        base.append(predict_baseline(placed, offsets, baseline))
    pairs_ours, skipped = score_pairs(setting.items, ours)
    pairs_base, _ = score_pairs(setting.items, base)
    return SetResult(
        setting.name,
        setting.about,
        len(setting.items),
        without,
        skipped,
        time.perf_counter() - began,
        {
            OURS: score_mentions(setting.items, ours, setting.recall_kinds, setting.unscored),
            BASELINE: score_mentions(setting.items, base, setting.recall_kinds, setting.unscored),
        },
        {OURS: pairs_ours, BASELINE: pairs_base},
    )


def _thresholds(text: str) -> list[float]:
    values = [float(x) for x in text.split(",") if x.strip()]
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"thresholds must be in [0, 1], got {text}")
    return values


def _threshold(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"thresholds must be in [0, 1], got {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    """``kgtext align-eval [--data-dir DIR] [--settings a,b] [--work DIR] [--out FILE] [--json] [--limit N]``."""
    parser = HelpfulParser(prog="kgtext align-eval", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        default=os.path.join("..", "shared", "data"),
        help="gold data folder (default ../shared/data)",
    )
    parser.add_argument(
        "--settings", default=",".join(SETTINGS), help=f"comma-separated subset of: {', '.join(SETTINGS)}"
    )
    parser.add_argument(
        "--work",
        default=os.path.join("bench", "_work", "align_eval"),
        help="where the KG, documents and corpora go (default bench/_work/align_eval)",
    )
    parser.add_argument(
        "--out", default=None, help="also write the Markdown report to this file (default: none)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the headline figures as JSON instead of the tables"
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="at most this many documents per setting (0 = all)"
    )
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="also print the per-entry-KG oracle (a diagnostic, not the real path)",
    )
    parser.add_argument(
        "--min-mention-confidence",
        type=float,
        maximum=1,
        default=0.0,
        metavar="C",
        help="passed to every build (default 0: keep every mention)",
    )
    parser.add_argument(
        "--sweep",
        default="",
        metavar="C1,C2,...",
        help="also rebuild every setting at each of these thresholds and add a precision/recall table",
    )
    parser.add_argument(
        "--plot", default=None, metavar="PNG", help="with --sweep: draw pair precision against recall"
    )
    args = parser.parse_args(argv)
    try:
        base = _threshold(args.min_mention_confidence)
        sweep_at = [t for t in _thresholds(args.sweep) if t != base]
    except ValueError as err:
        parser.error(str(err))
    names = [n.strip() for n in args.settings.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        parser.error(f"--settings: unknown {', '.join(unknown)} (known: {', '.join(SETTINGS)})")
    if not os.path.isdir(args.data_dir):
        parser.error(f"--data-dir: {args.data_dir} is not a directory")
    work = Path(args.work)
    results = []
    sweep: dict[float, list[SetResult]] = {t: [] for t in sweep_at}
    for name in names:
        setting = SETTINGS[name](args.data_dir, work)
        if args.limit:
            setting = _limited(setting, args.limit, work)
        logger.info("%s: building %d documents", name, len(setting.items))
        baseline = _baseline_for(setting, literal_keys(setting.items))
        results.append(evaluate_setting(setting, work, base, baseline))
        for threshold in sweep_at:
            logger.info("%s: rebuilding at --min-mention-confidence %g", name, threshold)
            sweep[threshold].append(evaluate_setting(setting, work, threshold, baseline))
    report = render(results, args.data_dir)
    if sweep:
        report += render_sweep(base, results, sweep)
        if args.plot:
            plot_sweep(base, results, sweep, args.plot)
            logger.info("wrote %s", args.plot)
    if args.oracle:
        report += _oracle_report(args.data_dir, args.limit)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report, encoding="utf-8")
        logger.info("wrote %s", args.out)
    sys.stdout.write(json.dumps(summary_rows(results), indent=2) + "\n" if args.json else report)


def _limited(setting: Setting, limit: int, work: Path) -> Setting:
    """The first ``limit`` documents (the KG stays whole: one KG for the whole gold set)."""
    items = setting.items[:limit]
    keep = {i.doc.id for i in items}
    path = Path(setting.docs_file)
    records = [line.value for line in read_json_lines(path) if line.value["id"] in keep]
    _write(path, [json.dumps(record, ensure_ascii=False) for record in records])
    return setting._replace(items=items)


def _oracle_report(data_dir: str, limit: int) -> str:
    """The old per-entry-KG scores (each document against its own triples), labelled as a diagnostic."""
    return oracle_report(data_dir, limit=limit)
