"""``kgtext inspect DIR``: what a corpus directory holds, rendered for a person (or ``--json``).

Shows the datasets (rows, shards, bytes, tokens, length percentiles per split), the build statistics
(documents, sentences, mentions by source, triples by level, KG lines, dead letters) and decoded example
rows of every dataset. ``--verify`` re-hashes every shard against the manifest and exits 1 on any problem.
``inspect`` only reads: what a killed build left beside DIR (a replace journal, build or old folders) is
reported in one WARNING line and left for the next ``kgtext build-corpus --out DIR`` to finish.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kgtext.common.cli_parser import HelpfulParser
from kgtext.corpus.errors import CorpusError
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.replace import describe_leftovers
from kgtext.corpus.sharding import SPLITS

PERCENTILES = (0.5, 0.9, 0.99)
Renderer = Callable[[str, Mapping[str, Any]], str]


LENGTH_COLUMN = {"aligned": "text", "names": "label"}
"""Datasets without ``num_tokens``: the string column whose length in characters ``inspect`` reports."""


def _lengths(table: pa.Table, dataset: str) -> pa.Array:
    if "num_tokens" in table.column_names:
        return table.column("num_tokens").combine_chunks()
    return pc.utf8_length(table.column(LENGTH_COLUMN[dataset])).combine_chunks()


def dataset_rows(reader: CorpusReader) -> list[dict[str, Any]]:
    """One summary dict per (dataset, split): rows, shards, bytes, tokens, length percentiles."""
    summary = []
    for dataset in reader.datasets():
        for split in SPLITS:
            shards = reader.shards(dataset, split)
            if not shards:
                continue
            arrays = [_lengths(reader.open_shard(dataset, s), dataset) for s in shards if s.rows]
            lengths = (
                pa.chunked_array(arrays, type=pa.int32()) if arrays else pa.chunked_array([], pa.int32())
            )
            quantiles = (
                [
                    int(v)
                    for v in pc.quantile(lengths, q=list(PERCENTILES), interpolation="nearest").to_pylist()
                ]
                if len(lengths)
                else [0] * len(PERCENTILES)
            )
            summary.append(
                {
                    "dataset": dataset,
                    "split": split,
                    "rows": sum(s.rows for s in shards),
                    "shards": len(shards),
                    "bytes": sum(s.bytes for s in shards),
                    "tokens": sum(s.tokens for s in shards),
                    "length_unit": "chars" if dataset in LENGTH_COLUMN else "tokens",
                    "length_p50_p90_p99_max": quantiles
                    + [int(pc.max(lengths).as_py() or 0) if len(lengths) else 0],
                }
            )
    return summary


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with right-aligned numbers."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if n and c[:1].isdigit() else c.ljust(w) for c, w in zip(row, widths, strict=True)
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_aligned(row: Mapping[str, Any]) -> str:
    """An ``aligned`` row: the sentence with mentions bracketed, then its aligned triples."""
    text: str = row["text"]
    out, cursor = [], 0
    for m in sorted(row["mentions"], key=lambda m: (m["start"], -m["end"])):
        if m["start"] < cursor:
            continue  # nested mentions are listed below, not drawn
        out.append(text[cursor : m["start"]])
        out.append(f"[{text[m['start'] : m['end']]}]{{{m['source']}: {_short(m['entity'])}}}")
        cursor = m["end"]
    out.append(text[cursor:])
    lines = [f"{row['doc_id']} p{row['paragraph_index']} s{row['sentence_index']}: {''.join(out)}"]
    for t in row["triples"]:
        lines.append(
            f"    triple [{t['level']}] {_short(t['head'])} --{_short(t['relation'])}--> {_short(t['tail'])}"
        )
    return "\n".join(lines)


def _short(iri: str) -> str:
    """The local name of an IRI for display (``.../prop/direct/P19`` -> ``P19``); literals unchanged."""
    if iri.startswith("http"):
        return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return iri


def _task_renderer(reader: CorpusReader) -> Renderer | None:
    """The task datasets' renderer from corpus.tasks.render, if the corpus has a tokenizer."""
    if reader.manifest.tokenizer is None:
        return None
    try:
        from kgtext.corpus.tasks.render import render_row
        from kgtext.corpus.tasks.tokenizer import Tokenizer
    except ImportError:
        return None
    tok = Tokenizer.load(str(reader.tokenizer_path()))
    return lambda dataset, row: render_row(dataset, row, tok)


