"""Tokenizer: training determinism, special ids, exact span encoding on real non-ASCII names, validation."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pytest
import sentencepiece as spm

from kgtext.corpus.records import AlignedSentence
from kgtext.corpus.tasks.tokenizer import (
    SPECIAL_TOKENS,
    ModelType,
    Tokenizer,
    TokenizerConfig,
    train_tokenizer,
)
from tests.tasks.conftest import SMALL
from tests.tasks.fixture_data import all_sentence_texts


def test_training_is_byte_identical(tmp_path: Path, model_path: Path) -> None:
    again = train_tokenizer(all_sentence_texts(), str(tmp_path / "again"), SMALL)
    assert Path(again).read_bytes() == model_path.read_bytes()
    assert Tokenizer.load(again).sha256 == Tokenizer.load(model_path).sha256


def test_special_tokens_are_reserved_control_symbols(tok: Tokenizer) -> None:
    assert [tok.id_to_piece(i) for i in range(5)] == list(SPECIAL_TOKENS)
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 1, 2, 3, 4)
    assert tok.special_ids == frozenset({0, 1, 2, 3, 4})
    assert tok.vocab_size == 1000
    assert tok.first_normal_id == 5 + 256  # after the byte-fallback pieces
    assert tok.mask_id not in tok.encode("[MASK] is text here")


def test_decode_round_trips_every_fixture_sentence(tok: Tokenizer) -> None:
    texts = all_sentence_texts()
    assert [tok.decode(ids) for ids in tok.encode_batch(texts)] == texts


def test_non_ascii_mentions_round_trip_exactly(tok: Tokenizer, rebel: list[AlignedSentence]) -> None:
    names = []
    for sentence in rebel:
        enc = tok.encode_spans(sentence.text, [(m.start, m.end) for m in sentence.mentions])
        assert tok.decode(enc.ids) == sentence.text
        for m, span in zip(sentence.mentions, enc.spans, strict=True):
            assert tok.decode(enc.ids[span.start : span.end]) == sentence.text[m.start : m.end]
            names.append(sentence.text[m.start : m.end])
    assert {"Réunion", "Katō Kiyomasa", "Honmyō-ji", "Neukölln", "Hoher Göll", "Otto Nordenskiöld"} <= set(
        names
    )


def test_span_boundary_inside_a_piece_is_forced(tok: Tokenizer) -> None:
    text = "It opened in 2017. Its founder (21 years old) left."
    whole = tok.encode(text)
    enc = tok.encode_spans(text, [(13, 17), (32, 34)])
    assert [tok.decode(enc.ids[s.start : s.end]) for s in enc.spans] == ["2017", "21"]
    assert tok.decode(enc.ids) == tok.decode(whole) == text
    assert tok.encode_spans(text, []).ids == whole


def test_sentence_initial_and_adjacent_spans(tok: Tokenizer) -> None:
    text = "Salt Lake City Utah"
    enc = tok.encode_spans(text, [(0, 14), (15, 19)])
    assert enc.spans[0].start == 0 and enc.spans[0].end == enc.spans[1].start
    assert [tok.decode(enc.ids[s.start : s.end]) for s in enc.spans] == ["Salt Lake City", "Utah"]


@pytest.mark.parametrize("span", [(-1, 3), (3, 2), (0, 99)])
def test_span_outside_text_is_rejected(tok: Tokenizer, span: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="outside text"):
        tok.encode_spans("short text", [span])


def test_bpe_model_type_trains(tmp_path: Path) -> None:
    path = train_tokenizer(
        all_sentence_texts(), str(tmp_path / "bpe"), TokenizerConfig(model_type=ModelType.BPE, vocab_size=800)
    )
    tok = Tokenizer.load(path)
    assert tok.vocab_size == 800
    assert tok.decode(tok.encode("Otto Nordenskiöld")) == "Otto Nordenskiöld"


def test_vocab_too_large_needs_soft_limit(tmp_path: Path) -> None:
    texts = all_sentence_texts()[:40]
    with pytest.raises(RuntimeError, match="Vocabulary size too high"):
        train_tokenizer(texts, str(tmp_path / "hard"), TokenizerConfig(vocab_size=5000))
    soft = Tokenizer.load(
        train_tokenizer(
            texts, str(tmp_path / "soft"), TokenizerConfig(vocab_size=5000, hard_vocab_limit=False)
        )
    )
    assert soft.vocab_size < 5000


def test_extra_control_symbols_are_reserved(tmp_path: Path) -> None:
    config = TokenizerConfig(vocab_size=800, extra_control_symbols=("[TRIPLE]",))
    tok = Tokenizer.load(train_tokenizer(all_sentence_texts(), str(tmp_path / "markers"), config))
    assert tok.piece_id("[TRIPLE]") == 5 and 5 in tok.special_ids
    with pytest.raises(ValueError, match="not in the model"):
        tok.piece_id("[NOPE]")


def test_model_with_dummy_prefix_is_rejected() -> None:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(all_sentence_texts()),
        model_writer=model,
        vocab_size=800,
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece="[PAD]",
        unk_piece="[UNK]",
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        control_symbols=["[MASK]"],
        minloglevel=2,
    )
    with pytest.raises(ValueError, match="add_dummy_prefix"):
        Tokenizer.from_bytes(model.getvalue())


def test_model_without_special_tokens_is_rejected() -> None:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(all_sentence_texts()), model_writer=model, vocab_size=800, minloglevel=2
    )
    with pytest.raises(ValueError, match="must reserve"):
        Tokenizer.from_bytes(model.getvalue())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model_type", "wordpiece"),
        ("vocab_size", 100),
        ("num_threads", 0),
        ("character_coverage", 0.0),
        ("input_sentence_size", -1),
        ("max_sentence_length", 0),
        ("extra_control_symbols", ("[MASK]",)),
        ("extra_control_symbols", ("[A]", "[A]")),
    ],
)
def test_bad_tokenizer_config(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        TokenizerConfig(**{field: value})  # type: ignore[arg-type]


def test_spans_stay_exact_when_the_normaliser_adds_spaces(tok: Tokenizer) -> None:
    # nmt_nfkc turns the no-break space into a space: one more "▁" piece than spaces, so that stretch is
    # encoded cut by cut; spans decode to their normalised text.
    text = "Founded in 2017 by Otto\u00a0Nordenskiöld (21 years old)."
    enc = tok.encode_spans(text, [(11, 15), (19, 36), (38, 40)])
    assert [tok.decode(enc.ids[s.start : s.end]) for s in enc.spans] == ["2017", "Otto Nordenskiöld", "21"]
    assert tok.decode(enc.ids) == unicodedata.normalize("NFKC", text)


def test_model_type_accepts_its_string_value() -> None:
    assert TokenizerConfig(model_type="bpe").model_type is ModelType.BPE  # type: ignore[arg-type]
