"""``kgtext finetune``: the pre-trained universal + NLU modules with a small head, trained on labelled JSONL.

    kgtext finetune --checkpoint RUN_DIR --task relation --train F --valid F --test F --out DIR
                    [--epochs N] [--batch-size B] [--lr LR] [--patience P] [--freeze-universal | --linear-probe] [--seed S]
    kgtext finetune --checkpoint none --tokenizer PATH.model [--preset tiny] ...   (the from-scratch control)
    kgtext finetune --checkpoint none --architecture-of RUN ...   (the same architecture as RUN, random weights)

Heads (as ``*ForSequenceClassification`` / ``*ForTokenClassification`` elsewhere): ``classification`` = a
linear layer on [pooled CLS; each segment's soft alignment to the other] (``--pair-head align``, the
default: :func:`model.finetune.align_segments`) or on the pooled [CLS] alone (``--pair-head cls``);
``relation`` = a linear layer on [pooled CLS; mean state of the head's tokens; mean state of the tail's
tokens] (the spans inside the sentence, exact-span encoded); ``tokens`` = a linear layer per position over
BIO tags. AdamW with a linear warm-up over ``--warmup-epochs``, early stopping on the valid split's
macro-F1 (span F1 for ``tokens``) with ``--patience`` epochs, the best epoch's weights kept.
``--freeze-universal`` trains only the NLU task module and the head (the paper allows either);
``--linear-probe`` trains the head alone on the frozen model's features (eval mode: no dropout inside it), the
frozen-feature linear probe that asks what pre-training put into the states. Every
example is reported: one longer than ``tgt_len`` is cut to fit (:mod:`model.use.finetune_data`), one that
cannot fit is counted wrong; ``metrics.json`` gives ``examples``, ``cut``, ``cut_share`` and ``unfittable``
per split and the accuracy over the examples that fit beside the one over all. Writes ``DIR/metrics.json``
(its ``created_by: kgtext finetune`` marks a folder ``--overwrite`` may replace), ``DIR/model.pt`` (the
fine-tuned module, its head and labels) and ``DIR/tokenizer/``, all into a marked build folder moved onto
``DIR`` at the end by the journalled replace step of :mod:`corpus.replace` (one writer per ``DIR``). Every
input is checked before anything is written: ``DIR`` may not be the current folder, a symbolic link, a file,
an input (``--checkpoint``, its model or tokenizer file, the data files, ``--tokenizer``,
``--architecture-of``), inside one or holding one, nor a folder holding anything but an earlier fine-tuning
result.
"""

from __future__ import annotations

import argparse
import copy
import enum
import json
import logging
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from corpus.cli_parser import HelpfulParser
from corpus.replace import (
    MARKERS,
    OutputError,
    OutputLock,
    disk_full,
    disk_full_message,
    make_build_folder,
    recover_output,
    remove_folder,
    replace_directory,
)
from corpus.tasks.tokenizer import Tokenizer
from model.ernie import Ernie3Model
from model.finetune import Ernie3ForNlu, align_segments, segment_mean
from model.presets import PRESETS, get_preset
from model.use.export import out_path_problem
from model.use.finetune_data import (
    Encoded,
    EncodedSplit,
    Example,
    FinetuneDataError,
    FinetuneTask,
    RelationInput,
    bio_spans,
    check_labels,
    encode_all,
    label_set,
    read_examples,
)
from model.use.load import CheckpointError, load, tokenizer_file

logger = logging.getLogger(__name__)

FORMAT = "kgtext-ernie3-finetuned"
COMMAND = "finetune"
CREATED_BY = "kgtext finetune"
"""``metrics.json``'s ``created_by``: marks a folder that ``--overwrite`` may replace."""
METRICS = "metrics.json"
OUT_FILES = frozenset({METRICS, "model.pt", "tokenizer"})
"""What ``kgtext finetune`` writes into ``--out`` (the only entries ``--overwrite`` may replace)."""


