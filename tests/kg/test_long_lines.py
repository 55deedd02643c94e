"""Lines above ``max_line_bytes`` (issue 11, case 6): a ``too_large`` dead letter with the line number, the
lines around it kept, and memory bounded by the limit, not by the line."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from pathlib import Path

from kgtext.common.dead_letters import DeadLetter
from kgtext.common.lines import LongLine, bounded_lines, skip_to_line_start
from kgtext.kg.config import KgConfig
from kgtext.kg.readers import read_kg_file, read_kg_items
from kgtext.kg.records import LinesRead
from tests.kg.test_readers import REBEL

LIMIT = KgConfig(max_line_bytes=4096)
JUNK = b"<http://www.wikidata.org/entity/Q1> " + b"x" * 300_000 + b"\n"


def _with_long_line(at: int) -> bytes:
    lines = REBEL.read_bytes().splitlines(keepends=True)
    return b"".join(lines[:at] + [JUNK] + lines[at:])


def test_bounded_lines_skip_a_long_line_and_resynchronise() -> None:
    stream = io.BytesIO(b"a\n" + b"b" * 100 + b"\nc\n")
    assert list(bounded_lines(stream, 10)) == [b"a\n", LongLine(b"b" * 11, 101), b"c\n"]


def test_a_range_inside_one_long_line_owns_nothing_and_reads_no_further() -> None:
    stream = io.BytesIO(b"a\n" + b"b" * 5_000_000 + b"\nc\n")
    assert skip_to_line_start(stream, 1000, 2000) == 2000
    assert stream.tell() == 2000


def test_a_long_line_is_a_dead_letter_and_its_neighbours_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "long.nt"
    path.write_bytes(_with_long_line(7))
    expected = [r for r in read_kg_file(str(REBEL), LIMIT)]
    records = list(read_kg_file(str(path), LIMIT))
    dead = [r for r in records if isinstance(r, DeadLetter)]
    assert [(d.line, d.reason) for d in dead] == [(8, "too_large")]
    assert dead[0].excerpt.startswith("line of 300037 bytes exceeds max_line_bytes=4096; it starts b'<http")
    assert [r for r in records if not isinstance(r, DeadLetter)] == expected


def test_byte_ranges_across_a_long_line_keep_every_other_line(tmp_path: Path) -> None:
    path = tmp_path / "long.nt"
    path.write_bytes(_with_long_line(7))
    size = path.stat().st_size
    ranged = [
        r
        for s in range(0, size, 20_000)
        for r in read_kg_items(str(path), LIMIT, start=s, end=min(s + 20_000, size))
    ]
    dead = [r for r in ranged if isinstance(r, DeadLetter)]
    assert [(d.line, d.reason) for d in dead] == [(8, "too_large")]
    assert sum(r.lines for r in ranged if isinstance(r, LinesRead)) == 51
    assert len([r for r in ranged if not isinstance(r, (DeadLetter, LinesRead))]) == 50


def test_a_small_gz_expanding_to_one_long_line_is_one_dead_letter(tmp_path: Path) -> None:
    path = tmp_path / "bomb.nt.gz"
    path.write_bytes(gzip.compress(b"<" * 20_000_000))
    (dead, lines_read) = list(read_kg_items(str(path), LIMIT))
    assert isinstance(dead, DeadLetter) and (dead.line, dead.reason) == (1, "too_large")
    assert lines_read == LinesRead(str(path), 1)


def _peak_rss_kib(args: list[str]) -> int:
    """Peak RSS of ``python -m kgtext <args>`` in a fresh child (ru_maxrss of the waited-for child)."""
    code = (
        "import resource, subprocess, sys; "
        "subprocess.run([sys.executable, '-m', 'kgtext', *sys.argv[1:]], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return int(done.stdout.strip())


def test_kg_stats_memory_does_not_grow_with_a_newline_free_file(tmp_path: Path) -> None:
    small, big = tmp_path / "small.nt", tmp_path / "big.nt"
    small.write_bytes(b"x" * 1000)
    with open(big, "wb") as handle:
        handle.truncate(48 * 1024 * 1024)  # 48 MiB of NUL bytes, no newline (as `truncate -s`)
    flags = ["--max-line-bytes", str(1 << 20), "--json"]
    base = _peak_rss_kib(["kg-stats", str(small), *flags])
    peak = _peak_rss_kib(["kg-stats", str(big), *flags])
    assert peak - base < 16 * 1024, (base, peak)
