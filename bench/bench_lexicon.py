"""Memory and speed of plain-text linking: a worker's anonymous RSS per million surface forms.

The index of phase 0 (``aligners/lexicon_index.py``) is built from real lexicons, the REBEL sample's and
Re-DocRED dev's names (read from ``../shared/data``; skipped with a note when absent), replicated with
rewritten IRIs to 1 M and 4 M forms. A fresh worker process then opens the index memory-mapped, as
``FindCandidates.setup`` does, and looks up the candidates of real Re-DocRED documents. Its *anonymous*
memory (``/proc/self/smaps_rollup``: what the process allocated, not the index pages the kernel maps
from disk) is measured after the look-ups; the slope between 1 M and 4 M forms, projected to Wikidata's
~150 M labels and aliases, is the figure the linking issue targets (<= 64 MB per million forms). The
index size on disk is reported per form. The speed ratio is candidate look-up against the bare spaCy
sentence split of the same documents, measured in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from kgtext.common.jsonl import split_lines

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
WORK = REPO / "bench" / "_work" / "lexicon"
SIZES = (1_000_000, 4_000_000)
SHARDS = 8

WORKER = r"""
import json, sys, time
from pathlib import Path
from kgtext.aligners.lexicon_index import LexiconIndex, document_candidates
folder, docs_path = Path(sys.argv[1]), sys.argv[2]
def anon_kb():
    for line in open("/proc/self/smaps_rollup"):
        if line.startswith("Anonymous:"):
            return int(line.split()[1])
    return -1
texts = [json.loads(l)["text"] for l in open(docs_path, encoding="utf-8")]
before = anon_kb()
index = LexiconIndex(sorted(str(p) for p in folder.glob("forms-*.arrow")))
started = time.perf_counter()
found = sum(len(document_candidates(t, index, 8)[0]) for t in texts)
seconds = time.perf_counter() - started
result = {"anon_kb": anon_kb() - before, "seconds": seconds, "candidates": found, "docs": len(texts)}
if len(sys.argv) > 3:
    # End to end, in this worker with the index open: clean, look up, gather each candidate's names and
    # facts (what the pipeline's joins deliver), align; against the bare spaCy split of the same documents.
    import spacy
    from kgtext.aligners.align import Aligner
    from kgtext.aligners.clean import clean_document
    from kgtext.aligners.config import AlignerConfig
    from kgtext.aligners.records import Document
    from kgtext.kg.records import Names, Triple
    kg = json.loads(Path(sys.argv[3]).read_text(encoding="utf-8"))
    names = {iri: Names(iri, label, tuple(aliases)) for iri, (label, aliases) in kg["names"].items()}
    facts = {head: [Triple(*t) for t in ts] for head, ts in kg["triples"].items()}
    relations = tuple(Names(iri, label, tuple(aliases)) for iri, (label, aliases) in kg["relations"].items())
    config = AlignerConfig()
    aligner = Aligner(config)
    docs = [clean_document(Document(str(i), t, "", "", (), "bench", i + 1), config) for i, t in enumerate(texts)]
    started = time.perf_counter()
    sentences = 0
    for doc in docs:
        found_here, _ = document_candidates(doc.text(), index, 8)
        entities = [names[c.iri] for c in found_here if c.iri in names]
        triples = sorted({t for n in entities for t in facts.get(n.iri, ())})
        sentences += len(aligner.align(doc, entities, triples, relations).sentences)
    linked = time.perf_counter() - started
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    started = time.perf_counter()
    split = sum(len(list(nlp(t).sents)) for t in texts)
    result.update(e2e_seconds=linked, e2e_sentences=sentences, split_seconds=time.perf_counter() - started, split_sentences=split)