def examples(reader: CorpusReader, split: str, count: int) -> dict[str, list[str]]:
    """Up to ``count`` rendered example rows per dataset of one split."""
    task_render = _task_renderer(reader)
    rendered: dict[str, list[str]] = {}
    for dataset in reader.datasets():
        rows: list[dict[str, Any]] = []
        for shard in reader.shards(dataset, split):
            if len(rows) >= count:
                break
            if shard.rows:
                rows += reader.open_shard(dataset, shard).slice(0, count - len(rows)).to_pylist()
        if dataset == "aligned":
            rendered[dataset] = [render_aligned(r) for r in rows]
        elif dataset == "names":
            rendered[dataset] = [f"{r['kind']:<8} {r['iri']} = {r['label']!r}" for r in rows]
        elif task_render is not None:
            rendered[dataset] = [task_render(dataset, r) for r in rows]
        else:
            rendered[dataset] = [json.dumps(r, ensure_ascii=False)[:500] for r in rows]
    return rendered


def statistics_table(stats: Mapping[str, int]) -> str:
    """Build statistics grouped by their first dotted component."""
    if not stats:
        return "(no statistics in the manifest)"
    return format_table(["statistic", "count"], [(k, f"{v:,}") for k, v in sorted(stats.items())])


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = HelpfulParser(prog="kgtext inspect", description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", help="corpus directory (holds manifest.json)")
    parser.add_argument("--verify", action="store_true", help="re-hash every shard; exit 1 on any problem")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--examples", type=int, default=2, metavar="N", help="example rows per dataset (default 2)"
    )
    parser.add_argument(
        "--split", choices=SPLITS, default="train", help="split to draw examples from (default train)"
    )
    return parser.parse_args(argv)


def _print_text(
    reader: CorpusReader, summary: list[dict[str, Any]], shown: dict[str, list[str]], split: str
) -> None:
    m = reader.manifest
    print(f"corpus {reader.root}  (format v{m.format_version})")
    if m.tokenizer:
        print(
            f"tokenizer {m.tokenizer.path}: vocab {m.tokenizer.vocab_size:,}, special ids {m.tokenizer.special_ids}"
        )
    headers = ["dataset", "split", "rows", "shards", "size", "tokens", "len p50/p90/p99/max"]
    table = [
        (
            s["dataset"],
            s["split"],
            f"{s['rows']:,}",
            s["shards"],
            _human_bytes(s["bytes"]),
            f"{s['tokens']:,}",
            "/".join(map(str, s["length_p50_p90_p99_max"]))
            + (" chars" if s["length_unit"] == "chars" else ""),
        )
        for s in summary
    ]
    print("\n" + format_table(headers, table))
    print("\nbuild statistics\n" + statistics_table(m.statistics))
    for dataset, rows in shown.items():
        print(f"\n== {dataset} ({split}) ==")
        print("\n\n".join(rows) if rows else "(no rows)")


def leftovers_warning(corpus: str) -> str | None:
    """One line on what a killed build left beside ``corpus`` (a journal, build or old folders), or None.

    ``inspect`` only reads: the next ``kgtext build-corpus --out`` finishes or removes them (under its lock).
    """
    try:
        return describe_leftovers(corpus)
    except OSError as err:  # e.g. an unreadable parent folder: say so, change nothing
        return f"WARNING: cannot look for leftovers of a killed build beside {corpus} ({err})"


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``kgtext inspect``."""
    args = _parse_args(argv)
    try:
        warning = leftovers_warning(args.corpus)
        if warning is not None:
            print(f"kgtext inspect: {warning}", file=sys.stderr)
        reader = CorpusReader(args.corpus)
        problems = [str(p) for p in reader.verify()] if args.verify else []
        if problems:
            for problem in problems:
                print(f"kgtext inspect: {problem}", file=sys.stderr)
            print(f"kgtext inspect: verification FAILED with {len(problems)} problem(s)", file=sys.stderr)
            raise SystemExit(1)
        summary = dataset_rows(reader)
        shown = examples(reader, args.split, args.examples) if args.examples > 0 else {}
    except CorpusError as err:
        print(f"kgtext inspect: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    if args.json:
        payload = {
            "corpus": str(reader.root),
            "format_version": reader.manifest.format_version,
            "datasets": summary,
            "statistics": reader.manifest.statistics,
            "verified": bool(args.verify),
            "examples": shown,
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    _print_text(reader, summary, shown, args.split)
    if args.verify:
        print("\nverify: OK (every shard re-hashed and matches the manifest)")


if __name__ == "__main__":
    main()
