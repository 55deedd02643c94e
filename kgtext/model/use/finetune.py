"""``kgtext finetune``: the pre-trained universal + NLU modules with a small head, trained on labelled JSONL.

    kgtext finetune --checkpoint RUN_DIR --task relation --train F --valid F --test F --out DIR
                    [--epochs N] [--batch-size B] [--lr LR] [--patience P] [--freeze-universal | --linear-probe] [--seed S]
    kgtext finetune --checkpoint none --tokenizer PATH.model [--preset tiny] ...   (the from-scratch control)
    kgtext finetune --checkpoint none --architecture-of RUN ...   (the same architecture as RUN, random weights)

Heads (as ``*ForSequenceClassification`` / ``*ForTokenClassification`` elsewhere): ``classification`` = a
linear layer on [pooled CLS; each segment's soft alignment to the other] (``--pair-head align``, the
default: :func:`kgtext.model.finetune.align_segments`) or on the pooled [CLS] alone (``--pair-head cls``);
``relation`` = a linear layer on [pooled CLS; mean state of the head's tokens; mean state of the tail's
tokens] (the spans inside the sentence, exact-span encoded); ``tokens`` = a linear layer per position over
BIO tags. AdamW with a linear warm-up over ``--warmup-epochs``, early stopping on the valid split's
macro-F1 (span F1 for ``tokens``) with ``--patience`` epochs, the best epoch's weights kept.
``--freeze-universal`` trains only the NLU task module and the head (the paper allows either);
``--linear-probe`` trains the head alone on the frozen model's features (eval mode: no dropout inside it), the
frozen-feature linear probe that asks what pre-training put into the states. Every
example is reported: one longer than ``tgt_len`` is cut to fit (:mod:`kgtext.model.use.finetune_data`), one that
cannot fit is counted wrong; ``metrics.json`` gives ``examples``, ``cut``, ``cut_share`` and ``unfittable``
per split and the accuracy over the examples that fit beside the one over all. Writes ``DIR/metrics.json``
(its ``created_by: kgtext finetune`` marks a folder ``--overwrite`` may replace), ``DIR/model.pt`` (the
fine-tuned module, its head and labels) and ``DIR/tokenizer/``, all into a marked build folder moved onto
``DIR`` at the end by the journalled replace step of :mod:`kgtext.corpus.replace` (one writer per ``DIR``). Every
input is checked before anything is written: ``DIR`` may not be the current folder, a symbolic link, a file,
an input (``--checkpoint``, its model or tokenizer file, the data files, ``--tokenizer``,
``--architecture-of``), inside one or holding one, nor a folder holding anything but an earlier fine-tuning
result.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgtext.corpus.replace import (
    OutputLock,
    disk_full,
    disk_full_message,
    recover_output,
    staged_output,
)
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.model.ernie import Ernie3Model
from kgtext.model.finetune import Ernie3ForNlu, align_segments, segment_mean
from kgtext.model.presets import get_preset
from kgtext.model.use.finetune_args import PairHead, parse_args
from kgtext.model.use.finetune_data import (
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
from kgtext.model.use.finetune_out import CREATED_BY, METRICS, check_out, input_paths
from kgtext.model.use.finetune_report import (
    NO_PREDICTION,
    classification_metrics,
    majority_baseline,
    selection_score,
    span_metrics,
    summary,
)
from kgtext.model.use.load import CheckpointError, load, tokenizer_file

logger = logging.getLogger(__name__)

FORMAT = "kgtext-ernie3-finetuned"
COMMAND = "finetune"


class FinetuneModel(nn.Module):
    """Universal + NLU modules (:class:`kgtext.model.finetune.Ernie3ForNlu`) and one linear head."""

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
        score = selection_score(valid, model.task)
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
    # torch.save can report a full disk as a RuntimeError ("PytorchStreamWriter failed: No space left ...").
    with staged_output(final, COMMAND, shown=out, what="result", catch=(OSError, RuntimeError)) as new:
        torch.save(saved, new / "model.pt")
        (new / "tokenizer").mkdir()
        shutil.copyfile(tok_path, new / "tokenizer" / tok_path.name)
        (new / METRICS).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


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
