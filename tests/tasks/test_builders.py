"""The five builders on real Re-DocRED documents: hand-checked rows, limits, counts, determinism, Arrow."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kgtext.corpus.records import AlignedTriple, Mention
from kgtext.corpus.tasks import dlm, kmlm, sd, sr, uktp
from kgtext.corpus.tasks.config import DlmConfig, KmlmConfig, PhraseFallback, SdConfig, SrConfig, UktpConfig
from kgtext.corpus.tasks.rows import DlmRow, KmlmRow, SdRow, SrRow, UktpRow
from kgtext.corpus.tasks.schemas import TASK_SCHEMAS
from kgtext.corpus.tasks.tokenizer import Tokenizer
from tests.tasks.fixture_data import Docs


def _units(tok: Tokenizer, row: KmlmRow | UktpRow) -> list[tuple[str, str]]:
    return [(tok.decode(row.input_ids[u.start : u.end]), u.kind) for u in row.units]


def test_row_fields_are_the_schema_columns() -> None:
    for name, row in (("kmlm", KmlmRow), ("uktp", UktpRow), ("sr", SrRow), ("sd", SdRow), ("dlm", DlmRow)):
        assert list(row._fields) == TASK_SCHEMAS[name].names


def test_kmlm_row_of_a_real_sentence(tok: Tokenizer, redocred: Docs) -> None:
    sentence = redocred[0][0].sentences[0]
    (row,) = kmlm.build_kmlm(sentence, tok, KmlmConfig())
    assert (row.doc_id, row.position, row.sentence_index) == ("redocred-dev-0", 0, 0)
    assert row.input_ids[0] == tok.cls_id and row.input_ids[-1] == tok.sep_id
    assert row.num_tokens == len(row.input_ids)
    assert tok.decode(row.input_ids) == sentence.text
    assert _units(tok, row) == [
        ('Wilfried " Willi " Schneider', "entity"),
        ("(born", "word"),
        ("13 March 1963", "entity"),
        ("in", "word"),
        ("Mediaș", "entity"),
        (",", "word"),
        ("Transylvania", "entity"),
        (")", "word"),
        ("is", "word"),
        ("a", "word"),
        ("German", "entity"),
        ("skeleton racer", "phrase"),
        ("who", "word"),
        ("competed", "word"),
        ("from", "word"),
        ("1992", "entity"),
        ("to", "word"),
        ("2002", "entity"),
        (".", "word"),
    ]
    # units partition the sentence tokens: contiguous from after [CLS] to before [SEP]
    assert [u.start for u in row.units[1:]] == [u.end for u in row.units[:-1]]
    assert (row.units[0].start, row.units[-1].end) == (1, row.num_tokens - 1)


def test_kmlm_given_phrases_and_no_fallback(tok: Tokenizer, redocred: Docs) -> None:
    sentence = redocred[0][0].sentences[1]  # He won two medals in the men's skeleton event at the FIBT ...
    given = sentence._replace(phrases=((7, 17),))  # "two medals" overlaps the entity "two": not a unit
    (row,) = kmlm.build_kmlm(given, tok, KmlmConfig())
    assert [t for t, kind in _units(tok, row) if kind == "phrase"] == []
    (plain,) = kmlm.build_kmlm(sentence, tok, KmlmConfig(phrase_fallback=PhraseFallback.NONE))
    assert KmlmConfig(phrase_fallback="none").phrase_fallback is PhraseFallback.NONE  # type: ignore[arg-type]
    assert {kind for _, kind in _units(tok, plain)} == {"entity", "word"}


def test_fallback_phrases_are_runs_of_content_words(tok: Tokenizer, redocred: Docs) -> None:
    sentence = redocred[0][0].sentences[1]
    (row,) = kmlm.build_kmlm(sentence, tok, KmlmConfig())
    # He won [[two]] medals in the {men's skeleton event} at the [[FIBT World Championships]] with a gold ...:
    # single content words ("won", "medals", "gold") stay words; stopwords and entities end a run
    assert [t for t, kind in _units(tok, row) if kind == "phrase"] == ["men's skeleton event"]
    (short,) = kmlm.build_kmlm(sentence, tok, KmlmConfig(max_phrase_words=2))
    assert [t for t, kind in _units(tok, short) if kind == "phrase"] == []


def test_kmlm_truncates_at_a_unit_end(tok: Tokenizer, redocred: Docs) -> None:
    sentence = redocred[0][0].sentences[0]
    built = kmlm.build_kmlm_counted(sentence, tok, KmlmConfig(max_tokens=20))
    (row,) = built.rows
    assert built.counts == {"truncated": 1, "row": 1}
    assert row.num_tokens <= 20 and row.units[-1].end == row.num_tokens - 1
    assert _units(tok, row) == [('Wilfried " Willi " Schneider', "entity"), ("(born", "word")]
    too_long = kmlm.build_kmlm_counted(sentence, tok, KmlmConfig(max_tokens=8))
    assert too_long.rows == [] and too_long.counts == {"too_long": 1}


def test_kmlm_skips_filtered_sentences(tok: Tokenizer, redocred: Docs) -> None:
    sentence = redocred[0][0].sentences[0]._replace(passes_filter=False)
    assert kmlm.build_kmlm_counted(sentence, tok, KmlmConfig()).counts == {"filtered_sentence": 1}


def test_uktp_rows_decode_to_triple_labels_and_sentence(tok: Tokenizer, redocred: Docs) -> None:
    docs, labels = redocred
    sentence = docs[0].sentences[2]  # Schneider also finish ninth ... 2002 Winter Olympics in Salt Lake City.
    rows = uktp.build_uktp(sentence, labels, tok, UktpConfig())
    got = [
        (
            r.position,
            [tok.decode(r.input_ids[s.start : s.end]) for s in (r.head_span, r.relation_span, r.tail_span)],
            [tok.decode(r.input_ids[s.start : s.end]) for s in r.head_mentions],
            [tok.decode(r.input_ids[s.start : s.end]) for s in r.tail_mentions],
        )
        for r in rows
    ]
    assert got == [
        (
            2048,
            ["2002 Winter Olympics", "location", "Salt Lake City"],
            ["2002 Winter Olympics"],
            ["Salt Lake City"],
        ),
        (
            2049,
            ['Wilfried " Willi " Schneider', "participant of", "2002 Winter Olympics"],
            ["Schneider"],
            ["2002 Winter Olympics"],
        ),
        (
            2050,
            ["2002 Winter Olympics", "participant", 'Wilfried " Willi " Schneider'],
            ["2002 Winter Olympics"],
            ["Schneider"],
        ),
    ]
    r = rows[0]
    assert (r.head, r.relation, r.tail, r.level) == (
        "urn:redocred:dev:0:11",
        "http://www.wikidata.org/prop/direct/P276",
        "urn:redocred:dev:0:12",
        "allent",
    )
    assert (
        r.input_ids[0] == tok.cls_id
        and r.input_ids[r.tail_span.end] == tok.sep_id
        and r.input_ids[-1] == tok.sep_id
    )
    assert tok.decode(r.input_ids[r.sentence_span.start : r.sentence_span.end]) == sentence.text
    assert r.segment_ids == [0] * r.sentence_span.start + [1] * (r.num_tokens - r.sentence_span.start)
    assert r.units[0].start == r.sentence_span.start and r.units[-1].end == r.sentence_span.end


def test_uktp_literal_tail_and_layout_without_cls(tok: Tokenizer, redocred: Docs) -> None:
    docs, labels = redocred
    s = docs[0].sentences[0]  # "13 March 1963" at 35..48
    date = '"1963-03-13"^^<http://www.w3.org/2001/XMLSchema#date>'
    triple = AlignedTriple(
        s.mentions[0].entity, "http://www.wikidata.org/prop/direct/P569", "1963-03-13", True, "allent"
    )
    lit = s._replace(mentions=(*s.mentions, Mention(35, 48, date, "date")), triples=(triple,))
    (row,) = uktp.build_uktp(lit, labels, tok, UktpConfig(leading_cls=False))
    assert row.head_span.start == 0
    assert tok.decode(row.input_ids[row.tail_span.start : row.tail_span.end]) == "1963-03-13"
    assert [tok.decode(row.input_ids[m.start : m.end]) for m in row.tail_mentions] == ["13 March 1963"]
    assert uktp.literal_lexical_form(date) == "1963-03-13" and uktp.literal_lexical_form('"x"@en') == "x"


def test_uktp_counts_missing_labels_too_long_and_filtered(tok: Tokenizer, redocred: Docs) -> None:
    docs, labels = redocred
    sentence = docs[10].sentences[7]  # 12 sibling (P3373) triples: no label in the fixture lexicon
    assert uktp.build_uktp_counted(sentence, labels, tok, UktpConfig()).counts == {"no_label": 12}
    short = uktp.build_uktp_counted(docs[0].sentences[2], labels, tok, UktpConfig(max_tokens=30))
    assert short.rows == [] and short.counts == {"too_long": 3}
    filtered = docs[0].sentences[2]._replace(passes_filter=False)
    assert uktp.build_uktp_counted(filtered, labels, tok, UktpConfig()).counts == {"filtered_sentence": 3}


def test_sr_rows_cut_at_sentence_boundaries(tok: Tokenizer, redocred: Docs) -> None:
    doc = redocred[0][1]
    (row,) = sr.build_sr(doc, tok, SrConfig(), seed=0)
    assert (row.position, row.paragraph_index, row.segment_starts, row.num_tokens) == (
        0,
        0,
        [1, 112, 164],
        433,
    )
    bounds = [*row.segment_starts, row.num_tokens - 1]
    segments = [tok.decode(row.input_ids[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    texts = [s.text for s in doc.sentences]
    assert segments == [" ".join(texts[0:2]), " ".join(texts[2:4]), " ".join(texts[4:])]
    assert sr.build_sr(doc, tok, SrConfig(), seed=0) == [row]


def test_sr_segment_counts_and_limits(tok: Tokenizer, redocred: Docs) -> None:
    docs = redocred[0]
    sizes = [
        len(r.segment_starts)
        for seed in range(10)
        for d in docs
        for r in sr.build_sr(d, tok, SrConfig(), seed=seed)
    ]
    assert set(sizes) == {1, 2, 3}
    assert {len(r.segment_starts) for d in docs for r in sr.build_sr(d, tok, SrConfig(max_segments=1))} == {1}
    one = docs[0]._replace(
        sentences=tuple(s._replace(paragraph_index=i) for i, s in enumerate(docs[0].sentences))
    )
    assert sr.build_sr_counted(one, tok, SrConfig()).counts == {"too_few_sentences": 6}
    cut = sr.build_sr_counted(docs[1], tok, SrConfig(max_tokens=150))
    assert cut.counts == {"truncated": 1, "row": 1} and cut.rows[0].num_tokens <= 150
    assert sr.build_sr_counted(docs[1], tok, SrConfig(max_tokens=60)).counts == {"too_long": 1}


def test_sd_pairs_match_their_labels(tok: Tokenizer, redocred: Docs) -> None:
    docs = redocred[0]
    labels = []
    for k, doc in enumerate(docs):
        other = docs[(k + 1) % len(docs)]
        negatives = [s.text for s in other.sentences]
        built = sd.build_sd_counted(
            doc, negatives, tok, SdConfig(), seed=3, negative_doc_ids=[other.doc_id] * len(negatives)
        )
        texts = [s.text for s in doc.sentences]
        for row in built.rows:
            second = tok.decode([t for t, g in zip(row.input_ids, row.segment_ids, strict=True) if g == 1])
            first = tok.decode([t for t, g in zip(row.input_ids, row.segment_ids, strict=True) if g == 0])
            assert first == texts[row.position]
            if row.label == 0:
                assert second == texts[row.position + 1]
            elif row.label == 1:
                assert abs(texts.index(second) - row.position) >= 2 and row.other_doc_id == doc.doc_id
            else:
                assert second in negatives and row.other_doc_id == other.doc_id
            labels.append(row.label)
    assert len(labels) == sum(len(d.sentences) for d in docs)
    assert all(abs(labels.count(c) / len(labels) - 1 / 3) < 0.1 for c in range(3))


def test_sd_fallback_no_pair_and_too_long(tok: Tokenizer, redocred: Docs) -> None:
    doc = redocred[0][0]
    adjacent_only = sd.build_sd_counted(doc, [], tok, SdConfig(class_weights=(1.0, 0.0, 0.0)))
    assert adjacent_only.counts == {"row": 6, "class_fallback": 1}
    assert [r.label for r in adjacent_only.rows] == [0, 0, 0, 0, 0, 1]
    single = doc._replace(sentences=doc.sentences[:1])
    assert sd.build_sd_counted(single, [], tok, SdConfig()).counts == {"no_pair": 1}
    assert sd.build_sd_counted(doc, ["x"], tok, SdConfig(max_tokens=20)).counts == {"too_long": 6}
    with pytest.raises(ValueError, match="negative_doc_ids"):
        sd.build_sd(doc, ["a", "b"], tok, SdConfig(), negative_doc_ids=["d"])


def test_dlm_is_the_document_in_order(tok: Tokenizer, redocred: Docs) -> None:
    doc = redocred[0][1]
    (row,) = dlm.build_dlm(doc, tok, DlmConfig())
    assert (row.position, row.segment_index, row.input_ids[-1]) == (0, 0, tok.sep_id)
    assert tok.decode(row.input_ids) == " ".join(s.text for s in doc.sentences)
    chunks = dlm.build_dlm(doc, tok, DlmConfig(chunk_tokens=64))
    assert [c.segment_index for c in chunks] == list(range(len(chunks))) and len(chunks) == 8
    assert all(c.num_tokens <= 64 for c in chunks)
    assert [t for c in chunks for t in c.input_ids] == row.input_ids
    # every chunk starts a word: cuts are at sentence ends or word starts
    assert all(tok.word_start[c.input_ids[0]] for c in chunks)


def test_dlm_empty_document(tok: Tokenizer, redocred: Docs) -> None:
    empty = redocred[0][0]._replace(sentences=())
    assert dlm.build_dlm_counted(empty, tok, DlmConfig()).counts == {"empty": 1}


def test_builders_are_deterministic_and_rows_go_to_arrow(tok: Tokenizer, redocred: Docs) -> None:
    docs, labels = redocred
    negatives = [s.text for s in docs[5].sentences]

    def build_all() -> dict[str, list[object]]:
        sentences = [s for d in docs for s in d.sentences]
        return {
            "kmlm": [r for s in sentences for r in kmlm.build_kmlm(s, tok, KmlmConfig())],
            "uktp": [r for s in sentences for r in uktp.build_uktp(s, labels, tok, UktpConfig())],
            "sr": [r for d in docs for r in sr.build_sr(d, tok, SrConfig(), seed=7)],
            "sd": [r for d in docs for r in sd.build_sd(d, negatives, tok, SdConfig(), seed=7)],
            "dlm": [r for d in docs for r in dlm.build_dlm(d, tok, DlmConfig())],
        }

    first, second = build_all(), build_all()
    assert first == second
    for name, rows in first.items():
        table = pa.Table.from_pylist([r._asdict() for r in rows], schema=TASK_SCHEMAS[name])  # type: ignore[attr-defined]
        assert table.num_rows == len(rows) > 0
    assert len(first["kmlm"]) == 103 and len(first["uktp"]) > 100
    assert sd.build_sd(docs[0], negatives, tok, SdConfig(), seed=8) != sd.build_sd(
        docs[0], negatives, tok, SdConfig(), seed=7
    )


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (KmlmConfig, "max_tokens", 2),
        (KmlmConfig, "phrase_fallback", "noun_chunks"),
        (KmlmConfig, "max_phrase_words", 1),
        (UktpConfig, "max_tokens", 3),
        (SrConfig, "max_segments", 0),
        (SrConfig, "min_sentences", 0),
        (SrConfig, "max_tokens", 2),
        (SdConfig, "class_weights", (0.5, 0.5, 0.5)),
        (SdConfig, "min_distance", 1),
        (SdConfig, "max_tokens", 4),
        (DlmConfig, "chunk_tokens", 8),
    ],
)
def test_bad_builder_config(cls: type, field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        cls(**{field: value})


def test_sd_rows_of_a_real_document_are_exact(tok: Tokenizer, redocred: Docs) -> None:
    doc, donor = redocred[0][0], redocred[0][1]
    negatives = [s.text for s in donor.sentences]
    rows = sd.build_sd(
        doc, negatives, tok, SdConfig(), seed=2, negative_doc_ids=[donor.doc_id] * len(negatives)
    )
    texts = [s.text for s in doc.sentences]

    def second(row: SdRow) -> tuple[int, int, str]:
        text = tok.decode([t for t, g in zip(row.input_ids, row.segment_ids, strict=True) if g == 1])
        return row.label, (negatives if row.label == 2 else texts).index(text), row.other_doc_id

    # (label, index of the second sentence in its document, its document)
    assert [second(r) for r in rows] == [
        (2, 9, "redocred-dev-1"),
        (2, 0, "redocred-dev-1"),
        (0, 3, "redocred-dev-0"),
        (1, 0, "redocred-dev-0"),
        (1, 2, "redocred-dev-0"),
        (2, 3, "redocred-dev-1"),
    ]
    assert [r.position for r in rows] == list(range(6))
    first = rows[2]
    assert first.input_ids[: first.segment_ids.index(1)] == [tok.cls_id, *tok.encode(texts[2]), tok.sep_id]
    assert first.input_ids[-1] == tok.sep_id and first.num_tokens == len(first.input_ids)
