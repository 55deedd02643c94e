"""``make bench`` section: a build that reuses a KG index (``--kg-index``) against one that reads the KG.

Inputs: the 8-way label-sharing Re-DocRED replicas of bench/ambiguity.py (2,000 documents; a KG of every
replica's facts and names). Three runs, each in a fresh process, in-process DirectRunner: ``build-corpus
--kg``, ``index-kg`` once, ``build-corpus --kg-index``. The corpus the index builds must be byte-identical to
the ``--kg`` one (checked here). Reads ``../shared/data`` (skipped without it).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.ambiguity import make_replicas
from bench.bench_pipeline import SHARED, run_build

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "_work" / "kg_index"
TOTAL = "total"


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def _index(kg: str, out: Path) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    argv = [
        "-m",
        "kgtext.pipelines.index_kg",
        "--kg",
        kg,
        "--out",
        str(out),
        "--overwrite",
        "--runner=DirectRunner",
    ]
    proc = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"index-kg failed: {proc.stderr[-2000:]}")
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return time.monotonic() - started, manifest


def run() -> str:
    title = "## Reusing a KG index (bench_kg_index)"
    if not (SHARED / "redocred_dev" / "dev_revised.json").exists():
        return f"{title}\n\nSkipped: {SHARED} is absent (the bench replicates Re-DocRED dev from ../shared/data).\n"
    made = make_replicas(str(SHARED), WORK / "inputs", replicas=8, ways=8, documents=250)
    beam = ["--num-shards", "1", "--log-examples", "0", "--runner=DirectRunner"]
    direct = run_build({"kg": [made.kg], "docs": [made.docs]}, WORK / "from-kg", beam)
    index_seconds, manifest = _index(made.kg, WORK / "kgidx")
    reused = run_build(
        {"kg": [], "docs": [made.docs]}, WORK / "from-index", ["--kg-index", str(WORK / "kgidx"), *beam]
    )
    same = _digests(WORK / "from-kg") == _digests(WORK / "from-index")
    kg_bytes = Path(made.kg).stat().st_size
    index_bytes = sum(manifest["bytes"].values())
    phase0 = direct["timings"]["phase 0 (read KG, index it)"]
    lines = [
        title,
        "",
        f"{made.documents:,} documents, KG {kg_bytes / 2**20:.1f} MiB of N-Triples (8-way label-sharing Re-DocRED "
        f"replicas); index {index_bytes / 2**20:.1f} MiB in {len(manifest['files'])} files. In-process DirectRunner, "
        "a fresh process per run. The corpus from the index is "
        + (
            "**byte-identical** to the `--kg` one."
            if same
            else "**NOT identical** to the `--kg` one (a defect)."
        ),
        "",
        "| run | seconds | vs `build-corpus --kg` |",
        "|---|---:|---:|",
        f"| `build-corpus --kg` (phase 0: {phase0:.1f} s) | {direct['timings'][TOTAL]:.1f} | 1.00x |",
        f"| `index-kg` (once per KG) | {index_seconds:.1f} | {index_seconds / direct['timings'][TOTAL]:.2f}x |",
        f"| `build-corpus --kg-index` (each further document set) | {reused['timings'][TOTAL]:.1f} | "
        f"**{reused['timings'][TOTAL] / direct['timings'][TOTAL]:.2f}x** |",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
