"""TEKGEN (Text2KGBench, ``../shared/data/text2kgbench_tekgen``) -> kgtext inputs: documents JSONL + N-Triples KG.

    python scripts/convert_tekgen.py --out out/tekgen        # writes out/tekgen/docs.jsonl, out/tekgen/kg.nt

TEKGEN's text field is ``sent`` and its triples carry Wikidata ids and labels; kgtext's JSONL reader wants
``text`` (field mapping is a later feature), so this script writes, for every train and validation record:

- a document ``{"id": <TEKGEN id>, "text": <sent>, "subject": <subject IRI>}`` (the sentence's mojibake,
  867 records, repaired with ``encode("latin-1").decode("utf-8")`` where that round trip succeeds);
- the triple ``<wd:sub> <wdt:rel> <wd:obj>`` and the subject's, object's and relation's labels
  (``rdfs:label``), once each.

Records without a sentence, an id or a complete (sub, rel, obj) are skipped and counted on stderr. The test split and the gold sets
are left out (they are evaluation data).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text2kgbench_tekgen"
WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def repair(text: str) -> str:
    """Undo UTF-8 read as Latin-1 (``BurÄ«chi`` -> ``Burīchi``) when the round trip is exact."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def literal(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"@en'


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, default=SHARED)
    p.add_argument("--out", type=Path, required=True, help="output folder (docs.jsonl, kg.nt)")
    args = p.parse_args()
    files = sorted((args.source / "train").glob("*.jsonl")) + sorted(
        (args.source / "validation").glob("*.jsonl")
    )
    if not files:
        raise SystemExit(f"no TEKGEN train/validation files under {args.source}")
    args.out.mkdir(parents=True, exist_ok=True)
    triples: set[str] = set()
    labels: dict[str, str] = {}
    skipped = 0
    with open(args.out / "docs.jsonl", "w", encoding="utf-8") as docs:
        for path in files:
            for line in path.read_text(encoding="utf-8").split("\n"):
                if not line.strip():
                    continue
                record = json.loads(line)
                if not all(record.get(k) for k in ("sent", "id", "sub", "rel", "obj")):
                    skipped += 1
                    continue
                sub, rel, obj = WD + record["sub"], WDT + record["rel"], WD + record["obj"]
                docs.write(
                    json.dumps({"id": record["id"], "text": repair(record["sent"]), "subject": sub}) + "\n"
                )
                triples.add(f"<{sub}> <{rel}> <{obj}> .")
                for iri, key in ((sub, "sub_label"), (obj, "obj_label"), (WD + record["rel"], "rel_label")):
                    if record.get(key):
                        labels.setdefault(iri, repair(record[key]))
    with open(args.out / "kg.nt", "w", encoding="utf-8") as kg:
        kg.writelines(t + "\n" for t in sorted(triples))
        kg.writelines(f"<{iri}> <{LABEL}> {literal(label)} .\n" for iri, label in sorted(labels.items()))
    print(
        f"{args.out}: {len(triples)} triples, {len(labels)} labels from {len(files)} files; {skipped} skipped",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
