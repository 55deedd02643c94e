"""``make ablations``: the ERNIE 3.0 §5 ablations at small scale -> bench/ABLATIONS.md (+ PNG plots).

    python -m bench.ablations            # full: 6 variants x 3 seeds, ~75 minutes on 2 cores
    python -m bench.ablations --smoke    # 2 variants x 1 seed, a few steps: checks the driver end to end

Reads ../shared/data (REBEL sample, TEKGEN, FewRel val) like the benchmarks. Steps:

1. **Held-out data**: FewRel val, each relation split in file order 420/140/140 into train/valid/test
   (``scripts/make_finetune_fixtures.py``). No valid/test sentence and no (head, relation, tail) of one may
   reach pre-training: documents containing a held-out sentence (whitespace and case ignored) and KG lines
   holding a held-out fact are removed, and the counts are reported.
2. **Pre-training corpus**: ``kgtext build-corpus`` over Re-DocRED dev (data/sample) + the REBEL sample +
   TEKGEN (``scripts/convert_tekgen.py``), KG = their statements, one KG for the whole input.
3. **Runs**: every variant (``VARIANTS``: the baseline and one ``--set`` change each) with every seed, the
   tiny preset, the same steps (the same token budget), two runs at a time with one thread each.
4. **Measures**: the last validation losses; progressive learning's time to the no-progressive run's final
   loss (steps, tokens, CPU seconds); NLG validation perplexity (shared vs separate task module); document
   perplexity with memory on/off (``kgtext evaluate``); the LAMA-style cloze (knowledge vs token masking);
   relation classification on the FewRel split after pre-training with and without UKTP, and from scratch.
   Mean ± std over seeds and the 95% interval of each difference (Welch).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kgtext.common.jsonl import loads_line, read_json_lines, split_lines
from kgtext.corpus.stats import StatKey
from kgtext.model.train.log import read_metrics

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
WORK = REPO / "bench" / "_work" / "ablations"
KGTEXT = [sys.executable, "-m", "kgtext.cli"]

VARIANTS: dict[str, list[str]] = {
    "baseline": [],
    "no_uktp": ["data.uktp_weight=0"],
    "no_progressive": ["progressive.enabled=false"],
    "shared_module": ["model.shared_task_module=true"],
    "no_memory": ["model.mem_len=0"],
    "token_masking": ["data.kmlm_masking=token"],
}
COMMON = ["eval.batches=8", "runtime.threads=1"]
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 8: 2.306, 10: 2.228}


def _run(cmd: list[str], log: Path) -> None:
    with open(log, "w", encoding="utf-8") as out:
        subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, check=True)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def held_out(
    smoke: bool, work: Path = WORK, per_relation: tuple[int, int, int] = (420, 140, 140)
) -> tuple[dict[str, Path], set[str], set[tuple[str, str, str]]]:
    """The FewRel split files (``per_relation``: train / valid / test sentences of each relation), their
    held-out sentences (normalised) and facts (Q-head, P, Q-tail)."""
    prefix = work / "fewrel"
    n_train, n_valid, n_test = (30, 10, 10) if smoke else per_relation
    sizes = ["--train", str(n_train), "--valid", str(n_valid), "--test", str(n_test)] + (
        ["--relations", "P59", "P412", "P641", "P206"] if smoke else []
    )
    subprocess.run(
        [sys.executable, "scripts/make_finetune_fixtures.py", "--out", str(prefix), *sizes],
        cwd=REPO,
        check=True,
    )
    files = {s: work / f"fewrel_{s}.jsonl" for s in ("train", "valid", "test")}
    sentences = set()
    for split in ("valid", "test"):
        for line in read_json_lines(files[split]):
            sentences.add(_normalise(line.value["text"]))
    raw = json.loads((SHARED / "fewrel_val" / "val_wiki.json").read_text(encoding="utf-8"))
    facts = set()
    n_eval = n_valid + n_test
    for relation, instances in raw.items():
        for inst in instances[n_train : n_train + n_eval]:
            facts.add((inst["h"][1], relation, inst["t"][1]))
    return files, sentences, facts


def pretraining_inputs(
    sentences: set[str], facts: set[tuple[str, str, str]], work: Path = WORK
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """KG and document files with the held-out sentences and facts removed, and the removal counts."""
    subprocess.run(
        [sys.executable, "scripts/convert_tekgen.py", "--out", str(work / "tekgen")], cwd=REPO, check=True
    )
    fact_lines = {
        f"<http://www.wikidata.org/entity/{h}> <http://www.wikidata.org/prop/direct/{r}> <http://www.wikidata.org/entity/{t}>"
        for h, r, t in facts
    }
    removed = {"documents": 0, "kg_lines": 0}
    kg_out, docs_out = [], []
    for src in [
        SHARED / "rebel_sample" / "kg_statements.nt",
        SHARED / "rebel_sample" / "anchor_aliases.nt",
        work / "tekgen" / "kg.nt",
    ]:
        dst = work / f"kg_{src.parent.name}_{src.name}"
        kept = []
        for line in split_lines(src.read_text(encoding="utf-8")):  # N-Triples: lines end at "\n" only
            if line.rsplit(" .", 1)[0].strip() in fact_lines:
                removed["kg_lines"] += 1
            else:
                kept.append(line)
        dst.write_text("\n".join(kept) + "\n", encoding="utf-8")
        kg_out.append(str(dst))
    kg_out.append(str(REPO / "data" / "sample" / "kg.ttl"))  # Re-DocRED: its own IRIs, no Wikidata facts
    for src in [
        REPO / "data" / "sample" / "docs.jsonl",
        SHARED / "rebel_sample" / "sample.jsonl",
        work / "tekgen" / "docs.jsonl",
    ]:
        dst = work / f"docs_{src.parent.name}_{src.name}"
        kept = []
        for line in split_lines(src.read_text(encoding="utf-8")):
            if not line.strip():
                continue
            text = _normalise(loads_line(line).get("text", ""))
            if any(s in text for s in sentences):
                removed["documents"] += 1
            else:
                kept.append(line)
        dst.write_text("\n".join(kept) + "\n", encoding="utf-8")
        docs_out.append(str(dst))
    return {"kg": kg_out, "docs": docs_out}, removed


def pretrain_all(
    corpus: Path,
    variants: dict[str, list[str]],
    seeds: list[int],
    steps: int,
    reuse: bool = False,
    preset: str = "tiny",
) -> dict[tuple[str, int], Path]:
    """Every (variant, seed) run, two at a time; RUN_DIR per run (with ``reuse``, a run folder that already
    holds its final checkpoint is kept, not trained again)."""
    jobs = [(v, s) for v in variants for s in seeds]
    runs: dict[tuple[str, int], Path] = {}
    pending: list[tuple[subprocess.Popen[bytes], Any]] = []
    for variant, seed in jobs:
        out = WORK / "runs" / f"{variant}-s{seed}"
        if reuse and (out / "checkpoints" / f"step-{steps:08d}" / "meta.json").is_file():
            runs[(variant, seed)] = out
            continue
        every = [f"eval.interval={max(5, steps // 6)}", f"checkpoint.interval={steps}"]
        sets = [*COMMON, *every, *variants[variant], f"runtime.seed={seed}", f"data.seed={seed}"]
        cmd = [*KGTEXT, "pretrain", "--corpus", str(corpus), "--preset", preset, "--out", str(out), "--overwrite",
               "--max-steps", str(steps), *sum((["--set", x] for x in sets), [])]  # fmt: skip
        log = open(WORK / f"pretrain-{variant}-s{seed}.log", "w", encoding="utf-8")  # noqa: SIM115
        pending.append((subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT), log))
        runs[(variant, seed)] = out
        if len(pending) == 2:
            for proc, handle in pending:
                if proc.wait() != 0:
                    raise RuntimeError(f"pretraining failed: see {handle.name}")
                handle.close()
            pending = []
    for proc, handle in pending:
        if proc.wait() != 0:
            raise RuntimeError(f"pretraining failed: see {handle.name}")
        handle.close()
    return runs


def _metrics(run: Path) -> list[dict[str, Any]]:
    return read_metrics(run)


def _evals(run: Path) -> list[dict[str, Any]]:
    return [r for r in _metrics(run) if r.get("kind") == "eval"]


def _loss_keys(record: dict[str, Any]) -> set[str]:
    return {k for k in record if k.startswith("eval/") and k.endswith("/loss")}


def _total_valid_loss(record: dict[str, Any], keys: set[str] | None = None) -> float:
    """Sum of the validation losses of ``keys`` (default: every task the run evaluated)."""
    return sum(v for k, v in record.items() if k in (keys if keys is not None else _loss_keys(record)))


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def welch(a: list[float], b: list[float]) -> tuple[float, float, float] | None:
    """(mean of a - mean of b, its 95% Welch interval's low and high end), or None with one seed a side."""
    d = statistics.mean(a) - statistics.mean(b)
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va**2) / (len(a) - 1) + (vb**2) / (len(b) - 1)) if se else 1.0
    t = T95[max((k for k in T95 if k <= df), default=1)]  # the next lower df: never too narrow
    return d, d - t * se, d + t * se