class PairHead(enum.StrEnum):
    """What the ``classification`` head reads (``kgtext finetune --pair-head``)."""

    ALIGN = "align"
    """[pooled CLS; alignment of the first segment to the second; of the second to the first]
    (:func:`model.finetune.align_segments`): learns a sentence-pair task from random weights."""
    CLS = "cls"
    """The pooled [CLS] alone (BERT's sequence classification head)."""


class FinetuneModel(nn.Module):
    """Universal + NLU modules (:class:`model.finetune.Ernie3ForNlu`) and one linear head."""

    def __init__(
        self,
        base: Ernie3ForNlu,
        task: FinetuneTask,
        num_labels: int,
        dropout: float,
        pair_head: PairHead = PairHead.ALIGN,
    ) -> None:
        super().__init__()
        self.base = base
        self.task = task
        self.pair_head = pair_head
        d = base.config.nlu.d_model
        self.drop = nn.Dropout(dropout)
        wide = task is FinetuneTask.RELATION or (
            task is FinetuneTask.CLASSIFICATION and pair_head is PairHead.ALIGN
        )
        self.head = nn.Linear(3 * d if wide else d, num_labels)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Logits: (B, labels), or (B, T, labels) for ``tokens``."""
        hidden = self.base(batch["input_ids"], batch["segment_ids"], batch["pad_mask"])
        if self.task is FinetuneTask.TOKENS:
            result: Tensor = self.head(self.drop(hidden))
            return result
        features = self.base.pool(hidden)
        if self.task is FinetuneTask.RELATION:
            means = [segment_mean(hidden, batch[key]) for key in ("head_mask", "tail_mask")]
            features = torch.cat([features, *means], dim=-1)
        elif self.pair_head is PairHead.ALIGN:
            aligned = align_segments(hidden, batch["first_mask"], batch["second_mask"])
            features = torch.cat([features, *aligned], dim=-1)
        result = self.head(self.drop(features))
        return result


def collate(items: Sequence[Encoded], pad_id: int) -> dict[str, Tensor]:
    """Right-padded tensors of a batch (targets: ``labels`` (B,) or ``tags`` (B, T) with -100 on pads;
    ``first_mask`` / ``second_mask``: the text pieces of segment 0 / 1, [CLS] and [SEP] left out)."""
    width = max(len(e.input_ids) for e in items)
    n = len(items)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    segs = torch.zeros(n, width, dtype=torch.long)
    pad = torch.zeros(n, width, dtype=torch.bool)
    tags = torch.full((n, width), -100, dtype=torch.long)
    head = torch.zeros(n, width)
    tail = torch.zeros(n, width)
    first = torch.zeros(n, width)
    second = torch.zeros(n, width)
    for i, e in enumerate(items):
        k = len(e.input_ids)
        n_first = e.segment_ids.count(0)  # [CLS] text [SEP] | text_pair [SEP]
        first[i, 1 : n_first - 1] = 1.0
        second[i, n_first : k - 1] = 1.0
        ids[i, :k] = torch.tensor(e.input_ids)
        segs[i, :k] = torch.tensor(e.segment_ids)
        pad[i, :k] = True
        if e.tags is not None:
            tags[i, :k] = torch.tensor(e.tags)
        if e.head is not None and e.tail is not None:
            head[i, e.head.start : e.head.end] = 1.0
            tail[i, e.tail.start : e.tail.end] = 1.0
    labels = torch.tensor([e.label for e in items], dtype=torch.long)
    return {"input_ids": ids, "segment_ids": segs, "pad_mask": pad, "labels": labels, "tags": tags,
            "head_mask": head, "tail_mask": tail, "first_mask": first, "second_mask": second}  # fmt: skip


def loss_of(model: FinetuneModel, batch: dict[str, Tensor]) -> Tensor:
    logits = model(batch)
    if model.task is FinetuneTask.TOKENS:
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), batch["tags"].reshape(-1), ignore_index=-100
        )
    return F.cross_entropy(logits, batch["labels"])


NO_PREDICTION = -1
"""The prediction recorded for an example that cannot fit the model: wrong whatever its gold label."""


def classification_metrics(gold: Sequence[int], pred: Sequence[int]) -> dict[str, float]:
    """Accuracy and macro-F1 (over the labels that occur in gold or predictions, :data:`NO_PREDICTION`
    aside: it is only a miss of its gold label), in one pass over the examples and one over the labels: per
    label, 2tp + fp + fn = (times predicted) + (times gold)."""
    hits: Counter[int] = Counter()
    for g, p in zip(gold, pred, strict=True):
        if g == p:
            hits[g] += 1
    gold_count, pred_count = Counter(gold), Counter(pred)
    accuracy = hits.total() / max(len(gold), 1)
    f1s = [
        2 * hits[label] / (gold_count[label] + pred_count[label]) if hits[label] else 0.0
        for label in sorted((gold_count.keys() | pred_count.keys()) - {NO_PREDICTION})
    ]
    return {"accuracy": accuracy, "macro_f1": sum(f1s) / max(len(f1s), 1)}


def span_metrics(
    gold: Sequence[set[tuple[int, int, str]]], pred: Sequence[set[tuple[int, int, str]]]
) -> dict[str, float]:
    """Micro span precision / recall / F1 (exact start, end and label)."""
    tp = sum(len(g & p) for g, p in zip(gold, pred, strict=True))
    n_pred, n_gold = sum(map(len, pred)), sum(map(len, gold))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


@torch.no_grad()
def evaluate_split(
    model: FinetuneModel, split: EncodedSplit, labels: Sequence[str], pad_id: int, batch_size: int
) -> dict[str, float]:
    """The split's metrics over every example: ``accuracy`` + ``macro_f1`` with the unfittable examples
    counted as wrong, and the same over the examples that fit (``accuracy_fitting``, ``macro_f1_fitting``);
    for tokens span precision/recall/f1 (gold spans cut away count as missed) + tag accuracy over the
    positions kept."""
    model.eval()
    data = split.encoded
    gold_cls: list[int] = []
    pred_cls: list[int] = []
    gold_spans: list[set[tuple[int, int, str]]] = []
    pred_spans: list[set[tuple[int, int, str]]] = []
    tag_hits = tag_total = 0
    for start in range(0, len(data), batch_size):
        items = data[start : start + batch_size]
        batch = collate(items, pad_id)
        logits = model(batch)
        if model.task is FinetuneTask.TOKENS:
            best = logits.argmax(-1)
            for i, item in enumerate(items):
                real = batch["tags"][i] != -100
                tag_hits += int((best[i][real] == batch["tags"][i][real]).sum())
                tag_total += int(real.sum())
                predicted = best[i].masked_fill(~real, -100).tolist()
                pred_spans.append(bio_spans(predicted, labels))
                gold_spans.append(set(item.gold))
        else:
            gold_cls += batch["labels"].tolist()
            pred_cls += logits.argmax(-1).tolist()
    if model.task is FinetuneTask.TOKENS:
        return {**span_metrics(gold_spans, pred_spans), "accuracy": tag_hits / max(tag_total, 1)}
    fitting = classification_metrics(gold_cls, pred_cls)
    every = classification_metrics(
        [*gold_cls, *split.unfittable], [*pred_cls, *[NO_PREDICTION] * len(split.unfittable)]
    )
    return {**every, **{f"{k}_fitting": v for k, v in fitting.items()}}


def majority_baseline(train: EncodedSplit, test: EncodedSplit, task: FinetuneTask) -> dict[str, float]:
    """The most frequent training label (tag ``O`` for tokens) predicted for every test example (those
    that cannot fit the model included: the baseline needs no input)."""
    if task is FinetuneTask.TOKENS:
        tags = [t for e in test.encoded for t in (e.tags or []) if t != -100]
        return {"accuracy": sum(t == 0 for t in tags) / max(len(tags), 1), "f1": 0.0}
    top = Counter([*(e.label for e in train.encoded), *train.unfittable]).most_common(1)[0][0]
    gold = [*(e.label for e in test.encoded), *test.unfittable]
    return classification_metrics(gold, [top] * len(gold))


def _selection_score(metrics: dict[str, float], task: FinetuneTask) -> float:
    return metrics["f1"] if task is FinetuneTask.TOKENS else metrics["macro_f1"]


def is_finetune_result(out: Path) -> bool:
    """Whether ``out`` holds a ``metrics.json`` that ``kgtext finetune`` wrote (its marker)."""
    path = out / METRICS
    if path.is_symlink() or not path.is_file():
        return False
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(metrics, dict) and metrics.get("created_by") == CREATED_BY


def out_problem(out: Path, overwrite: bool) -> str | None:
    """Why an existing ``--out`` may not be replaced: it holds what finetune did not write (a model folder
    holding a ``model.pt`` included), or ``--overwrite`` is missing; None when it may."""
    if not out.is_dir() or not any(out.iterdir()):
        return None
    allowed = OUT_FILES | set(MARKERS)
    foreign = sorted(p.name for p in out.iterdir() if p.name not in allowed)
    tokenizer = out / "tokenizer"
    if tokenizer.is_dir() and not tokenizer.is_symlink():
        foreign += sorted(
            f"tokenizer/{p.name}"
            for p in tokenizer.iterdir()
            if p.suffix != ".model" or p.is_symlink() or not p.is_file()
        )
    if foreign:
        return f"{out}: holds {foreign[0]!r}, which kgtext finetune did not write; choose another --out"
    if not is_finetune_result(out):
        return (
            f"{out}: holds {', '.join(sorted(p.name for p in out.iterdir()))} but no {METRICS} written by "
            "kgtext finetune (a model folder?); --overwrite only replaces a fine-tuning result"
        )
    if not overwrite:
        return f"{out}: already holds a fine-tuning result; pass --overwrite to replace it"
    return None


def input_paths(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(option, path) of every input given on the command line: --out may not be, hold or lie inside one."""
    given = [("--train", args.train), ("--valid", args.valid), ("--test", args.test)]
    if args.checkpoint != "none":
        given.append(("--checkpoint", args.checkpoint))
    given += [(f"--{key.replace('_', '-')}", getattr(args, key)) for key in ("tokenizer", "architecture_of")]
    return [(option, path) for option, path in given if path]