print(json.dumps(result))
"""


def _names() -> list[tuple[str, tuple[str, ...]]]:
    """(label, aliases) of every named entity of the REBEL sample KG and of Re-DocRED dev."""
    from kgtext.evaluation.gold import load_redocred
    from kgtext.kg.config import KgConfig
    from kgtext.kg.lexicon import resolve_names
    from kgtext.kg.readers import read_kg_file
    from kgtext.kg.records import LexiconEntry

    entries: dict[str, list[LexiconEntry]] = {}
    for name in ("kg_statements.nt", "anchor_aliases.nt"):
        for record in read_kg_file(str(SHARED / "rebel_sample" / name), KgConfig()):
            if isinstance(record, LexiconEntry) and record.kind == "entity":
                entries.setdefault(record.iri, []).append(record)
    names = [resolve_names(iri, group, ("en", "")) for iri, group in entries.items()]
    out = [(n.label, n.aliases) for n in names]
    for item in load_redocred(str(SHARED)):
        out += [(e.label, e.aliases) for e in item.entities]
    return out


def build_index(forms: int, names: list[tuple[str, tuple[str, ...]]]) -> tuple[Path, int]:
    """Index shard files of about ``forms`` forms (replicas get a rewritten IRI and a numbered name)."""
    from kgtext.aligners.lexicon_index import encode_index_shard, form_entries, shard_of_hash
    from kgtext.kg.records import Names

    folder = WORK / f"forms-{forms}"
    if (folder / "done.json").exists():
        return folder, json.loads((folder / "done.json").read_text())["forms"]
    folder.mkdir(parents=True, exist_ok=True)
    shards: list[list] = [[] for _ in range(SHARDS)]
    total, replica = 0, 0
    while total < forms:
        for i, (label, aliases) in enumerate(names):
            suffix = f" r{replica}" if replica else ""
            entity = Names(f"urn:bench:{replica}:{i}", label + suffix, tuple(a + suffix for a in aliases))
            for entry in form_entries(entity, 1, 2, 8):
                shards[shard_of_hash(entry.hash, SHARDS)].append(entry)
                total += 1
            if total >= forms:
                break
        replica += 1
    for shard, entries in enumerate(shards):
        data, _ = encode_index_shard(entries, 256)
        (folder / f"forms-{shard:05d}-of-{SHARDS:05d}.arrow").write_bytes(data)
        entries.clear()
    (folder / "done.json").write_text(json.dumps({"forms": total}))
    return folder, total


def _kg(names: list[tuple[str, tuple[str, ...]]]) -> Path:
    """Names and facts of the replica-0 entities of Re-DocRED dev (the IRIs :func:`build_index` gives them),
    for the end-to-end run."""
    from kgtext.evaluation.gold import load_redocred

    path = WORK / "kg.json"
    if path.exists():
        return path
    items = load_redocred(str(SHARED))
    offset = len(names) - sum(len(i.entities) for i in items)
    renamed: dict[str, str] = {}
    out: dict[str, dict] = {"names": {}, "triples": {}, "relations": {}}
    for item in items:
        for entity in item.entities:
            iri = f"urn:bench:0:{offset}"
            renamed[entity.iri] = iri
            out["names"][iri] = [entity.label, list(entity.aliases)]
            offset += 1
        for t in item.triples:
            head = renamed[t.head]
            tail = t.tail if t.tail_is_literal else renamed[t.tail]
            out["triples"].setdefault(head, []).append(
                [head, t.relation, tail, t.tail_is_literal, t.datatype, t.lang]
            )
        for r in item.relations:
            out["relations"][r.iri] = [r.label, list(r.aliases)]
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out), encoding="utf-8")
    return path


def _docs() -> Path:
    path = WORK / "docs.jsonl"
    if not path.exists():
        from kgtext.evaluation.gold import load_redocred

        WORK.mkdir(parents=True, exist_ok=True)
        items = load_redocred(str(SHARED))[:200]
        path.write_text("".join(json.dumps({"text": i.doc.text}) + "\n" for i in items), encoding="utf-8")
    return path


def _spacy_split_seconds(docs: Path) -> float:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    texts = [json.loads(line)["text"] for line in split_lines(docs.read_text(encoding="utf-8"))]
    started = time.perf_counter()
    for text in texts:
        list(nlp(text).sents)
    return time.perf_counter() - started


def run() -> str:
    if not SHARED.is_dir():
        return f"## lexicon\n\nSkipped: {SHARED} is absent.\n"
    names = _names()
    docs = _docs()
    kg = _kg(names)
    rows = []
    for forms in SIZES:
        folder, total = build_index(forms, names)
        disk = sum(p.stat().st_size for p in folder.glob("forms-*.arrow"))
        extra = [str(kg)] if forms == SIZES[-1] else []
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(folder), str(docs), *extra],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append((total, disk, result))
    (f1, d1, r1), (f4, d4, r4) = rows
    slope_mb = (r4["anon_kb"] - r1["anon_kb"]) / 1024 / ((f4 - f1) / 1e6)
    split = _spacy_split_seconds(docs)
    lines = [
        "## lexicon (plain-text linking: surface-form index)",
        "",
        f"Index built from the REBEL sample and Re-DocRED dev lexicons ({len(names):,} named entities), replicated",
        f"with rewritten IRIs; a fresh worker opens it memory-mapped and looks up {r1['docs']} Re-DocRED documents.",
        "",
        "| forms | index on disk | bytes per form | worker anonymous RSS growth | look-up s | candidates |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for total, disk, result in rows:
        lines.append(
            f"| {total:,} | {disk / 2**20:.1f} MiB | {disk / total:.0f} | {result['anon_kb'] / 1024:.1f} MiB | "
            f"{result['seconds']:.2f} | {result['candidates']:,} |"
        )
    lines += [
        "",
        f"- Slope of anonymous RSS: **{slope_mb:.2f} MB per million forms** (target <= 64); projected to 150 M "
        f"forms: {slope_mb * 150:.0f} MB of anonymous memory, with {d4 / f4 * 150e6 / 2**30:.1f} GiB of index pages mapped from disk.",
        f"- Look-up speed against the bare spaCy sentence split of the same documents (same run): "
        f"{split / r4['seconds']:.2f}x at {f4:,} forms (split {split:.2f} s, look-up {r4['seconds']:.2f} s).",
        f"- End to end with linking on and the {f4:,}-form index open (clean, look up, gather the candidates' names "
        f"and facts, align), in the same worker as the bare spaCy split of the same documents: "
        f"**{r4['e2e_sentences'] / r4['e2e_seconds']:,.0f} aligned sentences/s against {r4['split_sentences'] / r4['split_seconds']:,.0f} "
        f"split sentences/s = {(r4['e2e_sentences'] / r4['e2e_seconds']) / (r4['split_sentences'] / r4['split_seconds']):.2f}x** (target >= 0.3).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
