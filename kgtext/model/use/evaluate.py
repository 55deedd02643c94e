"""``kgtext evaluate``: per-task loss and accuracy of a checkpoint on a corpus split, and DLM perplexity of
whole documents with and without the recurrence memory.

    kgtext evaluate --checkpoint RUN_DIR --corpus DIR [--split valid] [--batches all|run|N] [--cloze] [--json]

- **Per task** (kmlm, uktp, sr, sd, dlm): the trainer's evaluation (:class:`kgtext.model.train.eval.Evaluator`) with
  the run's ``data`` settings (from ``RUN/config.json``; defaults for a bare model folder), over the whole
  split by default (``--batches all``: every row at most once), or over ``N`` batches per task, or over the run's
  ``eval.batches`` (``--batches run``: the same rows and masks as the trainer, so the numbers equal the
  ``kind: eval`` records of ``metrics.jsonl`` at the checkpoint's step). Beside each task its trivial
  baseline (:mod:`kgtext.model.train.baselines`: most frequent piece or class, unigram loss), the one-sided 95%
  lower bound of its accuracy, its rows, and the verdict: beats its baseline, does not, or too few rows to
  tell (fewer than 200); the representation-health figures and per-task gradient norms come with them.
- **Document perplexity**: every document of the split's ``dlm`` rows as one token stream, cut into
  ``tgt_len`` segments; each token predicts the next (the first one of a segment predicted from the last
  position of the previous segment). *With memory*, the memory is carried from segment to segment
  (Transformer-XL evaluation); *without memory*, every segment starts empty. Documents are batched with
  right padding and the NLG pad mask, so a document's loss does not depend on its batch-mates.
- **Cloze** (``--cloze``, :mod:`kgtext.model.use.cloze`): LAMA-style, the tail of each UKTP fact masked in its
  sentence and ranked among the relation's most frequent tails: accuracy@1, MRR and the random-ranking MRR.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F

from kgtext.common.cli_parser import HelpfulParser
from kgtext.corpus.errors import CorpusError
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks.task import TASKS
from kgtext.model.data.config import DataConfig
from kgtext.model.ernie import Ernie3Model, Memory
from kgtext.model.train.baselines import task_verdicts, verdict_line
from kgtext.model.train.config import TrainConfig
from kgtext.model.train.dist import DistContext
from kgtext.model.train.eval import Evaluator
from kgtext.model.train.objective import PretrainObjective
from kgtext.model.train.setup import health_probe
from kgtext.model.use.cloze import cloze
from kgtext.model.use.load import CheckpointError, load

DOC_BATCH = 8
"""Documents evaluated side by side (right-padded)."""
Batches = int | Literal["all", "run"]
"""Rows per task: ``all`` = the whole split, ``run`` = the run's ``eval.batches``, N = N batches."""


class DocPerplexity(NamedTuple):
    """Next-token perplexity over whole documents."""

    documents: int
    targets: int
    with_memory: float
    without_memory: float


def split_documents(reader: CorpusReader, split: str) -> list[list[int]]:
    """Each document's DLM tokens (its chunks in ``segment_index`` order), documents sorted by id."""
    parts: dict[str, list[tuple[int, list[int]]]] = {}
    for info in reader.shards("dlm", split):
        table = reader.open_shard("dlm", info).select(["doc_id", "segment_index", "input_ids"])
        for row in table.to_pylist():
            parts.setdefault(row["doc_id"], []).append((row["segment_index"], row["input_ids"]))
    return [[t for _, ids in sorted(chunks) for t in ids] for _, chunks in sorted(parts.items())]


@torch.no_grad()
def _nll(model: Ernie3Model, docs: list[list[int]], memory: bool) -> tuple[float, int]:
    """(summed next-token NLL, number of targets) of ``docs`` evaluated together."""
    seg = model.config.tgt_len
    width = max(len(d) for d in docs) - 1
    inputs = torch.zeros(len(docs), max(width, 1), dtype=torch.long)
    targets = torch.full_like(inputs, -100)
    for i, doc in enumerate(docs):
        inputs[i, : len(doc) - 1] = torch.tensor(doc[:-1])
        targets[i, : len(doc) - 1] = torch.tensor(doc[1:])
    total, count = 0.0, 0
    mems: Memory | None = None
    for start in range(0, width, seg):
        ids, tgt = inputs[:, start : start + seg], targets[:, start : start + seg]
        real = tgt != -100
        out = model.forward_nlg(ids, mems if memory else None, real)
        mems = out.mems
        logits = model.lm_logits(out.hidden).float()
        total += float(F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1), reduction="sum"))
        count += int(real.sum())
    return total, count