def check_out(out: Path, overwrite: bool, inputs: Sequence[tuple[str, str | Path]]) -> None:
    """Refuse (OutputError, one line naming ``out``) an ``--out`` finetune must not write."""
    problem = out_path_problem(out, inputs) or out_problem(out, overwrite)
    if problem is not None:
        raise OutputError(problem)


def base_model(args: argparse.Namespace) -> tuple[Ernie3Model, Tokenizer, str, Path]:
    """The pre-trained model and tokenizer (or a fresh model of ``--preset`` for ``--checkpoint none``)."""
    if args.checkpoint == "none":
        if args.architecture_of:
            like = load(args.architecture_of)
            tokenizer_path = Path(args.tokenizer) if args.tokenizer else tokenizer_file(like.model_file)
            config = like.model.config
        elif not args.tokenizer:
            raise CheckpointError(
                "--checkpoint none needs --tokenizer PATH.model (the vocabulary to train with) "
                "or --architecture-of RUN"
            )
        else:
            tokenizer_path = Path(args.tokenizer)
        tok = Tokenizer.load(tokenizer_path)
        if not args.architecture_of:
            config = get_preset(args.preset, vocab_size=tok.vocab_size)
        torch.manual_seed(args.seed)
        return Ernie3Model(config), tok, "none", tokenizer_path
    loaded = load(args.checkpoint)
    return loaded.model, loaded.tokenizer, str(loaded.model_file), tokenizer_file(loaded.model_file)


