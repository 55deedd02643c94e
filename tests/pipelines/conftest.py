"""Shared helpers of the build-corpus tests: fixture paths, a small build, and byte snapshots of a corpus."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from kgtext.corpus.manifest import Manifest, load_manifest
from kgtext.pipelines.build_corpus import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pipelines"
REDOCRED = FIXTURES / "redocred"
REBEL = FIXTURES / "rebel"

SMALL = ["--vocab-size", "1000", "--num-shards", "2", "--valid-fraction", "0.2", "--log-examples", "2"]
"""Options that keep fixture builds fast: a small vocabulary, two shards, a valid split that is not empty."""


def build(
    out: Path, kg: Sequence[Path | str], docs: Sequence[Path | str], *extra: str, small: bool = True
) -> Manifest:
    """Run ``kgtext build-corpus`` in-process and return the manifest it wrote."""
    argv = [
        "--kg",
        *map(str, kg),
        "--docs",
        *map(str, docs),
        "--out",
        str(out),
        *(SMALL if small else []),
        *extra,
    ]
    main(argv)
    return load_manifest(out)


def corpus_digests(root: Path) -> dict[str, str]:
    """sha256 of every file of a corpus except the manifest (whose build_config names the runner)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


@pytest.fixture(scope="session")
def redocred_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One in-process DirectRunner build of the Re-DocRED fixture, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("redocred") / "corpus"
    build(out, [REDOCRED / "kg.ttl"], [REDOCRED / "docs.jsonl"])
    return out