def document_perplexity(model: Ernie3Model, docs: list[list[int]], batch: int = DOC_BATCH) -> DocPerplexity:
    """Perplexity of ``docs`` with memory carried across segments and without (see the module docstring)."""
    # Batched by length, so a batch pads to a similar length (half the work on mixed corpora; the sums do
    # not depend on the order, and a row's result does not depend on its batch mates: tested).
    usable = sorted((d for d in docs if len(d) >= 2), key=len)
    model.eval()
    sums = {True: 0.0, False: 0.0}
    targets = 0
    for start in range(0, len(usable), batch):
        group = usable[start : start + batch]
        for memory in (True, False):
            nll, n = _nll(model, group, memory)
            sums[memory] += nll
        targets += n
    ppl = {m: math.exp(min(sums[m] / max(targets, 1), 50.0)) for m in sums}
    return DocPerplexity(len(usable), targets, ppl[True], ppl[False])


def run_config(model_pt: Path) -> tuple[TrainConfig, list[str]]:
    """The training configuration and trained tasks of the run a checkpoint belongs to (``RUN/config.json``;
    defaults and all five tasks for a model folder without one)."""
    for folder in (model_pt.parent.parent.parent, model_pt.parent):
        path = folder / "config.json"
        if not path.is_file():
            continue
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(summary, dict) and isinstance(summary.get("train"), dict):
                tasks = summary.get("tasks") or [t.value for t in TASKS]
                if not isinstance(tasks, list):
                    raise TypeError(f"tasks is a {type(tasks).__name__}, not a list")
                return TrainConfig.from_dict(summary["train"]), [str(t) for t in tasks]
        except (OSError, ValueError, TypeError, AttributeError, KeyError) as err:
            raise CheckpointError(
                f"{path}: not a readable run configuration ({type(err).__name__}: {err})"
            ) from None
    return TrainConfig(data=DataConfig()), [t.value for t in TASKS]


