"""The one renderer of the alignment evaluation: Markdown tables, the JSON headline, the threshold sweep."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kgtext.evaluation.score import BASELINE, OURS, Scores, SetResult

HEADER = "| system | what | predicted | gold | precision | recall | F1 |\n|---|---|---:|---:|---:|---:|---:|"


def _shown(scores: Scores) -> list[str]:
    """P, R, F1 as text; ``-`` where there is nothing to divide by (no prediction is scored, no gold)."""
    p, r, f = scores.prf()
    return [
        f"{x:.3f}" if n else "-"
        for x, n in ((p, scores.predicted), (r, scores.gold), (f, scores.predicted and scores.gold))
    ]


def score_row(scores: Scores, system: str, what: str) -> str:
    """One row under :data:`HEADER`."""
    p, r, f = _shown(scores)
    return f"| {system} | {what} | {scores.predicted} | {scores.gold} | {p} | {r} | {f} |"


def prf_cell(scores: Scores) -> str:
    """``P / R / F1`` in one cell."""
    return " / ".join(_shown(scores))


def _figures(scores: Scores) -> dict[str, float | int]:
    p, r, f = scores.prf()
    return {"p": p, "r": r, "f1": f, **scores._asdict()}


def summary_rows(results: Sequence[SetResult]) -> list[dict[str, Any]]:
    """One headline row per setting: pair and mention figures (and their counts) of kgtext and the baseline."""
    out = []
    for res in results:
        row: dict[str, Any] = {
            "setting": res.name,
            "documents": res.documents,
            "without_output": res.without_output,
            "skipped_pairs": res.skipped_pairs,
        }
        for system in (OURS, BASELINE):
            row[system] = {
                "pairs": _figures(res.pairs[system]["all"]),
                "mentions": _figures(res.mentions[system]["all"]),
                "mentions_overlap": _figures(res.mentions[system]["all (overlap)"]),
            }
        out.append(row)
    return out


def _section(res: SetResult, done: str) -> list[str]:
    """One set's heading, what was done, then its mention and pair tables (the baseline's pairs: ``all``)."""
    lines = ["", f"## {res.name}", ""]
    if res.about:
        lines += [res.about, ""]
    lines.append(f"{done} in {res.seconds:.1f} s; {res.without_output} documents without output.")
    if res.skipped_pairs:
        lines.append(
            f"{res.skipped_pairs} documents skipped for pairs: sentence count differs from the gold split."
        )
    lines += ["", "### Mentions", "", HEADER]
    for system, rows in res.mentions.items():
        lines += [score_row(scores, system, what) for what, scores in rows.items()]
    lines += ["", "### Triple -> sentence pairs", "", HEADER]
    for system, rows in res.pairs.items():
        lines += [
            score_row(scores, system, what)
            for what, scores in rows.items()
            if system == OURS or what == "all"
        ]
    return lines


def render(results: Sequence[SetResult], data_dir: str) -> str:
    """The report of ``kgtext align-eval``: a headline table, then every setting's mention and pair rows."""
    lines = [
        "# Alignment quality through `kgtext build-corpus` (`kgtext align-eval`)",
        "",
        f"Gold data from `{data_dir}`. Each setting is built by `kgtext build-corpus` with one KG for the whole",
        "gold set and `--min-sentence-words 0`; `aligned/` is read back and scored. A document without output",
        "scores as misses. Mentions: exact span and entity (`all`), or a span overlapping a gold span of the same",
        f"entity (`all (overlap)`). Pairs: (sentence, triple), each counted once at its strongest level. `{BASELINE}`:",
        "exact case-sensitive labels and aliases of the KG on word boundaries, every candidate kept, a triple where",
        "head and tail co-occur. Protocols: docs/ALIGNMENT.md.",
        "",
        "| setting | documents | no output | kgtext pairs P / R / F1 | baseline pairs P / R / F1 | kgtext mentions (overlap) P / R / F1 | baseline mentions (overlap) |",
        "|---|---:|---:|---|---|---|---|",
    ]
    for res in results:
        lines.append(
            f"| {res.name} | {res.documents} | {res.without_output} | {prf_cell(res.pairs[OURS]['all'])} | "
            f"{prf_cell(res.pairs[BASELINE]['all'])} | {prf_cell(res.mentions[OURS]['all (overlap)'])} | "
            f"{prf_cell(res.mentions[BASELINE]['all (overlap)'])} |"
        )
    for res in results:
        lines += _section(res, "Built, read back and scored")
    return "\n".join(lines) + "\n"


def render_oracle(results: Sequence[SetResult], data_dir: str) -> str:
    """The ``--oracle`` diagnostic: each gold document aligned in memory against only its own triples."""
    lines = [
        "",
        "# Diagnostic only: per-entry-KG oracle (each document aligned against its own triples)",
        "",
        f"Gold sets read from `{data_dir}`. A user's KG is one for the whole corpus, so these are never headline",
        "figures. Scored as above; the baseline's gazetteer is the document's own names and literal tails, plus",
        "the document's links.",
    ]
    for res in results:
        lines += _section(res, "Cleaned, aligned and scored (both systems)")
    return "\n".join(lines) + "\n"


def render_sweep(base: float, results: Sequence[SetResult], sweep: dict[float, list[SetResult]]) -> str:
    """Pair and mention (overlap) P / R / F1 per ``--min-mention-confidence``, each a full rebuild."""
    table = {base: list(results), **sweep}
    names = [r.name for r in results]
    lines = [
        "",
        "## Precision and recall per `--min-mention-confidence`",
        "",
        "Each row is a full rebuild of every setting with that threshold (mentions whose linking confidence",
        "is below it are dropped before triples are aligned; docs/ALIGNMENT.md). Pairs, then mentions (overlap).",
        "",
        "| threshold | " + " | ".join(names) + " |",
        "|---:|" + "---|" * len(names),
    ]
    for threshold in sorted(table):
        by_name = {r.name: r for r in table[threshold]}
        cells = [
            f"{prf_cell(by_name[n].pairs[OURS]['all'])}<br>{prf_cell(by_name[n].mentions[OURS]['all (overlap)'])}"
            for n in names
        ]
        lines.append(f"| {threshold:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_sweep(
    base: float, results: Sequence[SetResult], sweep: dict[float, list[SetResult]], path: str
) -> None:
    """Pair precision against recall per setting, one point per threshold (a PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = {base: list(results), **sweep}
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for res in results:
        points = []
        for threshold in sorted(table):
            scores = next(r for r in table[threshold] if r.name == res.name).pairs[OURS]["all"]
            p, r, _ = scores.prf()
            points.append((r, p, threshold))
        ax.plot([x for x, _, _ in points], [y for _, y, _ in points], marker="o", label=res.name)
        for x, y, threshold in points:
            ax.annotate(f"{threshold:g}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("pair recall")
    ax.set_ylabel("pair precision")
    ax.set_title("kgtext align-eval: threshold on mention confidence")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
