"""Build the bundled sample (``data/sample/``) from Re-DocRED dev and the Wikidata property labels.

Input (not needed at run time; only to regenerate the sample):
  ../shared/data/redocred_dev/dev_revised.json          (MIT; text from English Wikipedia, CC BY-SA)
  ../shared/data/wikidata_property_labels/wikidata-properties.csv   (MIT; labels CC0)
Output:
  data/sample/kg.ttl       Turtle KG: entity IRIs with rdfs:label (most frequent mention text) and
                           skos:altLabel (other mention texts); facts on wikidata prop/direct IRIs, dates and
                           numbers as typed literals; labels and aliases of the properties used.
  data/sample/docs.jsonl   one JSON document per line: id, title, text, subject (entity the title names,
                           when there is one) and links to the FIRST mention of each entity only (as
                           Wikipedia links), so label/alias matching still has work to do.

Re-DocRED has no Wikidata entity ids, so entities get IRIs under http://example.org/redocred/entity/,
unified across documents by (type, longest mention text). The subject is the entity whose mention equals
the title (without a parenthesised qualifier), else the entity mentioned at offset 0 (Wikipedia intros
open with their subject).
Usage: python scripts/make_sample.py [--shared ../shared/data] [--out data/sample]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import re
import shutil
from pathlib import Path
from urllib.parse import quote

ENTITY_NS = "http://example.org/redocred/entity/"
PROP_NS = "http://www.wikidata.org/prop/direct/"
XSD = "http://www.w3.org/2001/XMLSchema#"
NO_SPACE_BEFORE = {
    ",",
    ".",
    ";",
    ":",
    "!",
    "?",
    ")",
    "]",
    "}",
    "%",
    "'s",
    "'",
    "n't",
    "'re",
    "'ve",
    "'ll",
    "'d",
    "'m",
}
NO_SPACE_AFTER = {"(", "[", "{", "$", "#"}


def detokenize(sents: list[list[str]]) -> tuple[str, list[list[tuple[int, int]]]]:
    """Join DocRED tokens into text; returns the text and (start, end) char offsets of every token."""
    text = ""
    offsets: list[list[tuple[int, int]]] = []
    quote_open = False
    for sent in sents:
        sent_offsets = []
        for i, tok in enumerate(sent):
            prev = sent[i - 1] if i else None
            space = bool(text)
            if tok in NO_SPACE_BEFORE or (tok == '"' and quote_open) or tok.startswith("'") and len(tok) <= 3:
                space = False
            if prev in NO_SPACE_AFTER or (prev == '"' and quote_open and tok != '"'):
                space = False
            if tok == "-" or prev == "-":
                space = False
            if tok == '"':
                quote_open = not quote_open
            text += (" " if space else "") + tok
            sent_offsets.append((len(text) - len(tok), len(text)))
        offsets.append(sent_offsets)
    return text, offsets


def parse_date(s: str) -> tuple[str, str] | None:
    """``(lexical, xsd datatype)`` for English date strings, else None."""
    s = s.strip()
    if re.fullmatch(r"\d{4}", s):
        return s, XSD + "gYear"
    for fmt in ("%d %B %Y", "%B %d, %Y", "%B %d %Y"):
        try:
            return dt.datetime.strptime(s, fmt).date().isoformat(), XSD + "date"
        except ValueError:
            pass
    try:
        d = dt.datetime.strptime(s, "%B %Y")
        return f"{d.year:04d}-{d.month:02d}", XSD + "gYearMonth"
    except ValueError:
        return None


def parse_number(s: str) -> tuple[str, str] | None:
    s = s.strip()
    if re.fullmatch(r"\d{1,3}(,\d{3})+|\d+", s):
        return s.replace(",", ""), XSD + "integer"
    if re.fullmatch(r"\d+\.\d+", s):
        return s, XSD + "decimal"
    return None


def ttl_literal(value: str, lang: str | None = "en", datatype: str | None = None) -> str:
    esc = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if datatype:
        return f'"{esc}"^^<{datatype}>'
    return f'"{esc}"@{lang}' if lang else f'"{esc}"'


def entity_iri(etype: str, name: str) -> str:
    slug = quote(re.sub(r"\s+", "_", name.strip()), safe="_-.,()'")
    return f"{ENTITY_NS}{etype}/{slug}"


def load_property_names(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    names: dict[str, tuple[list[str], list[str]]] = collections.defaultdict(lambda: ([], []))
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        iri, pred, lit = line.split("\t")
        value = json.loads(lit)  # double-quoted with \uXXXX escapes: valid JSON strings
        (names[iri][0] if pred.endswith("#label") else names[iri][1]).append(value)
    return names


def build(shared: Path, out: Path) -> None:
    docs = json.loads((shared / "redocred_dev" / "dev_revised.json").read_text(encoding="utf-8"))
    props = load_property_names(shared / "wikidata_property_labels" / "wikidata-properties.csv")
    labels: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    facts: set[tuple[str, str, str]] = set()
    used_props: set[str] = set()
    records = []
    for index, doc in enumerate(docs):
        text, offsets = detokenize(doc["sents"])
        terms: list[tuple[str, bool]] = []  # per vertex: (IRI or literal term, is_literal)
        mentions_of: list[list[tuple[int, int]]] = []
        for vertex in doc["vertexSet"]:
            spans = [
                (offsets[m["sent_id"]][m["pos"][0]][0], offsets[m["sent_id"]][m["pos"][1] - 1][1])
                for m in vertex
            ]
            surface = [text[a:b] for a, b in spans]
            canonical = collections.Counter(surface).most_common(1)[0][0]
            longest = max(sorted(set(surface)), key=len)  # the IRI key: full names merge fewer people
            etype = vertex[0]["type"]
            literal = (
                parse_date(canonical)
                if etype == "TIME"
                else parse_number(canonical)
                if etype == "NUM"
                else None
            )
            if literal:
                terms.append((ttl_literal(literal[0], None, literal[1]), True))
            else:
                iri = entity_iri(etype, longest)
                labels[iri].update(surface)
                terms.append((f"<{iri}>", False))
            mentions_of.append(sorted(set(spans)))
        for fact in doc["labels"]:
            head, tail = terms[fact["h"]], terms[fact["t"]]
            if head[1]:
                continue  # a literal cannot be a subject in RDF
            facts.add((head[0], f"<{PROP_NS}{fact['r']}>", tail[0]))
            used_props.add(fact["r"])
        title_key = re.sub(r"\s*\(.*\)\s*$", "", doc["title"]).strip().lower()
        subject = ""
        links = []
        for (term, is_lit), spans in zip(terms, mentions_of, strict=True):
            if is_lit:
                continue
            iri = term[1:-1]
            if not subject and any(text[a:b].lower() == title_key for a, b in spans):
                subject = iri
        if not subject:
            # Wikipedia intros open with their subject: the entity mentioned at offset 0, if any.
            subject = next(
                (
                    t[1:-1]
                    for (t, lit), spans in zip(terms, mentions_of, strict=True)
                    if not lit and spans[0][0] == 0
                ),
                "",
            )
        for (term, is_lit), spans in zip(terms, mentions_of, strict=True):
            if is_lit:
                continue
            iri = term[1:-1]
            links.append({"start": spans[0][0], "end": spans[0][1], "entity": iri})
        links.sort(key=lambda link: (link["start"], link["end"]))
        record = {"id": f"redocred-dev-{index:04d}", "title": doc["title"], "text": text, "links": links}
        if subject:
            record["subject"] = subject
        records.append(record)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "docs.jsonl", "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    lines = [
        "# kgtext bundled sample KG, derived from Re-DocRED dev (MIT) and Wikidata property labels (MIT/CC0).",
        "# Generated by scripts/make_sample.py; see data/sample/README.md.",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
        "",
    ]
    for iri in sorted(labels):
        (label, _), *rest = labels[iri].most_common()
        lines.append(f"<{iri}> rdfs:label {ttl_literal(label)} .")
        lines += [f"<{iri}> skos:altLabel {ttl_literal(alias)} ." for alias, _ in sorted(rest)]
    for pid in sorted(used_props, key=lambda p: int(p[1:])):
        label_list, alias_list = props.get(f"{PROP_NS}{pid}", ([], []))
        for label in label_list[:1]:
            lines.append(f"<{PROP_NS}{pid}> rdfs:label {ttl_literal(label)} .")
        lines += [f"<{PROP_NS}{pid}> skos:altLabel {ttl_literal(alias)} ." for alias in alias_list]
    lines += [f"{h} {r} {t} ." for h, r, t in sorted(facts)]
    (out / "kg.ttl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copyfile(shared / "redocred_dev" / "LICENSE", out / "LICENSE-Re-DocRED")
    shutil.copyfile(shared / "redocred_dev" / "LICENSE-DocRED", out / "LICENSE-DocRED")
    shutil.copyfile(shared / "wikidata_property_labels" / "LICENSE", out / "LICENSE-wikidata-property-labels")
    print(
        f"{len(records)} documents, {sum(1 for r in records if 'subject' in r)} with a subject, "
        f"{len(labels)} entities, {len(facts)} facts, {len(used_props)} properties -> {out}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"), help="the shared data folder")
    parser.add_argument("--out", type=Path, default=Path("data/sample"), help="output folder")
    args = parser.parse_args(argv)
    build(args.shared, args.out)


if __name__ == "__main__":
    main()
