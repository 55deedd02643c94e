"""WebNLG dev gold -> a sentence-pair classification task (``kgtext finetune --task classification``).

    python scripts/make_pair_fixtures.py --out tests/fixtures/finetune/webnlg_pairs
    python scripts/make_pair_fixtures.py --train 0 --valid 0 --test 0 --out out/webnlg_pairs  # no caps

Reads the enriched WebNLG v1.6 English dev split (``../shared/data/webnlg_enriched_v1.6_en/dev``, CC BY-NC-SA
4.0; Castro Ferreira et al. 2018, Gardent et al. 2017). Input format: ``dev/<n>triples/<Category>.xml``, each
``<entry>`` holding ``<lex>`` texts whose ``<sortedtripleset>`` lists, per ``<sentence ID>``, the
``<striple>`` triples (``head | relation | tail``) that sentence expresses (the gold alignment).

A record: ``{"text": "head | relation | tail", "text_pair": sentence, "label": "yes" | "no"}``. ``yes``: the
sentence expresses the triple (gold). ``no``: the same sentence with a triple of another entry of the same
split (never a triple of the sentence's own entry), drawn by a seeded ``random.Random``: the task is
balanced, one ``no`` per ``yes``. Verbalisation: underscores become spaces, quotes and ``^^xsd:type``
suffixes are dropped, a camelCase relation is split into lower-case words (``birthPlace`` -> ``birth
place``). Sentences: a ``<text>`` is split after ``.``/``!``/``?`` followed by a space and an upper-case
letter or digit; a text whose sentence count differs from its ``<sortedtripleset>``'s is skipped (counted),
as are ``<lex comment="bad">`` texts and empty ones. Entries (not sentences) are split into
train/valid/test after a seeded shuffle (every 10th entry valid, every 5th after that test), so no test
sentence's entry is seen in training. ``--train/--valid/--test`` cap the ``yes`` records of each split
(0 = all; whole sentences, taken round robin over the shuffled entries: every entry's first sentence, then
every entry's second, ...). Writes
``OUT_{train,valid,test}.jsonl`` (records shuffled) and logs the counts.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger(__name__)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "webnlg_enriched_v1.6_en" / "dev"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
XSD_SUFFIX = re.compile(r"\^\^xsd:\w+$")


class Sentence(NamedTuple):
    """One gold sentence and the triples it expresses (verbalised)."""

    text: str
    triples: tuple[str, ...]


class Entry(NamedTuple):
    key: str
    """``<n>triples/<Category>.xml#<eid>``."""
    triples: frozenset[str]
    """Every verbalised triple of the entry (its modified tripleset and every sentence's)."""
    sentences: tuple[Sentence, ...]


def verbalise_term(term: str) -> str:
    """A DBpedia resource or literal as words: ``"1998-07-21"^^xsd:date`` -> ``1998-07-21``."""
    term = XSD_SUFFIX.sub("", term.strip())
    return term.strip('"').replace("_", " ").strip()


def verbalise(triple: str) -> str:
    """``Alan_Bean | birthPlace | Wheeler,_Texas`` -> ``Alan Bean | birth place | Wheeler, Texas``."""
    head, relation, tail = (part.strip() for part in triple.split("|"))
    words = CAMEL.sub(" ", relation).replace("_", " ").lower()
    return f"{verbalise_term(head)} | {' '.join(words.split())} | {verbalise_term(tail)}"


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text.strip()) if s.strip()]


def read_entries(root: Path, skipped: Counter[str]) -> list[Entry]:
    """Every entry of the dev split, in sorted file order, with its gold-aligned sentences."""
    entries = []
    for path in sorted(root.glob("*triples/*.xml")):
        for entry in ET.parse(path).getroot().iter("entry"):
            triples = {verbalise(t.text or "") for t in entry.iter("mtriple")}
            sentences = []
            for lex in entry.iter("lex"):
                text = (lex.findtext("text") or "").strip()
                gold = lex.find("sortedtripleset")
                groups = [] if gold is None else [list(s.iter("striple")) for s in gold.iter("sentence")]
                groups = [g for g in groups if g]
                parts = split_sentences(text)
                if lex.get("comment") == "bad" or not text:
                    skipped["bad_or_empty_text"] += 1
                elif len(parts) != len(groups):
                    skipped["sentence_count_differs"] += 1
                else:
                    for sentence, group in zip(parts, groups, strict=True):
                        said = tuple(dict.fromkeys(verbalise(t.text or "") for t in group))
                        triples.update(said)
                        sentences.append(Sentence(sentence, said))
            key = f"{path.parent.name}/{path.name}#{entry.get('eid')}"
            entries.append(Entry(key, frozenset(triples), tuple(sentences)))
    return entries


def make_pairs(entries: list[Entry], cap: int, rng: random.Random) -> tuple[list[dict[str, str]], int]:
    """Balanced yes/no records of ``entries`` (at most ``cap`` yes records; 0 = no cap), shuffled, and the
    number of entries whose sentences they hold."""
    pool = sorted({t for e in entries for t in e.triples})
    records: list[dict[str, str]] = []
    used: set[str] = set()
    yes = 0
    # Round robin over the entries (each one's first sentence, then each one's second, ...), so a capped
    # split still draws on every entry.
    depth = max((len(e.sentences) for e in entries), default=0)
    sentences = [(e, e.sentences[k]) for k in range(depth) for e in entries if k < len(e.sentences)]
    for entry, sentence in sentences:
        if cap and yes + len(sentence.triples) > cap:
            break
        for triple in sentence.triples:
            negative = rng.choice(pool)
            while negative in entry.triples:
                negative = rng.choice(pool)
            records.append({"text": triple, "text_pair": sentence.text, "label": "yes"})
            records.append({"text": negative, "text_pair": sentence.text, "label": "no"})
            yes += 1
        used.add(entry.key)
    rng.shuffle(records)
    return records, len(used)


def split_entries(entries: list[Entry], rng: random.Random) -> dict[str, list[Entry]]:
    order = list(entries)
    rng.shuffle(order)
    splits: dict[str, list[Entry]] = {"train": [], "valid": [], "test": []}
    for i, entry in enumerate(order):
        splits["valid" if i % 10 == 0 else "test" if i % 5 == 1 else "train"].append(entry)
    return splits


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--source", type=Path, default=SHARED, help="the WebNLG dev folder (default: ../shared)")
    p.add_argument("--train", type=int, default=1000, help="yes records in train (default 1000; 0 = all)")
    p.add_argument("--valid", type=int, default=200, help="yes records in valid (default 200; 0 = all)")
    p.add_argument("--test", type=int, default=300, help="yes records in test (default 300; 0 = all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the entry split and the negatives (0)")
    p.add_argument("--out", required=True, help="output prefix: writes PREFIX_{train,valid,test}.jsonl")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    skipped: Counter[str] = Counter()
    entries = read_entries(args.source, skipped)
    rng = random.Random(args.seed)
    splits = split_entries(entries, rng)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    logger.info("%d entries, %d sentences; texts skipped: %s", len(entries),
                sum(len(e.sentences) for e in entries), dict(sorted(skipped.items())))  # fmt: skip
    for split, cap in (("train", args.train), ("valid", args.valid), ("test", args.test)):
        records, used = make_pairs(splits[split], cap, rng)
        path = out.parent / f"{out.name}_{split}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        logger.info("%s: %d records from %d of the split's %d entries (%s)", path, len(records), used,
                    len(splits[split]), dict(Counter(r["label"] for r in records)))  # fmt: skip


if __name__ == "__main__":
    main()
