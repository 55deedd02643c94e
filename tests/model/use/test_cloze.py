"""model.use.cloze: LAMA-style cloze of the corpus's held-out UKTP facts."""

from __future__ import annotations

import math
from pathlib import Path

from kgtext.corpus.reader import CorpusReader
from kgtext.model.use.cloze import cloze, load_facts, rank_of_gold
from kgtext.model.use.load import load


def test_facts_and_candidates_come_from_the_uktp_rows(tiny_run: Path, corpus_dir: Path) -> None:
    loaded = load(tiny_run)
    facts, candidates, pieces = load_facts(CorpusReader(corpus_dir), "valid", top_k=5)
    assert len(facts) > 20
    for fact in facts:
        a, b = fact.mention
        assert 0 <= a < b <= len(fact.sentence)
        # The mention is the tail's surface in the sentence; the candidate pieces are its KG label's
        # (they differ where the text spells it otherwise, e.g. "Jacques - François" in Re-DocRED).
        assert loaded.tokenizer.decode(fact.sentence[a:b]).strip() and pieces[fact.tail]
    names = {loaded.tokenizer.decode(p).replace(" ", "") for p in pieces.values()}
    assert (
        sum(loaded.tokenizer.decode(f.sentence[slice(*f.mention)]).replace(" ", "") in names for f in facts)
        > len(facts) / 2
    )
    assert all(len(tails) <= 5 for tails in candidates.values())


def test_the_gold_alone_ranks_first_and_the_result_is_bounded(tiny_run: Path, corpus_dir: Path) -> None:
    loaded = load(tiny_run)
    reader = CorpusReader(corpus_dir)
    facts, candidates, pieces = load_facts(reader, "valid", top_k=100)
    short = next(f for f in facts if len(f.sentence) + 2 <= loaded.model.config.tgt_len)
    assert rank_of_gold(loaded.model, loaded.tokenizer, short, [], pieces) == 1
    pool = candidates[short.relation]
    assert (
        1
        <= rank_of_gold(loaded.model, loaded.tokenizer, short, pool, pieces)
        <= len(set(pool) | {short.tail})
    )
    result = cloze(loaded.model, loaded.tokenizer, reader)
    assert result.facts + result.skipped == len(facts) and result.facts > 0
    assert 0.0 <= result.accuracy_at_1 <= result.mrr <= 1.0
    assert result.random_mrr <= 1.0 and math.isclose(sum(1 / i for i in (1, 2)) / 2, 0.75)
    assert cloze(loaded.model, loaded.tokenizer, reader) == result  # deterministic
    # Seen / unseen: a fact is seen when the train split aligned the same (head, relation, tail). The fixture's
    # Re-DocRED documents share no fact across documents, so every valid fact is unseen; train's own are seen.
    assert not any(f.seen for f in facts)
    assert all(f.seen for f in load_facts(reader, "train", top_k=1)[0])
    assert (result.seen_facts, result.unseen_facts) == (0, result.facts)
    assert math.isclose(
        result.seen_facts * result.seen_mrr + result.unseen_facts * result.unseen_mrr,
        result.facts * result.mrr,
    )