def diff_interval(a: list[float], b: list[float]) -> str:
    """Mean of a - b and its 95% Welch interval."""
    found = welch(a, b)
    if found is None:
        return f"{statistics.mean(a) - statistics.mean(b):+.3f} (one seed: no interval)"
    d, low, high = found
    return f"{d:+.3f} [{low:+.3f}, {high:+.3f}]"


def finetune(
    run: Path | str,
    files: dict[str, Path],
    out: Path,
    seed: int,
    epochs: int,
    extra: list[str],
    reuse: bool = False,
    threads: int = 2,
) -> dict[str, Any]:
    """``kgtext finetune --task relation`` into OUT, logged to OUT.log (with ``reuse``, kept when OUT holds
    its metrics.json)."""
    if reuse and (out / "metrics.json").is_file():
        kept: dict[str, Any] = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        return kept
    cmd = [*KGTEXT, "finetune", "--checkpoint", str(run), "--task", "relation", "--out", str(out), "--overwrite",
           "--epochs", str(epochs), "--threads", str(threads), "--seed", str(seed), *extra,
           *sum((["--" + k, str(v)] for k, v in files.items()), [])]  # fmt: skip
    _run(cmd, out.with_suffix(".log"))
    result: dict[str, Any] = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return result


def _machine() -> str:
    """Where the figures come from: the GPU's name, else the CPU count."""
    try:
        import torch

        if torch.cuda.is_available():
            return f"one {torch.cuda.get_device_name(0)} GPU"
    except ImportError:
        pass
    return f"{os.cpu_count()} CPU cores (no GPU)"


