"""render_row on real rows, both as built NamedTuples and as read back from Arrow."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kgtext.corpus.tasks import dlm, kmlm, sd, sr, uktp
from kgtext.corpus.tasks.config import DlmConfig, KmlmConfig, PhraseFallback, SdConfig, SrConfig, UktpConfig
from kgtext.corpus.tasks.render import render_row
from kgtext.corpus.tasks.schemas import TASK_SCHEMAS
from kgtext.corpus.tasks.tokenizer import Tokenizer
from tests.tasks.fixture_data import Docs


def _arrow(name: str, row: object) -> dict[str, object]:
    table = pa.Table.from_pylist([row._asdict()], schema=TASK_SCHEMAS[name])  # type: ignore[attr-defined]
    out: dict[str, object] = table.to_pylist()[0]
    return out


def test_render_kmlm_brackets_units(tok: Tokenizer, redocred: Docs) -> None:
    (row,) = kmlm.build_kmlm(redocred[0][0].sentences[0], tok, KmlmConfig())
    text = render_row("kmlm", _arrow("kmlm", row), tok)
    assert text.splitlines()[:2] == [
        "kmlm redocred-dev-0 #0 (70 tokens)",
        '  text:   [CLS] [[Wilfried " Willi " Schneider]] (born [[13 March 1963]] in [[Mediaș]], [[Transylvania]])'
        " is a [[German]] {skeleton racer} who competed from [[1992]] to [[2002]].[SEP]",
    ]
    assert "[MASK](" in text.splitlines()[2]
    assert render_row("kmlm", row._asdict(), tok) == text


def test_render_uktp_shows_triple_and_mentions(tok: Tokenizer, redocred: Docs) -> None:
    docs, labels = redocred
    row = uktp.build_uktp(docs[0].sentences[2], labels, tok, UktpConfig())[0]
    lines = render_row("uktp", _arrow("uktp", row), tok).splitlines()
    assert lines[1] == "  triple:   (2002 Winter Olympics | location | Salt Lake City)"
    assert lines[3] == (
        "  sentence: Schneider also finish ninth in the men's skeleton event at the <H:2002 Winter Olympics>"
        " in <T:Salt Lake City>."
    )


def test_render_sr_sd_dlm(tok: Tokenizer, redocred: Docs) -> None:
    doc = redocred[0][1]
    sr_text = render_row("sr", _arrow("sr", sr.build_sr(doc, tok, SrConfig())[0]), tok)
    assert "segment 2: After the war" in sr_text and "-> class" in sr_text
    sd_row = sd.build_sd(doc, [], tok, SdConfig(class_weights=(1.0, 0.0, 0.0)))[0]
    assert "label:  0 = adjacent" in render_row("sd", _arrow("sd", sd_row), tok)
    dlm_text = render_row("dlm", _arrow("dlm", dlm.build_dlm(doc, tok, DlmConfig())[0]), tok)
    assert dlm_text.splitlines()[2].startswith("  text: Ross Patterson Alger (August 20, 1920")


def test_render_unknown_dataset(tok: Tokenizer) -> None:
    with pytest.raises(ValueError, match="dataset"):
        render_row("aligned", {}, tok)


def test_render_keeps_byte_fallback_words_next_to_specials(tok: Tokenizer, redocred: Docs) -> None:
    sentence = redocred[0][0].sentences[0]._replace(mentions=())  # "Mediaș": ș is two byte pieces
    (row,) = kmlm.build_kmlm(sentence, tok, KmlmConfig(phrase_fallback=PhraseFallback.NONE))
    assert any(tok.id_to_piece(t).startswith("<0x") for t in row.input_ids)
    text = render_row("kmlm", row._asdict(), tok).splitlines()[1]
    assert text == f"  text:   [CLS] {sentence.text}[SEP]"
