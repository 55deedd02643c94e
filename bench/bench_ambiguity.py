"""``make bench`` section: plain-text linking cost and quality when many KG entities share each name.

Label-sharing replicas of Re-DocRED (bench/ambiguity.py): the same documents built against a KG where each
name names 1 entity, then 8 or 32 (every replica's entity also carries the other replicas' names). Each
build runs ``kgtext build-corpus`` in a fresh process (in-process DirectRunner, linking on, the default
``--max-candidates-per-name``), plus the 8-way build with the budget off (``--max-candidates-per-name 0``,
every entity sharing a name kept: how linking worked before). Figures: phase-1 seconds per 1,000 documents
against the 1-way build of the same documents, the share of aligned triples that are the document's own
replica's, aligned sentences against the 1-way build. Reads ``../shared/data`` (skipped without it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.ambiguity import make_replicas, own_replica_share
from bench.bench_pipeline import SHARED, run_build
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.sharding import SPLITS

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "_work" / "ambiguity"
PHASE_1 = "phase 1 (read, clean, look up, align)"
SETTINGS = [(8, 250), (32, 63)]
"""(replicas, base documents): about 2,000 documents each."""


def _build(replicas: int, ways: int, documents: int, extra: list[str]) -> dict[str, Any]:
    tag = f"r{replicas}-w{ways}" + ("-all" if extra else "")
    made = make_replicas(str(SHARED), WORK / tag, replicas=replicas, ways=ways, documents=documents)
    out = WORK / tag / "corpus"
    beam = ["--num-shards", "1", "--log-examples", "0", *extra, "--runner=DirectRunner"]
    result = run_build({"kg": [made.kg], "docs": [made.docs]}, out, beam)
    reader = CorpusReader(str(out))
    rows = [
        row for split in SPLITS for table in reader.iter_tables("aligned", split) for row in table.to_pylist()
    ]
    own, total = own_replica_share(rows)
    result.update(documents=made.documents, own=own, triples=total, ways=ways, replicas=replicas, tag=tag)
    return result


def _row(result: dict[str, Any], base: dict[str, Any], label: str) -> str:
    per_k = 1000 * result["timings"][PHASE_1] / result["documents"]
    base_k = 1000 * base["timings"][PHASE_1] / base["documents"]
    sentences = result["stats"].get("aligned.sentences", 0)
    base_sentences = base["stats"].get("aligned.sentences", 0)
    share = result["own"] / result["triples"] if result["triples"] else 0.0
    drift = (sentences - base_sentences) / base_sentences if base_sentences else 0.0
    return (
        f"| {label} | {result['documents']:,} | {result['timings']['phase 0 (read KG, index it)']:.1f} s "
        f"| {per_k:.1f} s | **{per_k / base_k:.2f}x** | {share:.4f} ({result['triples']:,} triples) "
        f"| {sentences:,} ({drift:+.2%}) |"
    )


def run() -> str:
    title = "## Linking under ambiguity (bench_ambiguity)"
    if not (SHARED / "redocred_dev" / "dev_revised.json").exists():
        return f"{title}\n\nSkipped: {SHARED} is absent (the bench replicates Re-DocRED dev from ../shared/data).\n"
    settings = SETTINGS[:1] if os.environ.get("KGTEXT_BENCH_QUICK") == "1" else SETTINGS
    lines = [
        title,
        "",
        "Re-DocRED dev replicated with fresh IRIs per replica (bench/ambiguity.py); the same documents against a KG "
        "where each name names 1 entity and one where it names 8 or 32 (their facts differ only in their IRIs). "
        "In-process DirectRunner, `--lexicon-linking unlinked` (plain text), one fresh process per build. "
        "Target (issue 29): phase-1 time per document at 8-way <= 1.5x the 1-way build, own-replica triples "
        ">= 0.99, aligned sentences within 0.5%.",
        "",
        "| build | documents | phase 0 | phase 1 per 1,000 docs | vs 1-way | own-replica triples | aligned sentences (vs 1-way) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for replicas, documents in settings:
        base = _build(replicas, 1, documents, [])
        lines.append(_row(base, base, f"{replicas} replicas, 1 entity per name"))
        shared = _build(replicas, replicas, documents, [])
        lines.append(_row(shared, base, f"{replicas} replicas, {replicas} entities per name"))
        if replicas == 8:
            every = _build(replicas, replicas, documents, ["--max-candidates-per-name", "0"])
            lines.append(_row(every, base, "8 entities per name, `--max-candidates-per-name 0` (all kept)"))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
