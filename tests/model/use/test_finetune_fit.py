"""kgtext finetune reports every example: too-long ones are cut to tgt_len (relation windows keep both
entities, pairs lose pieces of their longer segment first, token texts keep counting what was cut), the
unfittable ones are counted apart and counted wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from kgtext.corpus.records import Span
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.model.checkpoint import save_model
from kgtext.model.ernie import Ernie3Model
from kgtext.model.presets import get_preset
from kgtext.model.use.finetune import train
from kgtext.model.use.finetune_args import parse_args
from kgtext.model.use.finetune_data import (
    EncodedSplit,
    Example,
    FinetuneTask,
    LabeledSpan,
    RelationInput,
    encode,
    encode_all,
    encode_fitted,
    pair_lengths,
    window,
)
from kgtext.model.use.finetune_report import NO_PREDICTION, classification_metrics, span_metrics, summary

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FEWREL = {split: FIXTURES / "finetune" / f"fewrel_{split}.jsonl" for split in ("train", "valid", "test")}
TEXT = (
    "In the north there is a bright star called Alioth , which lies in the constellation Ursa Major , "
    "as every guide to the night sky says ."
)
ALIOTH = Span(TEXT.index("Alioth"), TEXT.index("Alioth") + 6)
URSA = Span(TEXT.index("Ursa Major"), TEXT.index("Ursa Major") + 10)
RELATION = Example(TEXT, "P59", head=ALIOTH, tail=URSA)


@pytest.fixture(scope="module")
def tok(corpus_dir: Path) -> Tokenizer:
    """The fixture corpus's 600-piece SentencePiece model (the tiny_run fixture's tokenizer)."""
    return Tokenizer.load(corpus_dir / "tokenizer" / "spm.model")


def test_window_is_centred_on_the_kept_span_within_the_bounds() -> None:
    assert window(10, 4, (5, 7)) == (4, 8)
    assert window(10, 4, (0, 2)) == (0, 4)
    assert window(10, 4, (8, 10)) == (6, 10)
    assert window(10, 4, (3, 7)) == (3, 7)
    assert window(3, 4, (0, 1)) == (0, 3)


def test_window_is_none_when_the_kept_span_is_wider() -> None:
    assert window(10, 4, (2, 7)) is None


def _truncate_seq_pair(first: int, second: int, room: int) -> tuple[int, int]:
    """BERT's ``truncate_seq_pair`` on lengths: one piece at a time from the longer (the second on a tie)."""
    while first + second > room:
        if first > second:
            first -= 1
        else:
            second -= 1
    return first, second


def test_pair_lengths_cut_the_longer_segment_first_as_bert_does() -> None:
    assert pair_lengths(10, 3, 8) == (5, 3)
    assert pair_lengths(3, 10, 8) == (3, 5)
    assert pair_lengths(10, 10, 7) == (4, 3)
    assert pair_lengths(2, 2, 8) == (2, 2)
    grid = [(a, b, r) for a in range(1, 12) for b in range(1, 12) for r in range(2, 25)]
    assert [pair_lengths(*g) for g in grid] == [_truncate_seq_pair(*g) for g in grid]


def test_a_long_relation_sentence_is_cut_to_a_window_holding_both_entities(tok: Tokenizer) -> None:
    """UKTP layout at 40 tokens: [CLS] head tail [SEP] (13) + 26 sentence pieces + [SEP]."""
    assert len(encode(RELATION, FinetuneTask.RELATION, tok, ["P59"]).input_ids) == 84
    cut = encode_fitted(RELATION, FinetuneTask.RELATION, tok, ["P59"], 40)
    assert cut is not None and cut.cut and len(cut.input_ids) == 40
    assert tok.decode(cut.input_ids) == (
        "Alioth Ursa Major Alioth , which lies in the constellation Ursa Major "
    )
    assert tok.decode(cut.input_ids[slice(*cut.head)]) == "Alioth"
    assert tok.decode(cut.input_ids[slice(*cut.tail)]) == "Ursa Major"
    assert cut.segment_ids == [0] * 13 + [1] * 27


def test_a_long_marked_relation_sentence_keeps_the_markers(tok: Tokenizer) -> None:
    cut = encode_fitted(RELATION, FinetuneTask.RELATION, tok, ["P59"], 37, RelationInput.MARKERS)
    assert cut is not None and cut.cut and len(cut.input_ids) == 37
    assert tok.decode(cut.input_ids) == "ed @ Alioth @ , which lies in the constellation # Ursa Major # "
    assert tok.decode(cut.input_ids[slice(*cut.head)]) == "Alioth"
    assert tok.decode(cut.input_ids[slice(*cut.tail)]) == "Ursa Major"


def test_entities_farther_apart_than_the_window_are_unfittable(tok: Tokenizer) -> None:
    assert encode_fitted(RELATION, FinetuneTask.RELATION, tok, ["P59"], 38) is None
    short = Example("Alioth lies in Ursa Major .", "P59", head=Span(0, 6), tail=Span(15, 25))
    split = encode_all([RELATION, short, RELATION], FinetuneTask.RELATION, tok, ["P17", "P59"], 38)
    assert (len(split.encoded), split.cut, split.unfittable, split.total) == (1, 0, [1, 1], 3)


