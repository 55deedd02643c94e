"""``kgtext inspect``: the human table, decoded rows, --json, --verify and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgtext.corpus.inspect import main


def test_inspect_shows_table_statistics_and_highlighted_mentions(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([str(corpus_dir), "--examples", "1"])
    out = capsys.readouterr().out
    assert "aligned  train     1       1" in out
    assert "dlm      train     2       1" in out
    assert "mentions.date" in out
    assert '[Wilfried "Willi" Schneider]{link: Wilfried_%22Willi%22_Schneider}' in out
    assert '[13 March 1963]{date: "1963-03-13"^^<http://www.w3.org/2001/XMLSchema#date>}' in out
    assert "triple [allent] Wilfried_%22Willi%22_Schneider --P19--> Media%C8%99" in out


def test_inspect_json(corpus_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main([str(corpus_dir), "--json", "--verify"])
    payload = json.loads(capsys.readouterr().out)
    dlm = next(d for d in payload["datasets"] if d["dataset"] == "dlm")
    assert (dlm["rows"], dlm["tokens"], dlm["length_p50_p90_p99_max"]) == (2, 8, [3, 5, 5, 5])
    assert payload["verified"] is True


def test_verify_failure_exits_1_with_one_line_per_problem(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shard = corpus_dir / "dlm/train/part-00000-of-00001.arrow"
    data = bytearray(shard.read_bytes())
    data[-20] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(SystemExit) as exc:
        main([str(corpus_dir), "--verify"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "sha256 differs from the manifest" in err and "Traceback" not in err


@pytest.mark.parametrize("breakage", ["no_manifest", "truncated", "outside", "newer"])
def test_bad_corpus_gives_one_line_error(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str], breakage: str
) -> None:
    manifest = corpus_dir / "manifest.json"
    raw = json.loads(manifest.read_text())
    if breakage == "no_manifest":
        manifest.unlink()
    elif breakage == "truncated":
        shard = corpus_dir / "aligned/train/part-00000-of-00001.arrow"
        shard.write_bytes(shard.read_bytes()[:100])
    elif breakage == "outside":
        raw["datasets"]["aligned"]["train"][0]["path"] = "../x.arrow"
        manifest.write_text(json.dumps(raw))
    else:
        raw["format_version"] = 99
        manifest.write_text(json.dumps(raw))
    with pytest.raises(SystemExit) as exc:
        main([str(corpus_dir)])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("kgtext inspect: ")
    assert str(corpus_dir) in err
