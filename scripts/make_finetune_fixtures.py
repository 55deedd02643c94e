"""FewRel validation sentences -> relation-classification JSONL (``kgtext finetune --task relation``).

    python scripts/make_finetune_fixtures.py --relations P59 P412 P641 P206 --train 30 --valid 10 --test 10 \
        --out tests/fixtures/finetune/fewrel
    python scripts/make_finetune_fixtures.py --train 420 --valid 140 --test 140 --out out/fewrel  # all 16

Reads ``../shared/data/fewrel_val/val_wiki.json`` (MIT, THUNLP; Wikipedia text, CC BY-SA). Each relation's
instances are split in file order into train/valid/test. The sentence is the FewRel tokens joined by one
space (whitespace tokens dropped); ``head`` / ``tail`` are the code-point offsets of the entity's first
occurrence; ``label`` is the Wikidata property id. Writes ``OUT_{train,valid,test}.jsonl``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fewrel_val" / "val_wiki.json"


def record(instance: dict, label: str) -> dict:
    """One FewRel instance as ``{"text", "head": [s, e], "tail": [s, e], "label"}``."""
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    words: list[str] = []
    offset = 0
    for i, token in enumerate(instance["tokens"]):
        if not token.strip():
            continue
        if words:
            offset += 1
        starts[i] = offset
        words.append(token)
        offset += len(token)
        ends[i] = offset
    text = " ".join(words)

    def span(entity: list) -> list[int]:
        positions = [p for p in entity[2][0] if p in starts]
        return [starts[positions[0]], ends[positions[-1]]]

    return {"text": text, "head": span(instance["h"]), "tail": span(instance["t"]), "label": label}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, default=SHARED)
    p.add_argument("--relations", nargs="*", default=None, help="property ids (default: all, file order)")
    p.add_argument("--train", type=int, default=420)
    p.add_argument("--valid", type=int, default=140)
    p.add_argument("--test", type=int, default=140)
    p.add_argument("--out", required=True, help="output prefix")
    args = p.parse_args()
    data = json.loads(args.source.read_text(encoding="utf-8"))
    splits: dict[str, list[dict]] = {"train": [], "valid": [], "test": []}
    for label in args.relations or list(data):
        instances = data[label]
        bounds = {"train": (0, args.train), "valid": (args.train, args.train + args.valid)}
        bounds["test"] = (args.train + args.valid, args.train + args.valid + args.test)
        for split, (a, b) in bounds.items():
            splits[split] += [record(i, label) for i in instances[a:b]]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        path = out.parent / f"{out.name}_{split}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"{path}: {len(rows)} records")


if __name__ == "__main__":
    main()