def test_a_long_pair_loses_pieces_of_its_longer_segment_first(tok: Tokenizer) -> None:
    """20 + 70 pieces: at 40 both are cut (19 + 18); at 30 the first keeps 14, the second 13."""
    pair = Example("Alioth | constellation | Ursa Major", "yes", text_pair=TEXT)
    cut = encode_fitted(pair, FinetuneTask.CLASSIFICATION, tok, ["no", "yes"], 40)
    assert cut is not None and cut.cut and len(cut.input_ids) == 40
    second = cut.segment_ids.index(1)
    assert tok.decode(cut.input_ids[:second]) == "Alioth | constellation | Ursa Maj"
    assert tok.decode(cut.input_ids[second:]) == "In the north there is a bright star called A"
    short = Example("Alioth", "yes", text_pair=TEXT)
    kept = encode_fitted(short, FinetuneTask.CLASSIFICATION, tok, ["no", "yes"], 30)
    assert kept is not None and kept.segment_ids.count(0) == 2 + len(tok.encode("Alioth"))
    assert encode_fitted(pair, FinetuneTask.CLASSIFICATION, tok, ["no", "yes"], 4) is None


def test_a_long_token_text_is_cut_and_its_lost_spans_count_as_missed(tok: Tokenizer) -> None:
    example = Example(TEXT, spans=(LabeledSpan(ALIOTH.start, ALIOTH.end, "STAR"),
                                   LabeledSpan(URSA.start, URSA.end, "CON")))  # fmt: skip
    labels = ["O", "B-CON", "I-CON", "B-STAR", "I-STAR"]
    whole = encode(example, FinetuneTask.TOKENS, tok, labels)
    cut = encode_fitted(example, FinetuneTask.TOKENS, tok, labels, 40)
    assert cut is not None and cut.cut and len(cut.input_ids) == len(cut.tags or []) == 40
    assert cut.gold == whole.gold == ((18, 22, "STAR"), (36, 43, "CON"))  # Ursa Major ends past the cut
    assert cut.tags == [*(whole.tags or [])[:39], -100]
    # A model that finds every span it can see still misses the one cut away.
    seen = {s for s in cut.gold if s[1] < len(cut.input_ids)}
    assert span_metrics([set(cut.gold)], [seen]) == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3}


def test_unfittable_examples_count_as_wrong() -> None:
    gold, pred = [0, 0, 1, 1], [0, 1, 1, NO_PREDICTION]
    assert classification_metrics(gold, pred) == {"accuracy": 0.5, "macro_f1": (2 / 3 + 1 / 2) / 2}


def test_summary_gives_the_cut_share_and_both_accuracies() -> None:
    metrics = {
        "test": {"accuracy": 0.5, "macro_f1": 0.25, "accuracy_fitting": 0.625, "macro_f1_fitting": 0.5},
        "examples": {"test": 40}, "cut": {"test": 18}, "unfittable": {"test": 8}, "max_len": 64,
        "majority_baseline": {"accuracy": 0.275},
    }  # fmt: skip
    assert summary(metrics) == (
        "test: accuracy 0.500 macro_f1 0.250 over 40 examples, 18 cut to 64 tokens (45.0%), 8 unfittable "
        "counted wrong (accuracy 0.625 over the 32 that fit) (majority baseline accuracy 0.275)"
    )
    metrics["unfittable"] = {"test": 0}
    assert summary(metrics).endswith("18 cut to 64 tokens (45.0%) (majority baseline accuracy 0.275)")


def test_finetune_reports_every_fewrel_example_at_64_tokens(tok: Tokenizer, corpus_dir: Path,
                                                            tmp_path: Path) -> None:  # fmt: skip
    """The tiny architecture at tgt_len 64, random weights: every FewRel example is counted, the long ones
    cut, those whose entities lie more than a window apart counted wrong."""
    arch = tmp_path / "arch"
    (arch / "tokenizer").mkdir(parents=True)
    shutil.copyfile(corpus_dir / "tokenizer" / "spm.model", arch / "tokenizer" / "spm.model")
    torch.manual_seed(0)
    save_model(arch / "model.pt", Ernie3Model(get_preset("tiny", vocab_size=tok.vocab_size, tgt_len=64)))
    argv = ["--checkpoint", "none", "--architecture-of", str(arch), "--task", "relation", "--epochs", "1",
            "--threads", "1", "--out", str(tmp_path / "ft"), *sum((["--" + k, str(v)] for k, v in FEWREL.items()), [])]  # fmt: skip
    metrics = train(parse_args(argv))
    assert metrics["max_len"] == 64
    assert metrics["examples"] == {"train": 120, "valid": 40, "test": 40}
    assert metrics["cut"] == {"train": 50, "valid": 14, "test": 18}
    assert metrics["cut_share"] == {"train": 50 / 120, "valid": 14 / 40, "test": 18 / 40}
    assert metrics["unfittable"] == {"train": 51, "valid": 19, "test": 16}
    test = metrics["test"]
    assert round(test["accuracy"] * 40) == round(test["accuracy_fitting"] * 24)
    assert metrics["majority_baseline"]["accuracy"] == 0.25  # 10 of each relation in test, all 40 counted


def test_encode_all_of_nothing_too_long_changes_nothing(tok: Tokenizer) -> None:
    short = Example("Alioth lies in Ursa Major .", "P59", head=Span(0, 6), tail=Span(15, 25))
    split = encode_all([short], FinetuneTask.RELATION, tok, ["P59"], 64)
    assert split == EncodedSplit([encode(short, FinetuneTask.RELATION, tok, ["P59"])], 0, [])
