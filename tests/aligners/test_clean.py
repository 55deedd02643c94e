"""Cleaning (ERNIE 3.0 §3.3 rules), link re-basing and the document de-duplication key."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kgtext.aligners.clean import clean_document, cleaning_stats, dedup_key
from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.records import CleanedDocument, Document, DropReason, Link

CONFIG = AlignerConfig()


def _doc(text: str, links: tuple[Link, ...] = (), title: str = "") -> Document:
    return Document("d", text, title, "", links, "f.jsonl", 1)


def _clean(text: str, links: tuple[Link, ...] = (), config: AlignerConfig = CONFIG) -> CleanedDocument:
    result = clean_document(_doc(text, links), config)
    assert isinstance(result, CleanedDocument)
    return result


def test_mojibake_from_tekgen_is_repaired(fixtures: Path) -> None:
    rows = [json.loads(line) for line in (fixtures / "tekgen" / "mojibake.jsonl").read_text().splitlines()]
    cleaned = [_clean(row["sent"]).paragraphs[0] for row in rows]
    assert "Urusei Yatsura 2 Byūtifuru Dorīmā) is a 1984" in cleaned[0]
    assert cleaned[1].startswith('(Q, Evangerion Shin Gekijōban: Kyū, "Evangelion')
    assert cleaned[2].endswith("Toshiyuki Nishida, Chō and Kōichi Yamadera.")


def test_mojibake_repair_can_be_switched_off(fixtures: Path) -> None:
    row = json.loads((fixtures / "tekgen" / "mojibake.jsonl").read_text().splitlines()[2])
    config = AlignerConfig(fix_mojibake=False, strip_control_chars=False)
    assert _clean(row["sent"], config=config).paragraphs[0] == row["sent"]


def test_nfc() -> None:
    assert _clean("Cafe\u0301 au lait").paragraphs == ("Caf\u00e9 au lait",)


def test_repeated_characters_collapse_but_words_and_numbers_stay() -> None:
    assert _clean("Wow!!!  Really???\t\tYes -- 1000 books.").paragraphs == ("Wow! Really? Yes - 1000 books.",)


def test_identical_consecutive_paragraphs_collapse() -> None:
    cleaned = _clean("Intro.\n\nSame text.\n\n\n  Same text.\n\nOther.\n\nSame text.")
    assert cleaned.paragraphs == ("Intro.", "Same text.", "Other.", "Same text.")
    assert cleaned.dropped == (DropReason.DUPLICATE_PARAGRAPH,)


def test_lone_surrogates_are_removed() -> None:
    text = json.loads('"Bad \\ud800surrogate here."')
    assert _clean(text).paragraphs == ("Bad surrogate here.",)


def test_line_wraps_become_spaces() -> None:
    assert _clean("A wrapped\nline.\r\n\r\nNext.").paragraphs == ("A wrapped line.", "Next.")


def test_links_follow_their_text() -> None:
    text = "Hello   world!!!  Caf\u00c3\u00a9 here.\n\n\n\nSame para.\n\nSame para.\n\nEnd \x00of text."
    links = (
        Link(8, 13, "e:world"),
        Link(18, 24, "e:cafe"),
        Link(50, 54, "e:para2"),
        Link(62, 69, "e:oftext"),
    )
    cleaned = _clean(text, links)
    joined = cleaned.text()
    assert cleaned.paragraphs == ("Hello world! Café here.", "Same para.", "End of text.")
    assert [(joined[k.start : k.end], k.entity) for k in cleaned.links] == [
        ("world", "e:world"),
        ("Café", "e:cafe"),
        ("of text", "e:oftext"),
    ]
    assert cleaned.dropped == (DropReason.DUPLICATE_PARAGRAPH, DropReason.LINK_IN_REMOVED_TEXT)


def test_bad_links_are_dropped_and_counted() -> None:
    text = "Rome and Paris.\n\nBerlin."
    links = (
        Link(0, 4, "e:Rome"),
        Link(-1, 3, "e:neg"),
        Link(9, 99, "e:out"),
        Link(5, 5, "e:empty"),
        Link(1, 3, "e:overlap"),
        Link(9, 20, "e:cross"),
    )
    cleaned = _clean(text, links)
    assert cleaned.links == (Link(0, 4, "e:Rome"),)
    assert sorted(r.value for r in cleaned.dropped) == [
        "link_crosses_paragraph",
        "link_out_of_range",
        "link_out_of_range",
        "link_out_of_range",
        "link_overlap",
    ]
    assert cleaning_stats(cleaned) == {
        "documents.cleaned": 1,
        "links.dropped.link_out_of_range": 3,
        "links.dropped.link_overlap": 1,
        "links.dropped.link_crosses_paragraph": 1,
    }


@pytest.mark.parametrize("text", ["", "   \n\n\t ", "\x00\x01\x02\u200b\ufeff", "\n\x07\n", "\ud800\udfff"])
def test_whitespace_or_control_only_documents_are_dropped(text: str) -> None:
    result = clean_document(_doc(text), CONFIG)
    assert result is DropReason.EMPTY_AFTER_CLEANING
    assert cleaning_stats(result) == {"documents.dropped.empty_after_cleaning": 1}


def test_five_megabyte_single_line_document_is_dropped_fast() -> None:
    text = "All work and no play makes Jack a dull boy. " * 120_000  # 5.2 MB, one line
    began = time.perf_counter()
    assert clean_document(_doc(text), CONFIG) is DropReason.TOO_LONG
    assert time.perf_counter() - began < 1.0


def test_dedup_key_is_md5_sum_of_three_longest_sentences() -> None:
    first = _clean("Short one. This is the longest sentence here. Medium sized one. Another medium one!")
    reordered = _clean("Another medium one! This is the longest sentence here.\n\nMedium sized one. Tiny.")
    assert dedup_key(first) == dedup_key(reordered)
    assert dedup_key(first) == "48ab674eda732e93d3c31c14f2b7245d"
    assert dedup_key(first) != dedup_key(_clean("Short one. This is the longest sentence here."))


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="max_document_chars"):
        AlignerConfig(max_document_chars=0)
    with pytest.raises(ValueError, match="min_sentence_words"):
        AlignerConfig(min_sentence_words=-1)
    with pytest.raises(ValueError, match="spacy_model"):
        AlignerConfig(spacy_model=" ")
