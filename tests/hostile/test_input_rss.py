"""Peak memory of a build with hostile document inputs (issue 25, case 6): within 512 MB of the same build
without them. Before: a ``.txt``/``.json`` was read whole (``/dev/zero``: 8 GiB in 20 s), a 7 MB
``.jsonl.gz`` expanding to 1 GB peaked at 7.2 GB. Slow (two builds, about a minute): ``make test-all``."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipelines.conftest import REBEL, SMALL

BOUND = 512 * 1024 * 1024
WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "sys.stderr.write(done.stderr.decode(errors='replace')[-2000:])\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n"
)


def _peak_rss(docs: list[Path], out: Path) -> int:
    """Peak RSS (bytes) of one DirectRunner build in a fresh process; fails on a non-zero exit."""
    cmd = [sys.executable, "-m", "kgtext.pipelines.build_corpus", "--kg", str(REBEL / "kg.nt"), "--docs",
           *map(str, docs), "--out", str(out), *SMALL, "--vocab-size", "600"]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, check=True)
    code, peak = done.stdout.split()
    assert code == "0", done.stderr
    return int(peak)


def _hostile_inputs(folder: Path) -> list[Path]:
    folder.mkdir()
    txt = folder / "huge.txt"
    with open(txt, "wb") as handle:
        handle.truncate(1 << 30)  # 1 GiB of NUL characters (sparse): one too_large dead letter
    big = folder / "trex.json"
    with open(big, "wb") as handle:  # a 256 MiB record between two small ones, streamed and skipped
        handle.write(b'[{"id": "j1", "text": "Small."}, {"id": "j2", "text": "')
        for _ in range(256):
            handle.write(b"y" * (1 << 20))
        handle.write(b'"}, {"id": "j3", "text": "Small too."}]')
    bomb = folder / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as handle:  # one 1 GiB line: ~1 MB on disk
        handle.write(b'{"id": "b", "text": "')
        for _ in range(1024):
            handle.write(b"a" * (1 << 20))
        handle.write(b'"}\n')
    long_docs = folder / "long.jsonl.gz"
    with gzip.open(long_docs, "wb", compresslevel=1) as handle:  # 64 documents of 15 MiB: 960 MiB of text
        for k in range(64):
            handle.write(json.dumps({"id": f"long{k}", "text": "word " * (3 << 20)}).encode() + b"\n")
    return [txt, big, bomb, long_docs]


@pytest.mark.slow
def test_hostile_documents_cost_less_than_512_mb(tmp_path: Path) -> None:
    baseline = _peak_rss([REBEL / "docs.jsonl"], tmp_path / "base")
    hostile = _peak_rss([REBEL / "docs.jsonl", *_hostile_inputs(tmp_path / "inputs")], tmp_path / "hostile")
    assert hostile - baseline < BOUND, (
        f"baseline {baseline / 2**20:.0f} MiB, hostile {hostile / 2**20:.0f} MiB"
    )
