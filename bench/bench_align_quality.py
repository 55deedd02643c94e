"""Alignment quality through ``kgtext build-corpus`` (``kgtext align-eval``): rewrites bench/ALIGNMENT.md.

Reads the gold sets from ``../shared/data`` (skipped with a note when absent). Every setting is built by
the real pipeline with one KG for the whole gold set, and the plain-label baseline is scored on the same
sentences, so each figure stands beside its baseline from the same run. The per-entry-KG oracle follows
at the end of ALIGNMENT.md as a labelled diagnostic.
"""

from __future__ import annotations

from pathlib import Path

from kgtext.common.jsonl import split_lines

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
REPORT = REPO / "bench" / "ALIGNMENT.md"


def run() -> str:
    if not SHARED.is_dir():
        return f"## align quality\n\nSkipped: {SHARED} is absent.\n"
    from kgtext.evaluation.align_eval import main

    main(
        [
            "--data-dir",
            str(SHARED),
            "--work",
            str(REPO / "bench" / "_work" / "align_eval"),
            "--out",
            str(REPORT),
            "--oracle",
            "--sweep",
            "0.3,0.4,0.5",
            "--plot",
            str(REPO / "bench" / "alignment_confidence.png"),
            "--json",
        ]
    )
    text = REPORT.read_text(encoding="utf-8")
    table = [line for line in split_lines(text) if line.startswith("|")][: 2 + 6]
    return "## align quality (bench/ALIGNMENT.md)\n\n" + "\n".join(table) + "\n"
