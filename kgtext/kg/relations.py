"""Wikidata property labels and aliases (English) -> Names keyed by ``prop/direct`` IRI.

The shipped table ``kg/data/wikidata_properties.tsv`` is derived from the T-REx pipeline's
``wikidata-properties.csv`` (MIT, see ``kg/data/wikidata_properties.LICENSE.txt``) by :func:`main`:
one row per property, ``Pn <TAB> label <TAB> alias <TAB> alias ...`` (the Wikidata5M names layout).
"""

from __future__ import annotations

import functools
import logging
from importlib import resources
from pathlib import Path

from kgtext.common.cli_parser import HelpfulParser
from kgtext.common.jsonl import split_lines
from kgtext.kg.config import WIKIDATA_PROP_DIRECT, KgConfig
from kgtext.kg.lexicon import resolve_names
from kgtext.kg.ntriples import parse_ntriples_line
from kgtext.kg.records import LexiconEntry, Names

logger = logging.getLogger(__name__)

SHIPPED_FILE = "wikidata_properties.tsv"


def parse_names_row(row: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``Pn <TAB> label [<TAB> alias ...]`` -> (id, label, aliases); None for a blank row."""
    fields = [f.strip() for f in row.rstrip("\r\n").split("\t")]
    if not fields[0]:
        return None
    return fields[0], fields[1] if len(fields) > 1 else "", tuple(f for f in fields[2:] if f)


@functools.lru_cache(maxsize=1)
def wikidata_property_names() -> dict[str, Names]:
    """The shipped Wikidata property names, keyed by ``http://www.wikidata.org/prop/direct/Pn``."""
    text = resources.files("kgtext.kg").joinpath("data", SHIPPED_FILE).read_text(encoding="utf-8")
    table: dict[str, Names] = {}
    for row in split_lines(text):  # rows end at "\n" only: a label may hold U+2028 or U+0085
        parsed = parse_names_row(row)
        if parsed is not None:
            pid, label, aliases = parsed
            table[WIKIDATA_PROP_DIRECT + pid] = Names(WIKIDATA_PROP_DIRECT + pid, label, aliases)
    return table


def derive_property_table(source_csv: Path) -> list[str]:
    """T-REx ``wikidata-properties.csv`` (IRI, label predicate, quoted literal) -> shipped rows, sorted by id."""
    config = KgConfig()
    entries: dict[str, list[LexiconEntry]] = {}
    for line_no, row in enumerate(split_lines(source_csv.read_text(encoding="utf-8")), start=1):
        subject, predicate, literal = row.split("\t")
        statement = f"<{subject}> <{predicate}> {literal} ."
        record = parse_ntriples_line(statement, file=str(source_csv), line_no=line_no, config=config)
        if not isinstance(record, LexiconEntry):
            raise ValueError(f"{source_csv}:{line_no}: not a property label row: {row!r}")
        entries.setdefault(record.iri, []).append(record)
    rows = []
    for iri in sorted(entries, key=lambda i: int(i.rsplit("P", 1)[1])):
        names = resolve_names(iri, entries[iri], ("en", ""))
        rows.append("\t".join((iri.rsplit("/", 1)[1], names.label, *names.aliases)))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Regenerate the shipped table: ``python -m kgtext.kg.relations SOURCE_CSV OUT_TSV``."""
    parser = HelpfulParser(prog="python -m kgtext.kg.relations", description=main.__doc__)
    parser.add_argument("source_csv", type=Path, help="T-REx wikidata-properties.csv")
    parser.add_argument("out_tsv", type=Path, help="output table (kg/data/wikidata_properties.tsv)")
    args = parser.parse_args(argv)
    rows = derive_property_table(args.source_csv)
    args.out_tsv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    logger.info("wrote %d properties to %s", len(rows), args.out_tsv)


if __name__ == "__main__":
    main()
