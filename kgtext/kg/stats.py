"""``kgtext kg-stats PATH...``: KG files -> counts of triples, entities, literals, relations, names, rejects.

Reads every file with :func:`kgtext.kg.readers.read_kg_items` (streaming for line formats), so memory grows with the
number of distinct entities and relations, not with lines. A tqdm progress bar (stderr) follows the bytes
read of files above ``--progress-min-mb``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from tqdm import tqdm

from kgtext.common.cli_parser import HelpfulParser
from kgtext.common.dead_letters import DeadLetter
from kgtext.common.lines import DEFAULT_MAX_LINE_BYTES
from kgtext.kg.config import KgConfig
from kgtext.kg.readers import Opener, kg_format_of, read_kg_items
from kgtext.kg.records import LexiconEntry, LinesRead, Triple

logger = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class KgStats:
    """Running counts over one or more KG files (mutable accumulator, not a config)."""

    lines_read: int = 0
    lines_lost: int = 0
    triples: int = 0
    lexicon_entries: int = 0
    entities: set[str] = field(default_factory=set)
    named: set[str] = field(default_factory=set)
    relations: Counter[str] = field(default_factory=Counter)
    literals_by_datatype: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    def add(self, item: Triple | LexiconEntry | DeadLetter | LinesRead) -> None:
        if isinstance(item, Triple):
            self.triples += 1
            self.entities.add(item.head)
            self.relations[item.relation] += 1
            if item.tail_is_literal:
                self.literals_by_datatype[
                    item.datatype or ("rdf:langString" if item.lang else "xsd:string")
                ] += 1
            else:
                self.entities.add(item.tail)
        elif isinstance(item, LexiconEntry):
            self.lexicon_entries += 1
            self.named.add(item.iri)
        elif isinstance(item, LinesRead):
            self.lines_read += item.lines
            self.lines_lost += item.lost
        else:
            self.rejected[item.reason] += 1

    def summary(self, top: int) -> dict[str, Any]:
        """A JSON-ready summary; relations limited to the ``top`` most frequent."""
        return {
            "lines_read": self.lines_read,
            "lines_lost": self.lines_lost,
            "triples": self.triples,
            "entities": len(self.entities),
            "entities_without_labels": len(self.entities - self.named),
            "lexicon_entries": self.lexicon_entries,
            "named_iris": len(self.named),
            "relations": len(self.relations),
            "literals": sum(self.literals_by_datatype.values()),
            "literals_by_datatype": dict(self.literals_by_datatype.most_common()),
            "top_relations": dict(sorted(self.relations.items(), key=lambda kv: (-kv[1], kv[0]))[:top]),
            "lines_rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
        }


class _CountingReader(io.RawIOBase):
    """A raw stream that reports every block it reads to ``on_read`` (drives the progress bar)."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], object]) -> None:
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._on_read(len(data))
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _progress_opener(bar: tqdm[Any]) -> Opener:
    def opener(path: str) -> BinaryIO:
        return io.BufferedReader(_CountingReader(open(path, "rb"), bar.update), 1 << 16)

    return opener


def collect_stats(paths: Iterable[str], config: KgConfig, *, progress_min_bytes: int = 32 << 20) -> KgStats:
    """Count every file; files of at least ``progress_min_bytes`` get a progress bar on stderr."""
    paths = list(paths)
    for path in paths:
        kg_format_of(path)  # fail on an unknown extension before reading anything
    stats = KgStats()
    for number, path in enumerate(paths, start=1):
        before = stats.lines_read
        size = os.path.getsize(path)
        if size >= progress_min_bytes:
            with tqdm(
                total=size, unit="B", unit_scale=True, desc=os.path.basename(path), file=sys.stderr
            ) as bar:
                for item in read_kg_items(path, config, opener=_progress_opener(bar)):
                    stats.add(item)
        else:
            for item in read_kg_items(path, config):
                stats.add(item)
        logger.info(
            "read %s (file %d of %d): %s lines", path, number, len(paths), f"{stats.lines_read - before:,}"
        )
    return stats


def format_stats(summary: dict[str, Any]) -> str:
    """Human-readable report of :meth:`KgStats.summary`."""
    lines = [f"{key:<24} {summary[key]:>12,}" for key in summary if isinstance(summary[key], int)]
    for key in ("literals_by_datatype", "top_relations", "rejected_by_reason"):
        if summary[key]:
            lines.append(f"{key}:")
            lines += [f"  {count:>10,}  {name}" for name, count in summary[key].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``kgtext kg-stats PATH... [--json] [--top N] [--lang en]``."""
    parser = HelpfulParser(prog="kgtext kg-stats", description="Count what KG files hold.")
    parser.add_argument(
        "paths", nargs="+", help="KG files (.nt .nq .ttl .n3 .trig .rdf .owl .xml .jsonld .tsv, .gz/.bz2)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--top", type=int, default=20, help="how many of the most frequent relations to list (default 20)"
    )
    parser.add_argument(
        "--progress-min-mb",
        type=float,
        default=32.0,
        help="progress bar for files of at least this many MiB (default 32)",
    )
    parser.add_argument(
        "--max-line-bytes",
        type=int,
        minimum=1,
        default=DEFAULT_MAX_LINE_BYTES,
        help=f"longest line of a line-oriented file, in bytes; longer ones are rejected (default {DEFAULT_MAX_LINE_BYTES})",
    )
    args = parser.parse_args(argv)
    try:
        config = KgConfig(max_line_bytes=args.max_line_bytes)
        stats = collect_stats(args.paths, config, progress_min_bytes=int(args.progress_min_mb * (1 << 20)))
    except (ValueError, OSError) as err:
        parser.exit(2, f"kgtext kg-stats: error: {err}\n")
    summary = stats.summary(args.top)
    sys.stdout.write((json.dumps(summary, indent=2) if args.json else format_stats(summary)) + "\n")


if __name__ == "__main__":
    main()
