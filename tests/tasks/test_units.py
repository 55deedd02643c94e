"""corpus/tasks/units.py directly: the unit partition of real fixture sentences, against a plain reference.

The fast partition (``units._segments`` / ``_word_segments``: word-start table, content caches, one pass)
must equal :func:`reference_segments`, a slow transcription of the rule in docs/TASKS.md ("Units"): the
covered units (entities, phrases) in order; between them a word starts at a ``▁`` piece or where a
covered run ends; with the phrase fallback, runs of 2..max content words (no stopword, no punctuation)
between other units become one phrase.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kgtext.corpus.records import AlignedDocument, AlignedSentence, Mention
from kgtext.corpus.tasks.config import KmlmConfig, PhraseFallback
from kgtext.corpus.tasks.rows import UnitKind
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.corpus.tasks.units import STOPWORDS, encode_raw


def _content(tok: Tokenizer, piece_ids: Sequence[int]) -> bool:
    if len(piece_ids) == 1 and piece_ids[0] in tok.special_ids:
        return False
    text = "".join(tok.id_to_piece(i).lstrip("▁").lower() for i in piece_ids)
    return text.replace("'", "").replace("’", "").replace("-", "").isalnum() and text not in STOPWORDS


def reference_segments(
    ids: Sequence[int], covered: Sequence[tuple[int, int, UnitKind]], tok: Tokenizer, max_words: int
) -> list[tuple[int, int, UnitKind]]:
    out: list[tuple[int, int, UnitKind]] = []

    def flush(run: list[tuple[int, int]]) -> None:
        if 2 <= len(run) <= max_words:
            out.append((run[0][0], run[-1][1], UnitKind.PHRASE))
        else:
            out.extend((a, b, UnitKind.WORD) for a, b in run)
        run.clear()

    pos = 0
    for start, end, kind in [*covered, (len(ids), len(ids), None)]:
        words, w = [], pos
        for i in range(pos + 1, start):
            if tok.word_start[ids[i]]:
                words.append((w, i))
                w = i
        if w < start:
            words.append((w, start))
        run: list[tuple[int, int]] = []
        for a, b in words:
            if max_words and _content(tok, ids[a:b]):
                run.append((a, b))
            else:
                flush(run)
                out.append((a, b, UnitKind.WORD))
        flush(run)
        if kind is not None:
            out.append((start, end, kind))
        pos = end
    return out


def _sentences(redocred: tuple[list[AlignedDocument], dict[str, str]], rebel: list[AlignedSentence]):  # noqa: ANN202
    return [s for d in redocred[0] for s in d.sentences] + rebel


@pytest.mark.parametrize("fallback", [PhraseFallback.STOPWORD_RUNS, PhraseFallback.NONE])
def test_fast_partition_matches_the_reference(tok: Tokenizer, redocred, rebel, fallback) -> None:  # noqa: ANN001
    config = KmlmConfig(phrase_fallback=fallback)
    sentences = _sentences(redocred, rebel)
    assert len(sentences) > 100
    kinds: set[UnitKind] = set()
    for sentence in sentences:
        raw = encode_raw(tok, sentence.text, sentence.mentions, sentence.phrases, config)
        covered = [(s, e, k) for s, e, k in raw.segments if k is not UnitKind.WORD]
        if fallback is PhraseFallback.STOPWORD_RUNS and not sentence.phrases:
            # Fallback phrases are built by the partition itself: only entities are given to it.
            covered = [(s, e, k) for s, e, k in covered if k is UnitKind.ENTITY]
        max_words = (
            config.max_phrase_words
            if fallback is PhraseFallback.STOPWORD_RUNS and not sentence.phrases
            else 0
        )
        assert raw.segments == reference_segments(raw.ids, covered, tok, max_words), sentence.text
        # A partition: consecutive, disjoint, non-empty, covering every token exactly once.
        bounds = [(s, e) for s, e, _ in raw.segments]
        assert all(s < e for s, e in bounds)
        assert [s for s, _ in bounds] == [0, *[e for _, e in bounds[:-1]]]
        assert bounds[-1][1] == len(raw.ids)
        kinds.update(k for _, _, k in raw.segments)
    expected = set(UnitKind) if fallback is PhraseFallback.STOPWORD_RUNS else {UnitKind.ENTITY, UnitKind.WORD}
    assert kinds >= expected


def test_entities_first_then_phrases_without_overlap(tok: Tokenizer) -> None:
    """Overlapping mentions: the earlier (then longer) one is the unit; a phrase over an entity is dropped."""
    text = "The University of Sydney library opened in Sydney in 1900."
    uni = Mention(4, 24, "e:usyd", "label")  # "University of Sydney"
    city = Mention(18, 24, "e:sydney", "label")  # "Sydney" inside it: not a unit
    later = Mention(43, 49, "e:sydney", "label")
    phrases = [(4, 32), (25, 32)]  # "University of Sydney library" overlaps the entity; "library" is free
    raw = encode_raw(tok, text, [uni, city, later], phrases, KmlmConfig())
    pieces = [tok.id_to_piece(i) for i in raw.ids]

    def surface(s: int, e: int) -> str:
        return "".join(pieces[s:e]).replace("▁", " ").strip()

    units = [(surface(s, e), k) for s, e, k in raw.segments if k is not UnitKind.WORD]
    assert units == [
        ("University of Sydney", UnitKind.ENTITY),
        ("library", UnitKind.PHRASE),
        ("Sydney", UnitKind.ENTITY),
    ]
    # Every mention keeps its exact token span, the nested one included.
    assert [surface(s, e) for s, e in raw.mention_spans] == ["University of Sydney", "Sydney", "Sydney"]
