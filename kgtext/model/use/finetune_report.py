"""What ``kgtext finetune`` reports: accuracy and macro-F1 (every example, the unfittable ones counted wrong),
span F1 for token tagging, the majority-class baseline, the score that picks the best epoch, and the one-line
summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from kgtext.model.use.finetune_data import EncodedSplit, FinetuneTask

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


def majority_baseline(train: EncodedSplit, test: EncodedSplit, task: FinetuneTask) -> dict[str, float]:
    """The most frequent training label (tag ``O`` for tokens) predicted for every test example (those
    that cannot fit the model included: the baseline needs no input)."""
    if task is FinetuneTask.TOKENS:
        tags = [t for e in test.encoded for t in (e.tags or []) if t != -100]
        return {"accuracy": sum(t == 0 for t in tags) / max(len(tags), 1), "f1": 0.0}
    top = Counter([*(e.label for e in train.encoded), *train.unfittable]).most_common(1)[0][0]
    gold = [*(e.label for e in test.encoded), *test.unfittable]
    return classification_metrics(gold, [top] * len(gold))


def selection_score(metrics: dict[str, float], task: FinetuneTask) -> float:
    """What early stopping maximises: span F1 for tokens, macro-F1 otherwise."""
    return metrics["f1"] if task is FinetuneTask.TOKENS else metrics["macro_f1"]


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
