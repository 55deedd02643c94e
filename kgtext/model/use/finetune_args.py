"""The command line of ``kgtext finetune`` (:func:`parse_args`) and the classification head's choice."""

from __future__ import annotations

import argparse
import enum

from kgtext.common.cli_parser import HelpfulParser
from kgtext.model.presets import PRESETS
from kgtext.model.use.finetune_data import FinetuneTask, RelationInput


class PairHead(enum.StrEnum):
    """What the ``classification`` head reads (``kgtext finetune --pair-head``)."""

    ALIGN = "align"
    """[pooled CLS; alignment of the first segment to the second; of the second to the first]
    (:func:`kgtext.model.finetune.align_segments`): learns a sentence-pair task from random weights."""
    CLS = "cls"
    """The pooled [CLS] alone (BERT's sequence classification head)."""


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
