"""``make proof``: does the knowledge corpus make a better model than plain text, and than random weights?

    python -m bench.proof             # 3 arms x 3 seeds on the ablation corpus: about 100 minutes on 2 cores
    python -m bench.proof --smoke     # 1 seed, a few steps, 4 relations: checks the driver end to end

Reads ../shared/data (Re-DocRED via data/sample, the REBEL sample, TEKGEN, FewRel val) like the ablations.
Resumable: a finished run (final checkpoint), fine-tune (``metrics.json``) or evaluation (its JSON) under
``bench/_work/proof`` is kept and skipped; a run stopped part-way resumes from its newest checkpoint
(``kgtext pretrain --resume``). ``PROOF_SCALE`` multiplies the steps, ``PROOF_PRESET`` picks the model preset.

The three arms share the corpus's documents, its tokenizer, the architecture, the seeds and the token budget:

- **random**: no pre-training (``finetune --checkpoint none --architecture-of`` the ernie run of the seed);
- **plain**: plain-text pre-training on the same documents: random token masking and the document LM only
  (no UKTP, no sentence reordering or distance, no knowledge masking), what knowledge papers compare with;
- **ernie**: the full ERNIE 3.0 objective: knowledge masking, UKTP, SR, SD and the document LM.

Measures: FewRel relation classification fine-tuned (every test sentence, long ones cut), a frozen-feature
linear probe on the same split (``finetune --linear-probe``), the LAMA-style cloze on the valid split's facts
(``kgtext evaluate --cloze``; apart for facts the train split also holds and facts it does not), DLM
perplexity and representation health. Differences are Welch 95% intervals over per-seed means.
FewRel valid/test sentences and their facts are removed from pre-training (:func:`bench.ablations.held_out`).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import json
import math
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.ablations import (
    KGTEXT,
    REPO,
    _machine,
    _metrics,
    _readable,
    _run,
    held_out,
    mean_std,
    plot_curves,
    pretraining_inputs,
    welch,
)
from bench.ablations import finetune as ablations_finetune
from kgtext.corpus.stats import StatKey
from kgtext.model.train.health import COLLAPSED_PR, collapse_warning

WORK = REPO / "bench" / "_work" / "proof"
STEPS = 1000
"""Pre-training steps per run at PROOF_SCALE=1: six runs, two at a time, fill about 40 of the 100 minutes
(the corpus, 18 fine-tunes and probes and 18 evaluations take the rest, measured on the smoke run's
per-job times; bench/PROOF.md gives the measured split)."""
SEEDS = [0, 1, 2]
PER_RELATION = (140, 70, 140)
"""FewRel sentences per relation for train / valid / test (16 relations): all 2,240 test sentences of the
split are scored; 140 train sentences per relation keep each fine-tune to a few minutes on one core."""
EPOCHS = 8
PROBE_LR = "5e-3"
"""The linear probe trains a fresh linear layer only, so it gets a larger lr than fine-tuning's default."""
PLAIN = ["data.uktp_weight=0", "data.sr_weight=0", "data.sd_weight=0", "data.kmlm_masking=token"]
RECIPE = ["optim.stack_lr_scale=0.03"]
"""What every pre-trained arm changes in the preset's recipe, announced before the second run: the stacks'
matrices at 0.03x the lr instead of 0.1x. The tiny recipe was found on 300-step runs; at this budget its pooled
NLU states fell below participation ratio 8 after step ~400 (the first run, kept in bench/PROOF.md's history),
while 0.03x held above it to step 1,000 in a seed-0 ernie run (docs/TRAINING.md, "Longer runs")."""
ARMS: dict[str, list[str] | None] = {"random": None, "plain": [*RECIPE, *PLAIN], "ernie": RECIPE}
"""Arm -> its ``--set`` changes to the tiny recipe (None: no pre-training)."""
TRAINED = [arm for arm, sets in ARMS.items() if sets is not None]
CURVE_POINTS = 3
"""Checkpoints per run kept for the cloze curve (at 1/3, 2/3 and the end of the budget)."""


