"""Issue 25, defect 3 (build-corpus's tokenizer sample): JSON allows U+2028, U+2029 and U+0085 raw inside
strings; ``str.splitlines`` splits at them, so the sample is split at ``\\n`` only."""

from __future__ import annotations

import json
from pathlib import Path

from kgtext.pipelines.build_corpus import read_sample

SENTENCES = [
    "line\u2028separator inside a sentence",
    "paragraph\u2029separator",
    "next line\x85(cp1252 ellipsis mis-decoded)",
    "form\x0cfeed, vertical\x0btab, group\x1dseparator",
    "plain",
]


def test_the_tokenizer_sample_is_split_at_newlines_only(tmp_path: Path) -> None:
    sample = tmp_path / "tokenizer_sample.jsonl"
    sample.write_bytes("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in SENTENCES).encode("utf-8"))
    assert "\u2028" in sample.read_text(encoding="utf-8")  # raw, as phase 1 writes it
    assert list(read_sample(str(sample))) == SENTENCES


def test_a_missing_sample_is_empty_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    assert list(read_sample(str(tmp_path / "absent.jsonl"))) == []
    sample = tmp_path / "tokenizer_sample.jsonl"
    sample.write_text('"a"\n\n"b"', encoding="utf-8")  # no newline after the last line
    assert list(read_sample(str(sample))) == ["a", "b"]