def warmup_steps(examples: int, batch_size: int, epochs: float) -> int:
    """Optimizer steps of a linear warm-up over ``epochs`` passes (at least 1: step k runs at
    ``lr * min(1, (k + 1) / steps)``, so 1 means no warm-up)."""
    return max(1, round(epochs * -(-examples // batch_size)))


def fit(
    model: FinetuneModel,
    args: argparse.Namespace,
    train_data: Sequence[Encoded],
    valid_data: EncodedSplit,
    labels: Sequence[str],
    pad_id: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Train ``model`` with early stopping on valid; keeps the best epoch's weights. (best epoch, history)."""
    frozen = [model.base] if args.linear_probe else [model.base.embed, model.base.universal]
    if args.freeze_universal or args.linear_probe:
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    # Linear warm-up (BERT's fine-tuning schedule without the decay): Adam moves every parameter by about
    # the learning rate whatever its gradient's size, so at full rate the first noisy steps (a fresh head's
    # random gradients) scramble what the encoder's states carry: from N(0, 0.02) weights sentence pairs
    # fall back to chance without it (the tiny preset's N(0, 1) embeddings learn either way);
    # docs/TRAINING.md, "Fine-tuning".
    warmup = warmup_steps(len(train_data), args.batch_size, args.warmup_epochs)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    generator = torch.Generator().manual_seed(args.seed)
    best_score, best_state, best_epoch, stale = -1.0, copy.deepcopy(model.state_dict()), 0, 0
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        if args.linear_probe:
            model.base.eval()  # frozen features: the same states at every epoch and at test time
        order = torch.randperm(len(train_data), generator=generator).tolist()
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            batch = collate([train_data[i] for i in order[start : start + args.batch_size]], pad_id)
            loss = loss_of(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(batch["labels"])
        valid = evaluate_split(model, valid_data, labels, pad_id, args.batch_size)
        score = _selection_score(valid, model.task)
        history.append(
            {
                "epoch": epoch,
                "train_loss": total / len(train_data),
                **{f"valid_{k}": v for k, v in valid.items()},
            }
        )
        shown = " ".join(f"{k} {v:.3f}" for k, v in valid.items() if not k.endswith("_fitting"))
        logger.info(
            "epoch %d/%d: train loss %.4f, valid %s", epoch, args.epochs, total / len(train_data), shown
        )
        if score > best_score:
            best_score, best_state, best_epoch, stale = score, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            stale += 1
            if stale >= args.patience:
                logger.info(
                    "early stop: valid did not improve for %d epochs (best epoch %d)", stale, best_epoch
                )
                break
    model.load_state_dict(best_state)
    return best_epoch, history


def write_result(out: Path, saved: dict[str, Any], metrics: dict[str, Any], tok_path: Path) -> None:
    """``model.pt``, ``tokenizer/`` and ``metrics.json`` into a marked build folder, moved onto ``out``
    (the caller holds the lock); on a full disk one line, the build folder removed, ``out`` unchanged."""
    final = Path(os.path.abspath(out))
    new: Path | None = None
    try:
        new = make_build_folder(final, COMMAND)
        torch.save(saved, new / "model.pt")
        (new / "tokenizer").mkdir()
        shutil.copyfile(tok_path, new / "tokenizer" / tok_path.name)
        (new / METRICS).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        replace_directory(new, final, COMMAND)
    except (OSError, RuntimeError) as err:
        full = disk_full(err)
        if full is None:
            raise
        raise OutputError(
            f"{disk_full_message(full, final)}; the unfinished result was removed and --out {out} is unchanged"
        ) from None
    finally:
        if new is not None and new.exists():
            try:
                remove_folder(new)
            except OSError as err:  # its marker is still there: the next finetune removes the rest
                logger.warning("%s: could not remove it completely (%s)", new, err)


def encode_splits(
    examples: dict[str, list[Example]],
    task: FinetuneTask,
    tok: Tokenizer,
    labels: Sequence[str],
    max_len: int,
    relation_input: RelationInput,
) -> dict[str, EncodedSplit]:
    """Every split's examples in at most ``max_len`` positions, its counts logged; a split of which no
    example fits is an error."""
    splits = {}
    for name, split_examples in examples.items():
        split = encode_all(split_examples, task, tok, labels, max_len, relation_input)
        if not split.encoded:
            raise FinetuneDataError(f"no {name} example fits the model's {max_len} tokens (tgt_len)")
        logger.info("%s: %d examples, %d cut to %d tokens, %d unfittable", name, split.total, split.cut,
                    max_len, len(split.unfittable))  # fmt: skip
        splits[name] = split
    return splits


def split_counts(splits: dict[str, EncodedSplit]) -> dict[str, dict[str, Any]]:
    """``metrics.json``'s counts per split: ``examples`` (all of them), ``cut`` (cut to fit), ``cut_share``
    (cut / examples) and ``unfittable`` (counted wrong)."""
    return {
        "examples": {name: split.total for name, split in splits.items()},
        "cut": {name: split.cut for name, split in splits.items()},
        "cut_share": {name: split.cut / split.total for name, split in splits.items()},
        "unfittable": {name: len(split.unfittable) for name, split in splits.items()},
    }


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Fine-tune, select the best epoch on valid, write DIR; return the metrics written.

    Every input is read and checked before ``--out`` (or anything beside it) is written.
    """
    task = FinetuneTask(args.task)
    out = Path(args.out)
    check_out(out, args.overwrite, input_paths(args))
    if args.threads:
        torch.set_num_threads(args.threads)
    train_ex = read_examples(args.train, task)
    valid_ex, test_ex = read_examples(args.valid, task), read_examples(args.test, task)
    labels = label_set(train_ex, task)
    check_labels(valid_ex, labels, args.valid, task)
    check_labels(test_ex, labels, args.test, task)
    pretrained, tok, source, tok_path = base_model(args)
    loaded_from = [("--checkpoint", source)] if source != "none" else []
    check_out(out, args.overwrite, [*loaded_from, ("tokenizer", tok_path)])
    max_len = pretrained.config.tgt_len
    examples = {"train": train_ex, "valid": valid_ex, "test": test_ex}
    splits = encode_splits(examples, task, tok, labels, max_len, RelationInput(args.relation_input))
    train_split, valid_split, test_split = splits["train"], splits["valid"], splits["test"]
    with OutputLock(os.path.abspath(out), COMMAND):
        for line in recover_output(os.path.abspath(out)):
            logger.warning("%s", line)
        check_out(out, args.overwrite, [])
        torch.manual_seed(args.seed)
        model = FinetuneModel(
            Ernie3ForNlu(pretrained), task, len(labels), args.dropout, PairHead(args.pair_head)
        )
        started = time.perf_counter()
        best_epoch, history = fit(model, args, train_split.encoded, valid_split, labels, tok.pad_id)
        metrics: dict[str, Any] = {
            "created_by": CREATED_BY,
            "task": task.value,
            "checkpoint": source,
            "labels": labels,
            "best_epoch": best_epoch,
            "valid": evaluate_split(model, valid_split, labels, tok.pad_id, args.batch_size),
            "test": evaluate_split(model, test_split, labels, tok.pad_id, args.batch_size),
            "majority_baseline": majority_baseline(train_split, test_split, task),
            "max_len": max_len,
            **split_counts(splits),
            "freeze_universal": bool(args.freeze_universal),
            "linear_probe": bool(args.linear_probe),
            "relation_input": args.relation_input if task is FinetuneTask.RELATION else None,
            "pair_head": args.pair_head if task is FinetuneTask.CLASSIFICATION else None,
            "warmup_epochs": args.warmup_epochs,
            "seconds": round(time.perf_counter() - started, 2),
            "history": history,
        }
        saved = {"format": FORMAT, "format_version": 1, "task": task.value, "labels": labels,
                 "pair_head": args.pair_head, "model_config": pretrained.config.to_dict(),
                 "state_dict": model.state_dict()}  # fmt: skip
        write_result(out, saved, metrics, tok_path)
    return metrics


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = HelpfulParser(
        prog="kgtext finetune",
        description="Fine-tune the pre-trained universal + NLU modules with a small head on labelled JSONL.",
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        metavar="PATH",
        help="run, checkpoint or model folder; 'none' = from scratch",
    )
    p.add_argument("--task", required=True, choices=[t.value for t in FinetuneTask])
    p.add_argument("--train", required=True, metavar="FILE", help="training JSONL")
    p.add_argument("--valid", required=True, metavar="FILE", help="validation JSONL (early stopping)")
    p.add_argument(
        "--test", required=True, metavar="FILE", help="test JSONL (reported once, at the best epoch)"
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="output folder: metrics.json, model.pt, tokenizer/"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier result in --out")
    p.add_argument("--epochs", type=int, minimum=1, default=10, help="at most this many epochs (default 10)")
    p.add_argument("--batch-size", type=int, minimum=1, default=16, help="examples per step (default 16)")
    p.add_argument(
        "--lr", type=float, exclusive_minimum=0, default=5e-4, help="AdamW learning rate (default 5e-4)"
    )
    p.add_argument(
        "--warmup-epochs",
        type=float,
        minimum=0,
        default=1.0,
        help="linear learning-rate warm-up over this many epochs of steps, then constant "
        "(default 1; 0 = none)",
    )
    p.add_argument(
        "--patience", type=int, default=3, help="epochs without valid improvement before stopping (3)"
    )
    p.add_argument(
        "--dropout",
        type=float,
        exclusive_maximum=1,
        default=0.1,
        help="dropout before the head (default 0.1)",
    )
    freeze = p.add_mutually_exclusive_group()
    freeze.add_argument(
        "--freeze-universal", action="store_true", help="train only the NLU task module and the head"
    )
    freeze.add_argument(
        "--linear-probe",
        action="store_true",
        help="train only the head, on the frozen model's features (a frozen-feature linear probe)",
    )
    p.add_argument(
        "--relation-input",
        choices=[r.value for r in RelationInput],
        default=RelationInput.UKTP.value,
        help="relation layout: uktp = [CLS] head tail [SEP] sentence [SEP] (default); markers = @ head @ and "
        "# tail # in the sentence",
    )
    p.add_argument(
        "--pair-head",
        choices=[h.value for h in PairHead],
        default=PairHead.ALIGN.value,
        help="classification head: align = [pooled CLS; each segment's soft alignment to the other] "
        "(default; learns sentence pairs from random weights); cls = the pooled [CLS] alone",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the head's init and the data order (default 0)"
    )
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (default: torch's)")
    p.add_argument(
        "--tokenizer", default="", metavar="PATH.model", help="with --checkpoint none: the vocabulary"
    )
    p.add_argument(
        "--preset", default="tiny", choices=sorted(PRESETS), help="with --checkpoint none: the architecture"
    )
    p.add_argument(
        "--architecture-of",
        default="",
        metavar="RUN",
        help="with --checkpoint none: the architecture (and, without --tokenizer, the vocabulary) of this "
        "checkpoint, randomly initialised: the like-for-like control of a fine-tune from it",
    )
    return p.parse_args(argv)


def summary(metrics: dict[str, Any]) -> str:
    """One line: the test figures over every example, the share cut to fit, the unfittable ones (counted
    wrong) with the accuracy over those that fit, and the majority baseline."""
    test = metrics["test"]
    shown = " ".join(f"{k} {v:.3f}" for k, v in test.items() if not k.endswith("_fitting"))
    total, cut, unfit = (metrics[key]["test"] for key in ("examples", "cut", "unfittable"))
    line = f"test: {shown} over {total} examples, {cut} cut to {metrics['max_len']} tokens"
    line += f" ({cut / total:.1%})"
    if unfit:
        fit = test["accuracy_fitting"]
        line += f", {unfit} unfittable counted wrong (accuracy {fit:.3f} over the {total - unfit} that fit)"
    return f"{line} (majority baseline accuracy {metrics['majority_baseline']['accuracy']:.3f})"


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext finetune``."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        metrics = train(args)
    except (CheckpointError, FinetuneDataError, FileExistsError, ValueError) as err:
        print(f"kgtext finetune: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    except OSError as err:  # an input or --out the checks above could not foresee (permissions, a full disk)
        full = disk_full(err)
        print(f"kgtext finetune: {disk_full_message(full, args.out) if full else err}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"{summary(metrics)}; wrote {args.out}/{METRICS}")


if __name__ == "__main__":
    main()