def _parallel(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` two at a time (one per core), results in order; the first failure is raised."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda job: job(), jobs))


def pretrain(corpus: Path, arm: str, seed: int, steps: int, preset: str) -> Path:
    """The (arm, seed) run folder with its final checkpoint: trained, resumed or kept."""
    out = WORK / "runs" / f"{arm}-s{seed}"
    if (out / "checkpoints" / f"step-{steps:08d}" / "meta.json").is_file():
        return out
    resume = (out / "checkpoints").is_dir() and any((out / "checkpoints").glob("step-*/meta.json"))
    every = max(1, math.ceil(steps / CURVE_POINTS))  # 1000 steps: 334, 668 and the final 1000
    sets = [
        "eval.batches=8",  # the curves; the final figures come from `kgtext evaluate` over the whole split
        f"eval.interval={max(5, steps // 10)}",
        f"checkpoint.interval={every}",
        f"checkpoint.keep={CURVE_POINTS + 1}",
        "runtime.threads=1",
        f"runtime.seed={seed}",
        f"data.seed={seed}",
        *(ARMS[arm] or []),
    ]
    cmd = [*KGTEXT, "pretrain", "--corpus", str(corpus), "--preset", preset, "--out", str(out),
           "--max-steps", str(steps), *(["--resume"] if resume else ["--overwrite"]),
           *sum((["--set", x] for x in sets), [])]  # fmt: skip
    _run(cmd, WORK / f"pretrain-{arm}-s{seed}.log")
    return out


def finetune(
    checkpoint: str, files: dict[str, Path], name: str, seed: int, epochs: int, extra: list[str]
) -> dict[str, Any]:
    """``kgtext finetune --task relation`` on one core into WORK/NAME (kept when its metrics.json exists)."""
    return ablations_finetune(checkpoint, files, WORK / name, seed, epochs, extra, reuse=True, threads=1)


def evaluate(checkpoint: Path, corpus: Path, name: str, batches: str) -> dict[str, Any]:
    """``kgtext evaluate --cloze --json`` of ``checkpoint``, cached as WORK/evals/NAME.json."""
    cached = WORK / "evals" / f"{name}.json"
    if cached.is_file():
        kept: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
        return kept
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([*KGTEXT, "evaluate", "--checkpoint", str(checkpoint), "--corpus", str(corpus), "--cloze",
                           "--no-documents", "--batches", batches, "--json"],
                          cwd=REPO, capture_output=True, text=True, env=env)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"kgtext evaluate {checkpoint} failed: {proc.stderr.strip().splitlines()[-1:]}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(proc.stdout, encoding="utf-8")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _tokens_seen(run: Path) -> float:
    """Tokens the run trained on (its last training record)."""
    return float([r for r in _metrics(run) if "tokens_seen" in r][-1]["tokens_seen"])


def _elapsed(run: Path) -> float:
    """Seconds the run trained (its last training record's ``elapsed_s``)."""
    return float([r for r in _metrics(run) if "elapsed_s" in r][-1]["elapsed_s"])


def _minutes(seconds: list[float]) -> str:
    return f"{statistics.mean(seconds) / 60:.1f} min (max {max(seconds) / 60:.1f})"


def _checkpoints(run: Path) -> list[Path]:
    """The checkpoints the cloze curve evaluates: the first CURVE_POINTS - 1 and the final one (a run of N steps
    with interval N / 3 rounded down also keeps a checkpoint one step before the end, left out here)."""
    found = sorted(p for p in (run / "checkpoints").glob("step-*") if (p / "meta.json").is_file())
    return [*found[: CURVE_POINTS - 1], found[-1]] if len(found) > CURVE_POINTS else found


def plot_cloze(curves: dict[str, dict[int, list[float]]], random_mrr: float, path: Path) -> None:
    """Cloze MRR over steps: one line per arm (mean over seeds) with the seeds' min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for arm, by_step in curves.items():
        steps = sorted(by_step)
        mean = [statistics.mean(by_step[s]) for s in steps]
        (line,) = ax.plot(steps, mean, marker="o", label=f"{arm} ({len(by_step[steps[-1]])} seeds)")
        ax.fill_between(steps, [min(by_step[s]) for s in steps], [max(by_step[s]) for s in steps],
                        color=line.get_color(), alpha=0.15)  # fmt: skip
    ax.axhline(random_mrr, color="grey", linestyle="--", linewidth=1, label="random ranking")
    ax.set(xlabel="step", ylabel="cloze MRR (valid facts)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _row(name: str, values: list[float]) -> str:
    return f"{name} {mean_std(values)}" if values else f"{name} -"


def verdict(diff: tuple[float, float, float] | None, margin: float = 0.0) -> str:
    """What a (mean, low, high) difference shows against a target of ``margin`` (the interval must clear 0)."""
    if diff is None:
        return "one seed: no interval"
    mean, low, high = diff
    if low > 0:
        return "holds" if mean >= margin else f"above 0, below the {margin:g} target"
    if high < 0:
        return "the opposite holds: interval below 0"
    return "positive in the mean, interval includes 0" if mean > 0 else "does not hold"


def check_budget(budget: dict[str, Any]) -> None:
    """Keep finished work only for the same budget: fine-tunes and evaluations are cached by name, so results of
    another PROOF_SCALE or PROOF_PRESET in WORK would be mixed in. Refused in one line (nothing is deleted)."""
    stamp = WORK / "budget.json"
    if stamp.is_file():
        kept = json.loads(stamp.read_text(encoding="utf-8"))
        if kept != budget:
            raise SystemExit(
                f"bench.proof: {WORK} holds the results of {kept}, not {budget}: move that folder away first"
            )
    else:
        stamp.write_text(json.dumps(budget, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--smoke", action="store_true", help="1 seed, 20 steps, 4 relations: check the driver only"
    )
    p.add_argument("--out", type=Path, default=None, help="default bench/PROOF.md (smoke: under bench/_work)")
    p.add_argument("--scale", type=float, default=float(os.environ.get("PROOF_SCALE", "1")),
                   help=f"multiply the {STEPS} pre-training steps (default: $PROOF_SCALE or 1)")  # fmt: skip
    p.add_argument("--preset", default=os.environ.get("PROOF_PRESET", "tiny"),
                   help="model preset of every run (default: $PROOF_PRESET or tiny)")  # fmt: skip
    args = p.parse_args()
    global WORK
    if args.smoke:
        WORK = WORK.parent / "proof-smoke"
    if args.out is None:
        args.out = WORK / "PROOF-smoke.md" if args.smoke else REPO / "bench" / "PROOF.md"
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    seeds, steps, epochs = ([0], 20, 1) if args.smoke else (SEEDS, round(STEPS * args.scale), EPOCHS)
    check_budget({"steps": steps, "preset": args.preset, "epochs": epochs, "recipe": RECIPE})
    files, sentences, facts = held_out(args.smoke, WORK, PER_RELATION)
    inputs, removed = pretraining_inputs(sentences, facts, WORK)
    corpus = WORK / "corpus"
    if not _readable(corpus):
        print("building the corpus", flush=True)
        _run([*KGTEXT, "build-corpus", "--kg", *inputs["kg"], "--docs", *inputs["docs"], "--out", str(corpus),
              "--overwrite", "--runner=DirectRunner"], WORK / "build.log")  # fmt: skip
    stats = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))["statistics"]
    timings = {"corpus": time.perf_counter() - started}

    print(f"pre-training {len(TRAINED)} arms x {len(seeds)} seeds, {steps} steps each", flush=True)
    t0 = time.perf_counter()
    keys = [(arm, s) for arm in TRAINED for s in seeds]
    runs = dict(
        zip(
            keys,
            _parallel([functools.partial(pretrain, corpus, a, s, steps, args.preset) for a, s in keys]),
            strict=True,
        )
    )
    timings["pretraining"] = time.perf_counter() - t0

    print("fine-tuning and probing on FewRel", flush=True)
    t0 = time.perf_counter()
    source = {(arm, s): (["none", "--architecture-of", str(runs[("ernie", s)])] if arm == "random" else [str(runs[(arm, s)])])
              for arm in ARMS for s in seeds}  # fmt: skip
    jobs: list[Callable[[], Any]] = []
    order: list[tuple[str, str, int]] = []
    for kind, extra in (("ft", []), ("probe", ["--linear-probe", "--lr", PROBE_LR])):
        for arm in ARMS:
            for s in seeds:
                ck, *arch = source[(arm, s)]
                name = f"{kind}-{arm}-s{s}"
                jobs.append(functools.partial(finetune, ck, files, name, s, epochs, [*arch, *extra]))
                order.append((kind, arm, s))
    fine = dict(zip(order, _parallel(jobs), strict=True))
    timings["fine-tuning"] = time.perf_counter() - t0

    print("evaluating (cloze over steps, final whole-split figures)", flush=True)
    t0 = time.perf_counter()
    eval_jobs: list[Callable[[], Any]] = []
    eval_keys: list[tuple[str, int, int]] = []
    for (arm, s), run in runs.items():
        for point in _checkpoints(run):
            step = int(point.name.split("-")[1])
            batches = "all" if step == steps else "1"
            eval_jobs.append(functools.partial(evaluate, point, corpus, f"{arm}-s{s}-step{step}", batches))
            eval_keys.append((arm, s, step))
    evals = dict(zip(eval_keys, _parallel(eval_jobs), strict=True))
    timings["evaluation"] = time.perf_counter() - t0
    overall = all_invocations(timings)
    final = {(arm, s): evals[(arm, s, steps)] for arm in TRAINED for s in seeds}

    def test_acc(kind: str, arm: str) -> list[float]:
        return [fine[(kind, arm, s)]["test"]["accuracy"] for s in seeds]

    def figure(arm: str, key: str) -> list[float]:
        return [float(final[(arm, s)][key]) for s in seeds] if arm in TRAINED else []

    first = fine[("ft", "ernie", seeds[0])]
    tokens = {arm: [_tokens_seen(runs[(arm, s)]) for s in seeds] for arm in TRAINED}
    run_seconds = [_elapsed(run) for run in runs.values()]
    collapsed = [
        f"{arm} seed {s} ({final[(arm, s)]['health/nlu_pr']:.1f} / {final[(arm, s)]['health/cls_pr']:.1f})"
        for arm in TRAINED
        for s in seeds
        if collapse_warning(final[(arm, s)], steps)
    ]
    cloze0 = final[("ernie", seeds[0])]
    lines = [
        "# Proof: does the knowledge corpus make a better model?",
        "",
        f"Rewritten by `make proof`{' --smoke (driver check only: not results)' if args.smoke else ''} "
        f"(`python -m bench.proof`, PROOF_SCALE={args.scale:g}, PROOF_PRESET={args.preset}) on {_machine()}. "
        f"Arms: **random** (no pre-training), **plain** (`{' '.join(PLAIN)}`: token masking + document LM), "
        f"**ernie** (the full recipe: knowledge masking, UKTP, SR, SD, document LM); seeds {seeds}; "
        f"{steps} steps per pre-training run, both pre-trained arms with `{' '.join(RECIPE)}` on top of the "
        f"preset ({statistics.mean(tokens['plain']):,.0f} / "
        f"{statistics.mean(tokens['ernie']):,.0f} tokens seen by plain / ernie, mean over seeds).",
        "",
        f"Corpus (`kgtext build-corpus` over Re-DocRED dev + the REBEL sample + TEKGEN): "
        f"{stats.get(StatKey.DOCUMENTS_KEPT, 0)} documents, {stats.get(StatKey.ALIGNED_SENTENCES, 0)} aligned sentences, "
        f"{stats.get(StatKey.KG_TRIPLES, 0)} KG triples. Held out: FewRel val split {PER_RELATION[0]}/{PER_RELATION[1]}/"
        f"{PER_RELATION[2]} sentences per relation ({first['examples']['test']} test sentences, "
        f"{first['cut']['test']} cut to the model's length, {first['unfittable']['test']} unfittable and counted "
        f"wrong); its valid/test sentences and facts are removed from pre-training ({removed['documents']} "
        f"documents, {removed['kg_lines']} KG lines).",
        "",
        "## Per arm (mean ± std over seeds)",
        "",
        "| arm | FewRel test accuracy | linear probe accuracy | cloze MRR all | cloze MRR seen | cloze MRR unseen "
        "| cloze acc@1 | DLM perplexity | PR NLU / [CLS] |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for arm in ARMS:
        cells = [mean_std(test_acc("ft", arm)), mean_std(test_acc("probe", arm))]
        if arm in TRAINED:
            cells += [mean_std(figure(arm, k)) for k in ("cloze/mrr", "cloze/seen_mrr", "cloze/unseen_mrr",
                                                          "cloze/accuracy_at_1", "dlm/perplexity")]  # fmt: skip
            cells.append(
                f"{mean_std(figure(arm, 'health/nlu_pr'))} / {mean_std(figure(arm, 'health/cls_pr'))}"
            )
        else:
            cells += [f"{cloze0['cloze/random_mrr']:.3f} (random ranking)", "-", "-", "-",
                      f"{cloze0['dlm/unigram_perplexity']:.1f} (unigram)" if "dlm/unigram_perplexity" in cloze0 else "-", "-"]  # fmt: skip
        lines.append(f"| {arm} | {' | '.join(cells)} |")
    lines += [
        "",
        f"Cloze: {cloze0['cloze/facts']} valid facts ({cloze0['cloze/seen_facts']} also in the train split, "
        f"{cloze0['cloze/unseen_facts']} not), ~{cloze0['cloze/candidates']:.0f} candidates each. Majority class "
        f"of FewRel test: {first['majority_baseline']['accuracy']:.3f}. Participation ratio (PR) of the pooled NLU "
        f"states / of [CLS] over the health probe at the last step; below {COLLAPSED_PR:g} (issue 26's collapse line) "
        f"in: {', '.join(collapsed) or 'no run'}.",
        "",
        "## The claims (difference of per-seed means, Welch 95% interval)",
        "",
        "| claim | difference [95% interval] | verdict |",
        "|---|---|---|",
    ]
    claims = [
        ("ernie beats random on FewRel by >= 0.03", test_acc("ft", "ernie"), test_acc("ft", "random"), 0.03),
        ("ernie beats plain on FewRel", test_acc("ft", "ernie"), test_acc("ft", "plain"), 0.0),
        ("ernie beats plain on cloze MRR", figure("ernie", "cloze/mrr"), figure("plain", "cloze/mrr"), 0.0),
        ("... on facts not in the train split", figure("ernie", "cloze/unseen_mrr"), figure("plain", "cloze/unseen_mrr"), 0.0),
        ("ernie's frozen features beat random init's", test_acc("probe", "ernie"), test_acc("probe", "random"), 0.0),
        ("plain beats random on FewRel", test_acc("ft", "plain"), test_acc("ft", "random"), 0.0),
        ("ernie's frozen features beat plain's", test_acc("probe", "ernie"), test_acc("probe", "plain"), 0.0),
    ]  # fmt: skip
    for name, a, b, margin in claims:
        diff = welch(a, b)
        shown = (
            f"{statistics.mean(a) - statistics.mean(b):+.3f}"
            if diff is None
            else f"{diff[0]:+.3f} [{diff[1]:+.3f}, {diff[2]:+.3f}]"
        )
        lines.append(f"| {name} | {shown} | {verdict(diff, margin)} |")
    pictures = WORK if args.smoke else args.out.parent
    plot_curves(
        runs,
        "eval/dlm/loss",
        TRAINED,
        pictures / "proof_dlm_loss.png",
        "DLM valid loss",
    )
    plot_curves(
        runs, "eval/health/nlu_pr", TRAINED, pictures / "proof_health.png", "participation ratio, NLU states"
    )
    cloze_curves = {arm: {} for arm in TRAINED}  # type: dict[str, dict[int, list[float]]]
    for (arm, _, step), result in evals.items():
        cloze_curves[arm].setdefault(step, []).append(float(result["cloze/mrr"]))
    plot_cloze(cloze_curves, float(cloze0["cloze/random_mrr"]), pictures / "proof_cloze.png")
    lines += [
        "",
        "## Curves (mean line, the seeds' min-max band)",
        "",
        "![DLM valid loss](proof_dlm_loss.png) ![NLU participation ratio](proof_health.png) ![cloze MRR](proof_cloze.png)",
        "",
        "DLM valid loss and the participation ratio come from each run's own evaluations (8 batches); the cloze "
        f"from `kgtext evaluate --cloze` at each kept checkpoint (steps {', '.join(map(str, sorted(cloze_curves['ernie'])))}; "
        "1 batch per task, the last over the whole split).",
        "",
        "## Wall time",
        "",
        "Every invocation on this work folder: "
        + " · ".join(f"{k} {v / 60:.1f} min" for k, v in overall.items())
        + f" · total {sum(overall.values()) / 60:.1f} min (this invocation {(time.perf_counter() - started) / 60:.1f} min). "
        f"Each job's own time, two jobs at a time: pre-training {_minutes(run_seconds)} per run, fine-tuning "
        f"{_minutes([fine[k]['seconds'] for k in fine if k[0] == 'ft'])}, linear probe "
        f"{_minutes([fine[k]['seconds'] for k in fine if k[0] == 'probe'])}.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


def all_invocations(timings: dict[str, float]) -> dict[str, float]:
    """Seconds per phase summed over every invocation on WORK (WORK/timings.json, this one added): the wall
    time of the whole proof even when it was stopped and resumed, or rerun to rewrite the report."""
    path = WORK / "timings.json"
    total: dict[str, float] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for phase, seconds in timings.items():
        total[phase] = total.get(phase, 0.0) + seconds
    path.write_text(json.dumps(total, indent=1) + "\n", encoding="utf-8")
    return total


if __name__ == "__main__":
    main()
