"""LAMA-style cloze on held-out facts: does the NLU module fill in a fact's tail in its sentence?

For every UKTP row of the split (a fact aligned to a sentence) whose tail is mentioned in the sentence,
the tail mention is replaced by as many ``[MASK]`` as a candidate has pieces and ``[CLS] sentence [SEP]``
goes through the universal + NLU modules and the MLM head. Candidates are the relation's
``top_k`` most frequent tails among the corpus's UKTP facts (train and the split; the facts the corpus
aligned stand in for the KG, which model/ does not read), the gold tail always included; a candidate's
pieces are its label's pieces as the UKTP rows store them. Score = mean log-probability of the candidate's
pieces at the masked positions (one forward per distinct candidate length). Reported: accuracy@1 and MRR,
over all facts and apart for the facts whose (head, relation, tail) also occurs in the train split's UKTP rows
(``seen``: pre-training saw the fact in another sentence) and those that do not (``unseen``: the model can
only know it from elsewhere, or guess it from the relation's frequent tails).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.model.ernie import Ernie3Model

COLUMNS = ["input_ids", "tail_span", "sentence_span", "tail_mentions", "head", "relation", "tail"]


class Fact(NamedTuple):
    """One cloze item: the sentence's ids, the tail mention's span in them, the relation and the gold tail."""

    sentence: list[int]
    mention: tuple[int, int]
    relation: str
    tail: str
    seen: bool = False
    """Whether (head, relation, tail) also occurs in the train split."""


class ClozeResult(NamedTuple):
    facts: int
    accuracy_at_1: float
    mrr: float
    candidates: float
    """Mean candidate-set size."""
    random_mrr: float
    """The MRR of a random ranking of the same candidate sets (mean of H(n) / n): the chance level."""
    skipped: int
    """Facts not scored: the masked sentence is longer than the model's ``tgt_len``, or the gold has no pieces."""
    seen_facts: int = 0
    """Scored facts whose (head, relation, tail) is also a train-split fact."""
    seen_accuracy_at_1: float = 0.0
    seen_mrr: float = 0.0
    unseen_facts: int = 0
    """Scored facts that the train split does not hold."""
    unseen_accuracy_at_1: float = 0.0
    unseen_mrr: float = 0.0


def _rows(reader: CorpusReader, split: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for info in reader.shards("uktp", split):
        rows += reader.open_shard("uktp", info).select(COLUMNS).to_pylist()
    return rows


def load_facts(
    reader: CorpusReader, split: str, top_k: int
) -> tuple[list[Fact], dict[str, list[str]], dict[str, list[int]]]:
    """(facts of ``split``, relation -> candidate tails, tail -> its label pieces)."""
    pieces: dict[str, list[int]] = {}
    counts: dict[str, Counter[str]] = {}
    facts: list[Fact] = []
    held_out = _rows(reader, split)
    train_rows = _rows(reader, "train") if split != "train" else held_out
    train_facts = {(row["head"], row["relation"], row["tail"]) for row in train_rows}
    for split_name, rows in (("train", train_rows if split != "train" else []), (split, held_out)):
        for row in rows:
            ids, tail = row["input_ids"], row["tail_span"]
            pieces.setdefault(row["tail"], ids[tail["start"] : tail["end"]])
            counts.setdefault(row["relation"], Counter())[row["tail"]] += 1
            if split_name == split and row["tail_mentions"]:
                sent, mention = row["sentence_span"], row["tail_mentions"][0]
                s0 = sent["start"]
                facts.append(
                    Fact(
                        ids[s0 : sent["end"]],
                        (mention["start"] - s0, mention["end"] - s0),
                        row["relation"],
                        row["tail"],
                        (row["head"], row["relation"], row["tail"]) in train_facts,
                    )
                )
    candidates = {
        r: [t for t, _ in sorted(c.items(), key=lambda x: (-x[1], x[0]))[:top_k]] for r, c in counts.items()
    }
    return facts, candidates, pieces


@torch.no_grad()
def rank_of_gold(
    model: Ernie3Model, tok: Tokenizer, fact: Fact, candidates: Sequence[str], pieces: dict[str, list[int]]
) -> int:
    """1-based rank of the gold tail among ``candidates`` (gold added if missing) by mean piece log-prob."""
    pool = list(dict.fromkeys([*candidates, fact.tail]))
    by_length: dict[int, list[str]] = {}
    for tail in pool:
        if pieces.get(tail):
            by_length.setdefault(len(pieces[tail]), []).append(tail)
    scores: dict[str, float] = {}
    a, b = fact.mention
    for k, tails in by_length.items():
        ids = [tok.cls_id, *fact.sentence[:a], *([tok.mask_id] * k), *fact.sentence[b:], tok.sep_id]
        if len(ids) > model.config.tgt_len:
            continue
        x = torch.tensor([ids])
        hidden = model.forward_nlu(x, None, torch.ones_like(x, dtype=torch.bool))
        logp = torch.log_softmax(model.mlm_logits(hidden[0, 1 + a : 1 + a + k]).float(), dim=-1)  # (k, V)
        for tail in tails:
            target = torch.tensor(pieces[tail])
            scores[tail] = float(logp[torch.arange(k), target].mean())
    if fact.tail not in scores:
        return 0
    gold = scores[fact.tail]
    return 1 + sum(1 for t, s in scores.items() if s > gold or (s == gold and t < fact.tail))


def cloze(
    model: Ernie3Model, tok: Tokenizer, reader: CorpusReader, split: str = "valid", top_k: int = 100
) -> ClozeResult:
    """accuracy@1 and MRR of the model on the split's facts, all and split by seen / unseen in train (facts too
    long for the model are skipped)."""
    model.eval()
    facts, candidates, pieces = load_facts(reader, split, top_k)
    ranks, sizes, seen = [], [], []
    for fact in facts:
        rank = rank_of_gold(model, tok, fact, candidates.get(fact.relation, []), pieces)
        if rank:
            ranks.append(rank)
            sizes.append(len(set(candidates.get(fact.relation, [])) | {fact.tail}))
            seen.append(fact.seen)
    n = len(ranks)
    chance = [sum(1 / i for i in range(1, size + 1)) / size for size in sizes]

    def scores(keep: list[bool]) -> tuple[int, float, float]:
        kept = [r for r, k in zip(ranks, keep, strict=True) if k]
        return (
            len(kept),
            sum(r == 1 for r in kept) / max(len(kept), 1),
            sum(1 / r for r in kept) / max(len(kept), 1),
        )

    n_all, acc, mrr = scores([True] * n)
    return ClozeResult(
        n_all,
        acc,
        mrr,
        sum(sizes) / max(n, 1),
        sum(chance) / max(n, 1),
        len(facts) - n,
        *scores(seen),
        *scores([not s for s in seen]),
    )
