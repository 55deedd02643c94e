"""Dynamic masking and permutation: units never split, configured rates, SR bijection, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kgtext.corpus.tasks import masking
from kgtext.corpus.tasks.config import KmlmConfig, SrConfig, UktpConfig
from kgtext.corpus.tasks.kmlm import build_kmlm
from kgtext.corpus.tasks.masking import (
    IGNORE,
    UktpMaskMode,
    mask_uktp,
    mask_units,
    permute_sr,
    sr_label,
    sr_permutation,
)
from kgtext.corpus.tasks.rows import KmlmRow
from kgtext.corpus.tasks.sr import build_sr
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.corpus.tasks.uktp import build_uktp
from tests.tasks.fixture_data import Docs

RANGE = (261, 1000)


@pytest.fixture(scope="module")
def rows(tok: Tokenizer, redocred: Docs) -> list[KmlmRow]:
    return [r for d in redocred[0] for s in d.sentences for r in build_kmlm(s, tok, KmlmConfig())]


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_sr_label_is_a_bijection_onto_k_classes(m: int) -> None:
    perms = [p for n in range(1, m + 1) for p in itertools.permutations(range(n))]
    labels = [sr_label(p) for p in perms]
    assert sorted(labels) == list(range(masking.sr_num_classes(m)))
    assert [sr_permutation(label) for label in labels] == perms
    assert masking.sr_num_classes(m) == [1, 3, 9, 33, 153][m - 1]


def test_sr_label_canonical_values() -> None:
    assert [sr_label(p) for p in [(0,), (0, 1), (1, 0), (0, 1, 2), (0, 2, 1), (2, 1, 0)]] == [
        0,
        1,
        2,
        3,
        4,
        8,
    ]
    for bad in [(), (0, 0), (1, 2)]:
        with pytest.raises(ValueError, match="permutation"):
            sr_label(bad)
    with pytest.raises(ValueError, match="label"):
        sr_permutation(-1)


def test_mask_units_never_splits_a_unit(rows: list[KmlmRow], tok: Tokenizer) -> None:
    for i, row in enumerate(rows):
        m = mask_units(
            row.input_ids, row.units, seed=1, epoch=0, row_index=i, mask_id=tok.mask_id, random_range=RANGE
        )
        target = m.labels != IGNORE
        assert not target[0] and not target[-1]  # [CLS] / [SEP] never
        for u in row.units:
            assert target[u.start : u.end].all() or not target[u.start : u.end].any()
        assert target.any()  # ensure_one
        assert (m.labels[target] == np.asarray(row.input_ids)[target]).all()
        assert (m.input_ids[~target] == np.asarray(row.input_ids)[~target]).all()


def test_mask_units_hits_the_configured_rates(rows: list[KmlmRow], tok: Tokenizer) -> None:
    units = selected = tokens = masked = randomized = 0
    for epoch in range(20):
        for i, row in enumerate(rows):
            m = mask_units(
                row.input_ids,
                row.units,
                seed=0,
                epoch=epoch,
                row_index=i,
                mask_id=tok.mask_id,
                random_range=RANGE,
                ensure_one=False,
            )
            target = m.labels != IGNORE
            units += len(row.units)
            selected += sum(bool(target[u.start]) for u in row.units)
            tokens += int(target.sum())
            masked += int((m.input_ids[target] == tok.mask_id).sum())
            randomized += int((m.input_ids[target] != m.labels[target]).sum()) - int(
                (m.input_ids[target] == tok.mask_id).sum()
            )
    assert abs(selected / units - 0.15) < 0.01
    assert abs(masked / tokens - 0.8) < 0.02
    assert abs(randomized / tokens - 0.1) < 0.02  # a random token can equal the original: slightly under 0.1


def test_masking_is_deterministic_per_seed_epoch_row(rows: list[KmlmRow], tok: Tokenizer) -> None:
    row = rows[0]

    def draw(seed: int, epoch: int, index: int, units: object = None) -> list[int]:
        m = mask_units(
            row.input_ids,
            np.asarray([(u.start, u.end) for u in row.units], dtype=np.int32) if units is None else units,
            seed=seed,
            epoch=epoch,
            row_index=index,
            mask_id=tok.mask_id,
            random_range=RANGE,
        )
        return [*m.input_ids.tolist(), *m.labels.tolist()]

    assert draw(0, 0, 5) == draw(0, 0, 5) == draw(0, 0, 5, row.units)  # (U, 2) array or Unit records
    assert len({tuple(draw(0, e, 5)) for e in range(10)}) > 5  # different epochs, different masks
    assert draw(0, 0, 5) != draw(1, 0, 5) or draw(0, 1, 5) != draw(1, 1, 5)


def test_mask_uktp_modes(tok: Tokenizer, redocred: Docs) -> None:
    docs, labels = redocred
    row = build_uktp(docs[0].sentences[2], labels, tok, UktpConfig())[0]
    rel = row.relation_span
    relation_only = words_only = 0
    for i in range(200):
        m = mask_uktp(
            row.input_ids,
            rel,
            row.units,
            seed=0,
            epoch=0,
            row_index=i,
            mask_id=tok.mask_id,
            random_range=RANGE,
        )
        target = m.labels != IGNORE
        rel_hit = target[rel.start : rel.end].all()
        word_hit = target[row.sentence_span.start : row.sentence_span.end].any()
        assert rel_hit != word_hit  # EITHER: one or the other
        assert not target[: rel.start].any() and not target[rel.end : row.sentence_span.start].any()
        if rel_hit:
            assert (m.input_ids[rel.start : rel.end] == tok.mask_id).all()
        relation_only += rel_hit
        words_only += word_hit
    assert 80 < relation_only < 120
    both = mask_uktp(
        row.input_ids,
        (rel.start, rel.end),
        row.units,
        seed=0,
        epoch=0,
        row_index=0,
        mask_id=tok.mask_id,
        random_range=RANGE,
        mode=UktpMaskMode.BOTH,
    )
    target = both.labels != IGNORE
    assert target[rel.start : rel.end].all() and target[row.sentence_span.start : row.sentence_span.end].any()
    as_text = mask_uktp(
        row.input_ids,
        rel,
        row.units,
        seed=0,
        epoch=0,
        row_index=0,
        mask_id=tok.mask_id,
        random_range=RANGE,
        mode="both",
    )  # type: ignore[arg-type]
    assert as_text.labels.tolist() == both.labels.tolist()
    with pytest.raises(ValueError, match="nothing"):
        mask_uktp(
            row.input_ids,
            rel,
            row.units,
            seed=0,
            epoch=0,
            row_index=0,
            mask_id=tok.mask_id,
            random_range=RANGE,
            mode="nothing",
        )  # type: ignore[arg-type]


def test_permute_sr_round_trip(tok: Tokenizer, redocred: Docs) -> None:
    rows = [r for d in redocred[0] for seed in range(10) for r in build_sr(d, tok, SrConfig(), seed=seed)]
    seen = set()
    for i, row in enumerate(rows):
        p = permute_sr(row.input_ids, row.segment_starts, seed=0, epoch=2, row_index=i)
        again = permute_sr(row.input_ids, row.segment_starts, seed=0, epoch=2, row_index=i)
        assert again.permutation == p.permutation and again.input_ids.tolist() == p.input_ids.tolist()
        assert p.label == sr_label(p.permutation) and sr_permutation(p.label) == p.permutation
        bounds = [*row.segment_starts, row.num_tokens - 1]
        segments = [row.input_ids[a:b] for a, b in itertools.pairwise(bounds)]
        expected = [
            row.input_ids[0],
            *itertools.chain.from_iterable(segments[k] for k in p.permutation),
            row.input_ids[-1],
        ]
        assert p.input_ids.tolist() == expected
        seen.add(p.label)
    assert seen == set(range(9))
    with pytest.raises(ValueError, match="segment_starts"):
        permute_sr([2, 5, 6, 3], [0, 2], seed=0, epoch=0, row_index=0)