def _readable(corpus: Path) -> bool:
    """Whether ``corpus`` holds a manifest this kgtext reads (a corpus of an older format is rebuilt)."""
    proc = subprocess.run([*KGTEXT, "inspect", str(corpus), "--json"], cwd=REPO, capture_output=True)
    return proc.returncode == 0


EVALUATED = {"baseline": True, "no_memory": False, "token_masking": True}
"""Variants ``kgtext evaluate`` runs on (value: with ``--cloze``): the memory comparison needs document
perplexity of baseline and no_memory, the masking comparison the cloze of baseline and token_masking; the
other comparisons come from the runs' own validation curves and the fine-tunes."""


def evaluate(run: Path, corpus: Path, with_cloze: bool) -> dict[str, Any]:
    flags = ["--cloze"] if with_cloze else []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two evaluations at a time, one thread each
    proc = subprocess.run([*KGTEXT, "evaluate", "--checkpoint", str(run), "--corpus", str(corpus), *flags, "--json"],
                          cwd=REPO, capture_output=True, text=True, check=True, env=env)  # fmt: skip
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def plot_curves(
    runs: dict[tuple[str, int], Path], key: str, variants: list[str], path: Path, ylabel: str
) -> None:
    """One line per variant (the mean over seeds) with its seeds' min-max band. ``key`` "total" sums the
    validation losses of the tasks every variant trains (no_uktp has no UKTP loss), named in the label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    common = set.intersection(*(_loss_keys(_evals(run)[-1]) for run in runs.values()))
    if key == "total":
        ylabel = f"{ylabel} ({'+'.join(sorted(k.split('/')[1] for k in common))})"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for variant in variants:
        curves = [_evals(run) for (v, _), run in sorted(runs.items()) if v == variant]
        steps = [r["step"] for r in curves[0]]
        values = [
            [_total_valid_loss(r, common) if key == "total" else r.get(key, float("nan")) for r in evals]
            for evals in curves
        ]
        by_step = list(zip(*values, strict=False))
        mean = [statistics.mean(v) for v in by_step]
        (line,) = ax.plot(steps[: len(mean)], mean, label=f"{variant} ({len(curves)} seeds)", linewidth=1.6)
        if len(curves) > 1:
            ax.fill_between(
                steps[: len(mean)],
                [min(v) for v in by_step],
                [max(v) for v in by_step],
                color=line.get_color(),
                alpha=0.15,
            )
    ax.set(xlabel="step", ylabel=ylabel)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--smoke", action="store_true", help="2 variants x 1 seed, 30 steps: check the driver only"
    )
    p.add_argument(
        "--out", type=Path, default=None, help="default bench/ABLATIONS.md (smoke: under bench/_work)"
    )
    p.add_argument(
        "--scale",
        type=float,
        default=float(os.environ.get("SCALE", "1")),
        help="multiply the 300 pre-training steps (default: $SCALE or 1)",
    )
    p.add_argument(
        "--preset",
        default=os.environ.get("ABLATION_PRESET", "tiny"),
        help="model preset of every run (default: $ABLATION_PRESET or tiny; base-ablation on a GPU)",
    )
    p.add_argument(
        "--reuse",
        action="store_true",
        help="keep finished work under bench/_work/ablations (a readable corpus, runs with their final "
        "checkpoint, fine-tunes with metrics.json) and do only the rest",
    )
    args = p.parse_args()
    if args.out is None:
        args.out = WORK / "ABLATIONS-smoke.md" if args.smoke else REPO / "bench" / "ABLATIONS.md"
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    variants = {k: VARIANTS[k] for k in ("baseline", "no_uktp")} if args.smoke else VARIANTS
    seeds, steps, epochs = ([0], 30, 1) if args.smoke else ([0, 1, 2], round(300 * args.scale), 8)
    files, sentences, facts = held_out(args.smoke)
    inputs, removed = pretraining_inputs(sentences, facts)
    corpus = WORK / "corpus"
    if not (args.reuse and _readable(corpus)):
        _run([*KGTEXT, "build-corpus", "--kg", *inputs["kg"], "--docs", *inputs["docs"], "--out", str(corpus),
              "--overwrite", "--runner=DirectRunner"], WORK / "build.log")  # fmt: skip
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    stats = manifest["statistics"]
    runs = pretrain_all(corpus, variants, seeds, steps, args.reuse, args.preset)
    final = {(v, s): _evals(r)[-1] for (v, s), r in runs.items()}
    lines = [
        "# Ablations (ERNIE 3.0 §5 at small scale)",
        "",
        f"Rewritten by `make ablations`{' --smoke (driver check only: not results)' if args.smoke else ''}; "
        f"{len(variants)} variants x {len(seeds)} seed(s), preset {args.preset}, {steps} steps each, on {_machine()}. "
        f"Corpus: {stats.get(StatKey.DOCUMENTS_KEPT, 0)} documents, {stats.get(StatKey.ALIGNED_SENTENCES, 0)} aligned sentences, "
        f"{stats.get(StatKey.KG_TRIPLES, 0)} KG triples; held out for fine-tuning: {len(sentences)} FewRel sentences and "
        f"{len(facts)} facts (removed from pre-training: {removed['documents']} documents, {removed['kg_lines']} KG lines).",
        "",
        "## Final validation loss per variant",
        "",
        "Summed over the tasks the variant and the baseline both train (a variant without UKTP is compared on",
        "the other four), so the difference is like for like.",
        "",
        "| variant | --set | tasks | valid loss | baseline, same tasks | difference (95% interval) |",
        "|---|---|---|---:|---:|---|",
    ]
    for variant, sets in variants.items():
        keys = _loss_keys(final[(variant, seeds[0])]) & _loss_keys(final[("baseline", seeds[0])])
        vals = [_total_valid_loss(final[(variant, s)], keys) for s in seeds]
        base = [_total_valid_loss(final[("baseline", s)], keys) for s in seeds]
        diff = "-" if variant == "baseline" else diff_interval(vals, base)
        tasks = ",".join(sorted(k.split("/")[1] for k in keys))
        lines.append(
            f"| {variant} | {' '.join(sets) or '-'} | {tasks} | {mean_std(vals)} | {mean_std(base)} | {diff} |"
        )
    plot_curves(
        runs, "total", list(variants), args.out.parent / "ablations_valid_loss.png", "total valid loss"
    )
    plot_curves(
        runs,
        "eval/dlm/perplexity",
        list(variants),
        args.out.parent / "ablations_nlg_perplexity.png",
        "NLG valid perplexity",
    )
    lines += [
        "",
        "![valid loss](ablations_valid_loss.png) ![NLG perplexity](ablations_nlg_perplexity.png)",
        "",
    ]
    # Relation classification: with and without UKTP, and from scratch.
    lines += [
        "## Relation classification on FewRel (held out)",
        "",
        "| pre-training | test accuracy | test macro-F1 | test examples (cut to tgt_len; unfittable) |",
        "|---|---:|---:|---:|",
    ]
    fine: dict[str, list[dict[str, Any]]] = {}
    for variant in ("baseline", "no_uktp"):
        fine[variant] = [
            finetune(runs[(variant, s)], files, WORK / f"ft-{variant}-s{s}", s, epochs, [], args.reuse)
            for s in seeds
        ]
    # The control: the pre-trained runs' own architecture (tgt_len, vocabulary) with random weights, so the
    # same examples fit (a longer tgt_len would keep sentences the pre-trained models skip).
    fine["none"] = [
        finetune(
            "none",
            files,
            WORK / f"ft-scratch-s{s}",
            s,
            epochs,
            ["--architecture-of", str(runs[("baseline", s)])],
            args.reuse,
        )  # fmt: skip
        for s in seeds
    ]
    for name, results in fine.items():
        used, cut, unfit = (results[0][k]["test"] for k in ("examples", "cut", "unfittable"))
        lines.append(
            f"| {name} | {mean_std([r['test']['accuracy'] for r in results])} | "
            f"{mean_std([r['test']['macro_f1'] for r in results])} | {used} ({cut}; {unfit}) |"
        )
    acc = {k: [r["test"]["accuracy"] for r in v] for k, v in fine.items()}
    lines += ["", f"UKTP - no UKTP, test accuracy: {diff_interval(acc['baseline'], acc['no_uktp'])}; "
              f"pre-trained (baseline) - from scratch: {diff_interval(acc['baseline'], acc['none'])}; "
              f"majority baseline {fine['baseline'][0]['majority_baseline']['accuracy']:.3f}.", ""]  # fmt: skip
    # kgtext evaluate of the runs the memory and masking comparisons need (document perplexity, cloze).
    chosen = {v: c for v, c in EVALUATED.items() if v in variants}
    keys = [(v, s) for v in chosen for s in seeds]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        found = pool.map(lambda key: evaluate(runs[key], corpus, chosen[key[0]]), keys)
        evals = dict(zip(keys, found, strict=True))
    lines += ["## Memory and masking (`kgtext evaluate`, valid split)", "",
              "| variant | doc ppl, memory | doc ppl, no memory | dlm stream ppl | cloze acc@1 | cloze MRR (random) |",
              "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for variant, with_cloze in chosen.items():
        rs = [evals[(variant, s)] for s in seeds]
        cloze_cells = (
            f"{mean_std([r['cloze/accuracy_at_1'] for r in rs])} | {mean_std([r['cloze/mrr'] for r in rs])} "
            f"({rs[0]['cloze/random_mrr']:.3f}, {rs[0]['cloze/facts']} facts)"
            if with_cloze
            else "- | -"
        )
        lines.append(
            f"| {variant} | {mean_std([r['document_perplexity/with_memory'] for r in rs])} | "
            f"{mean_std([r['document_perplexity/without_memory'] for r in rs])} | "
            f"{mean_std([r['dlm/perplexity'] for r in rs])} | {cloze_cells} |"
        )
    if {"baseline", "no_memory"} <= set(chosen):
        with_mem = [evals[("baseline", s)]["document_perplexity/with_memory"] for s in seeds]
        without = [evals[("no_memory", s)]["document_perplexity/with_memory"] for s in seeds]
        lines += [
            "",
            f"Document perplexity, memory (baseline) - no memory (mem_len 0 run): {diff_interval(with_mem, without)}.",
        ]
    if {"baseline", "token_masking"} <= set(chosen):
        mrr = {v: [evals[(v, s)]["cloze/mrr"] for s in seeds] for v in ("baseline", "token_masking")}
        lines += [
            "",
            f"Cloze MRR, knowledge masking (baseline) - token masking: {diff_interval(mrr['baseline'], mrr['token_masking'])}.",
        ]
    shared = (
        [_evals(runs[("shared_module", s)])[-1].get("eval/dlm/perplexity") for s in seeds]
        if "shared_module" in variants
        else []
    )
    if shared and all(x is not None for x in shared):
        separate = [_evals(runs[("baseline", s)])[-1]["eval/dlm/perplexity"] for s in seeds]
        lines += ["", f"Final NLG validation perplexity, shared task module - separate (baseline): "
                  f"{diff_interval([float(x) for x in shared], separate)} (curves in the plot above)."]  # fmt: skip
    if "no_progressive" in variants:
        lines += ["", "## Progressive learning: time to the no-progressive runs' final loss", "",
                  "| seed | target | first eval at or below: step | tokens | elapsed s |", "|---|---:|---:|---:|---:|"]  # fmt: skip
        for s in seeds:
            target = statistics.mean(_total_valid_loss(r) for r in _evals(runs[("no_progressive", s)])[-3:])
            train = {
                r["step"]: r for r in _metrics(runs[("baseline", s)]) if r.get("kind", "train") == "train"
            }
            hit = next((r for r in _evals(runs[("baseline", s)]) if _total_valid_loss(r) <= target), None)
            if hit is None:
                lines.append(f"| {s} | {target:.3f} | not reached in {steps} steps | - | - |")
            else:
                t = train.get(hit["step"], {})
                lines.append(
                    f"| {s} | {target:.3f} | {hit['step']} | {t.get('tokens_seen', '-')} | {t.get('elapsed_s', '-')} |"
                )
    lines += ["", f"_`make ablations` took {time.perf_counter() - started:.0f} s._", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
