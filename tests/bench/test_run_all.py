"""``make bench`` with ``--only``: the named sections are replaced, the others kept as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run_all

EARLIER = """# kgtext benchmark results

- date: 2026-12-03 07:54 UTC
- commit: 5db9868

## Aligner throughput (kgtext/aligners/)

| a | b |

_bench_align took 8 s._

## Scale bad inputs (bench_bad_scale)

rows

_bench_bad_scale took 115 s._

_bench_bad_scale took 115 s._

## kg: streaming N-Triples parse

kg rows

_bench_kg took 30 s at commit 5db9868._
"""


def test_sections_split_at_their_trailers() -> None:
    sections = run_all.split_sections(EARLIER)
    assert list(sections) == ["bench_align", "bench_bad_scale", "bench_kg"]
    assert (
        sections["bench_bad_scale"]
        == "## Scale bad inputs (bench_bad_scale)\n\nrows\n\n_bench_bad_scale took 115 s._\n"
    )
    assert sections["bench_kg"].endswith("_bench_kg took 30 s at commit 5db9868._\n")


def test_only_replaces_its_own_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text(EARLIER, encoding="utf-8")
    monkeypatch.setattr(run_all, "run_one", lambda name: (f"## {name} again\n\nnew rows\n", 3.0))
    monkeypatch.setattr(run_all, "git_commit", lambda: "abc1234")
    run_all.main(["--only", "bench_kg", "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert "## Aligner throughput (kgtext/aligners/)\n\n| a | b |\n\n_bench_align took 8 s._\n" in text
    assert (
        "kg rows" not in text
        and "## bench_kg again\n\nnew rows\n\n_bench_kg took 3 s at commit abc1234._" in text
    )
    assert "the sections bench_kg; each section names the commit it ran at" in text
    assert run_all.split_sections(text).keys() == {"bench_align", "bench_bad_scale", "bench_kg"}


def test_every_profiled_stage_names_a_function_that_exists() -> None:
    """bench_pipeline's per-stage table reads cProfile rows by ``parent/file.py:function``; a key naming
    nothing would print 0.0 s for its stage (the shard-encoding row once did)."""
    from bench.bench_pipeline import STAGES

    root = Path(__file__).resolve().parents[2] / "kgtext"
    for _, key in STAGES:
        rel, function = key.split(":")
        assert rel.count("/") == 1, key  # the profile's key: the file and its folder
        matches = [p for p in root.rglob(Path(rel).name) if p.as_posix().endswith("/" + rel)]
        assert len(matches) == 1, key
        text = matches[0].read_text(encoding="utf-8")
        assert f"def {function}(" in text, key
