"""docs/FORMATS.md describes exactly the schemas in code: every dataset's column table must match."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from kgtext.corpus.schemas import DATASETS

DOC = Path(__file__).resolve().parents[1] / "docs" / "FORMATS.md"


def doc_type(t: pa.DataType) -> str:
    """The notation the doc uses: ``list<struct<start: int32, end: int32>>``, ``string``, ``bool``."""
    if pa.types.is_list(t):
        return f"list<{doc_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{f.name}: {doc_type(f.type)}" for f in t) + ">"
    return {"bool": "bool"}.get(str(t), str(t))


def documented_columns(dataset: str) -> list[tuple[str, str]]:
    """``(column, type)`` rows of the table under the heading ``### `dataset` ``."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^### `{dataset}`\s*$(.*?)(?=^#|\Z)", text, flags=re.M | re.S)
    assert match, f"docs/FORMATS.md has no '### `{dataset}`' section"
    rows = []
    for line in match.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[1]))
    return rows


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_formats_doc_matches_schema(dataset: str) -> None:
    expected = [(f.name, doc_type(f.type)) for f in DATASETS[dataset]]
    assert documented_columns(dataset) == expected


def test_doc_type_notation() -> None:
    t = pa.list_(pa.struct([pa.field("start", pa.int32()), pa.field("kind", pa.string())]))
    assert doc_type(t) == "list<struct<start: int32, kind: string>>"