def evaluate(
    checkpoint: str | Path,
    corpus: str | Path,
    split: str,
    batches: Batches = "all",
    with_cloze: bool = False,
    with_documents: bool = True,
) -> dict[str, Any]:
    """Every figure of ``kgtext evaluate`` as one flat dict, plus ``verdicts``: task -> verdict string."""
    loaded = load(checkpoint)
    reader = CorpusReader(corpus)
    tok = reader.manifest.tokenizer
    if tok is None or tok.sha256 != loaded.tokenizer.sha256:
        raise CheckpointError(
            f"{corpus}: the corpus was tokenized with another SentencePiece model than {loaded.model_file}'s"
        )
    config, tasks = run_config(loaded.model_file)
    objective = PretrainObjective(loaded.model)
    ctx = DistContext(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
    evaluator = Evaluator(
        reader,
        config.data,
        tasks,
        objective,
        ctx,
        # "run": the run's eval.batches, where 0 (if the trainer ever allows it) would mean the whole split.
        batches=None if batches == "all" else (config.eval.batches or None) if batches == "run" else batches,
        seq_len=loaded.model.config.tgt_len,
        split=split,
        health=health_probe(reader, loaded.model.config, config.eval.health_rows, split)
        if config.eval.health_rows
        else None,
    )
    out: dict[str, Any] = {k.replace("eval/", "", 1): v for k, v in evaluator(0).items()}
    out["verdicts"] = {task: v.verdict.value for task, v in task_verdicts(out).items()}
    if with_documents:
        docs = document_perplexity(loaded.model, split_documents(reader, split))
        out.update(
            {
                "documents": docs.documents,
                "document_targets": docs.targets,
                "document_perplexity/with_memory": docs.with_memory,
                "document_perplexity/without_memory": docs.without_memory,
            }
        )
    if with_cloze:
        result = cloze(loaded.model, loaded.tokenizer, reader, split)
        out.update({f"cloze/{k}": v for k, v in result._asdict().items()})
    return out


def format_report(result: dict[str, Any], split: str) -> str:
    """The human-readable table: per task its figures beside its baseline and the verdict, then one line."""
    lines = [
        f"{'task':<6} {'loss':>8} {'unigram':>8} {'accuracy':>9} {'bound':>6} {'baseline':>9} {'rows':>6}"
        f"   verdict ({split} split; bound: one-sided 95% lower bound of the accuracy)"
    ]
    verdicts = task_verdicts(result)
    for task in TASKS:
        key = task.value
        if f"{key}/loss" not in result:
            continue
        unigram = result.get(f"{key}/unigram_loss")
        verdict = verdicts.get(key)
        lines.append(
            f"{key:<6} {result[f'{key}/loss']:>8.3f} {'-' if unigram is None else f'{unigram:.3f}':>8} "
            f"{result[f'{key}/accuracy']:>9.3f} "
            + (
                "(no baseline figures)"
                if verdict is None
                else f"{verdict.lower_bound:>6.3f} {verdict.baseline:>9.3f} {verdict.rows:>6}   {verdict.verdict}"
            )
        )
    lines.append(verdict_line(verdicts))
    if "dlm/perplexity" in result:
        unigram_ppl = result.get("dlm/unigram_perplexity")
        lines.append(
            f"dlm stream perplexity (the trainer's eval): {result['dlm/perplexity']:.1f}"
            + ("" if unigram_ppl is None else f" (unigram of the same targets: {unigram_ppl:.1f})")
        )
    if "documents" in result:
        lines.append(
            f"document perplexity over {result['documents']} whole documents ({result['document_targets']} "
            f"targets): {result['document_perplexity/with_memory']:.1f} with memory, "
            f"{result['document_perplexity/without_memory']:.1f} without"
        )
    if "health/nlu_pr" in result:
        lines.append(
            f"representation health: participation ratio of the pooled NLU states {result['health/nlu_pr']:.1f}, "
            f"of [CLS] {result.get('health/cls_pr', float('nan')):.1f} (about 1 = collapsed)"
        )
    norms = [
        f"{t.value} {result[f'grad_norm/{t.value}']:.3g}" for t in TASKS if f"grad_norm/{t.value}" in result
    ]
    if norms:
        lines.append(
            f"gradient norm of each task's mean loss (a fixed train micro-batch): {', '.join(norms)}"
        )
    if "cloze/facts" in result:
        lines.append(
            f"cloze on {result['cloze/facts']} facts ({result['cloze/skipped']} skipped, ~{result['cloze/candidates']:.0f} "
            f"candidates each): accuracy@1 {result['cloze/accuracy_at_1']:.3f}, MRR {result['cloze/mrr']:.3f} "
            f"(random ranking {result['cloze/random_mrr']:.3f}); facts also in train: "
            f"{result['cloze/seen_facts']}, MRR {result['cloze/seen_mrr']:.3f}; not in train: "
            f"{result['cloze/unseen_facts']}, MRR {result['cloze/unseen_mrr']:.3f}"
        )
    return "\n".join(lines)


def parse_batches(text: str) -> Batches:
    """``--batches``: ``all``, ``run`` or a positive number of batches."""
    if text in ("all", "run"):
        return "all" if text == "all" else "run"
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be all, run or a number >= 1, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext evaluate``."""
    p = HelpfulParser(
        prog="kgtext evaluate",
        description="Per-task loss and accuracy (as the trainer's eval) beside each task's trivial baseline, "
        "with a verdict (beats it by a one-sided 95% bound, does not, or too few rows to tell), and "
        "whole-document DLM perplexity with and without memory, for a checkpoint on a corpus split.",
    )
    p.add_argument(
        "--checkpoint", required=True, metavar="PATH", help="run folder, checkpoint folder or model folder"
    )
    p.add_argument("--corpus", required=True, metavar="DIR", help="corpus directory (the same tokenizer)")
    p.add_argument(
        "--split", choices=["train", "valid"], default="valid", help="split to evaluate (default valid)"
    )
    p.add_argument(
        "--batches",
        type=parse_batches,
        default="all",
        metavar="all|run|N",
        help="rows per task: all = the whole split (default; a verdict needs >= 200 rows), run = the run's "
        "eval.batches (the numbers of metrics.jsonl), N = N batches per task (each its share of data.batch_size)",
    )
    p.add_argument(
        "--cloze",
        action="store_true",
        help="also the LAMA-style cloze of the split's UKTP facts (accuracy@1, MRR)",
    )
    p.add_argument(
        "--documents",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="whole-document perplexity with and without memory (default on; --no-documents skips it: "
        "on a large split it costs two passes over every document)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = evaluate(args.checkpoint, args.corpus, args.split, args.batches, args.cloze, args.documents)
    except (CheckpointError, CorpusError, ValueError) as err:
        print(f"kgtext evaluate: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else format_report(result, args.split))


if __name__ == "__main__":
    main()
