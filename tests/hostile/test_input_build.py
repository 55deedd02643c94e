"""``build-corpus`` end to end under hostile input (issue 25, cases 3, 4 and 6).

Before: one U+2028 in a kept document, a rejected record or a bad KG line crashed the build after phases 0
and 1 (``splitlines`` cut a dead letter or a tokenizer-sample line in two); ``{"id": "\\ud800x"}`` crashed
Beam with three tracebacks; a FIFO as ``--docs`` hung forever. After: the build succeeds with counted dead
letters, and a FIFO or ``/dev/zero`` is refused in one line (exit 2) before anything reads it.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgtext.common.dead_letters import Reason
from kgtext.corpus.manifest import load_manifest
from kgtext.pipelines.build_corpus import main
from kgtext.pipelines.rejections import read_dead_letters
from tests.pipelines.conftest import REBEL, SMALL

LS, PS, NEL = "\u2028", "\u2029", "\u0085"


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    def fail(*_: object) -> None:
        raise TimeoutError("the build blocked")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(300)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _argv(kg: list[Path], docs: list[Path], out: Path) -> list[str]:
    return [
        "--kg",
        *map(str, kg),
        "--docs",
        *map(str, docs),
        "--out",
        str(out),
        *SMALL,
        "--vocab-size",
        "600",
    ]


def test_line_separators_and_lone_surrogates_are_text_or_dead_letters(tmp_path: Path) -> None:
    lines = (REBEL / "docs.jsonl").read_text(encoding="utf-8").split("\n")
    docs = [json.loads(line) for line in lines if line.strip()]
    docs[0]["text"] = docs[0]["text"].replace(" ", f" {LS}", 1)  # kept, its sentence in the tokenizer sample
    hostile = [json.dumps(d, ensure_ascii=False) for d in docs] + [
        json.dumps({"id": f"bad{PS}{NEL}", "title": f"no text{LS}"}, ensure_ascii=False),  # missing_field
        '{"id": "\\ud800x", "text": "Alan Bean was an astronaut who walked on the Moon in 1969."}',
        '{"id": "s2", "title": "\\udfff", "text": "Alan Bean was an astronaut who walked on the Moon."}',
    ]
    (tmp_path / "docs.jsonl").write_text("\n".join(hostile) + "\n", encoding="utf-8")
    bad_kg = tmp_path / "bad.nt"
    bad_kg.write_text(
        f'<http://example.org/a> <http://example.org/b> "broken{LS}literal .\n', encoding="utf-8"
    )
    out = tmp_path / "corpus"
    main(_argv([REBEL / "kg.nt", bad_kg], [tmp_path / "docs.jsonl"], out))
    stats = load_manifest(out).statistics
    assert stats["documents.kept"] == len(docs)  # the document with U+2028 included
    assert stats["documents.rejected.invalid_utf8"] == 2
    assert stats["documents.rejected.missing_field"] == 1
    assert stats["kg.rejected.unterminated_literal"] == 1
    letters = read_dead_letters(str(out))
    by_reason = {(d.stage, d.reason): d for d in letters}
    assert LS in by_reason[("read_kg", Reason.UNTERMINATED_LITERAL)].excerpt
    assert PS + NEL in by_reason[("read_documents", Reason.MISSING_FIELD)].excerpt
    surrogates = sorted(d.excerpt.split(" holds")[0] for d in letters if d.reason == "invalid_utf8")
    assert surrogates == ["id", "title"]


@pytest.mark.parametrize(("role", "kind"), [("docs", "fifo"), ("kg", "zero")])
def test_an_input_that_is_not_a_regular_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], role: str, kind: str
) -> None:
    bad = tmp_path / ("docs.jsonl" if role == "docs" else "kg.nt")
    if kind == "fifo":
        os.mkfifo(bad)
    else:
        bad.symlink_to("/dev/zero")
    kg, docs = ([REBEL / "kg.nt"], [bad]) if role == "docs" else ([bad], [REBEL / "docs.jsonl"])
    with pytest.raises(SystemExit) as info:
        main(_argv(kg, docs, tmp_path / "corpus"))
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.startswith(f"kgtext build-corpus: error: --{role} {bad}: is a ")
    assert "not a regular file" in err and "Traceback" not in err
    assert not (tmp_path / "corpus").exists()


def test_a_file_name_that_is_not_utf8_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / os.fsdecode(b"d\xff.jsonl")).write_bytes((REBEL / "docs.jsonl").read_bytes())
    with pytest.raises(SystemExit) as info:  # before: UnicodeEncodeError inside Beam's Create
        main(_argv([REBEL / "kg.nt"], [folder], tmp_path / "corpus"))
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert err.startswith(
        f"kgtext build-corpus: error: --docs {folder}/d\\xff.jsonl: the file name is not valid UTF-8"
    )
