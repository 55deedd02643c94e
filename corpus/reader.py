"""Open a corpus directory: validated manifest, memory-mapped shards, cheap checks and full verification.

The trainer and ``kgtext inspect`` read shards only through :class:`CorpusReader`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from corpus.errors import CorpusError
from corpus.manifest import MANIFEST_NAME, Manifest, ShardInfo, load_manifest
from corpus.schemas import DATASETS
from corpus.sharding import SPLITS
from corpus.shards import read_shard, sha256_file


class Problem(NamedTuple):
    """One finding of :meth:`CorpusReader.verify`: a path and what is wrong with it."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class CorpusReader:
    """A corpus directory with a validated manifest. Shards are memory-mapped on demand."""

    def __init__(self, corpus_dir: str | Path) -> None:
        self.root = Path(corpus_dir)
        self.manifest: Manifest = load_manifest(self.root)

    def datasets(self) -> list[str]:
        """Datasets present in the manifest, in the canonical order."""
        return [name for name in DATASETS if name in self.manifest.datasets]

    def shards(self, dataset: str, split: str) -> list[ShardInfo]:
        return self.manifest.shards(dataset, split)

    def path_of(self, shard: ShardInfo) -> Path:
        return self.root / shard.path

    def tokenizer_path(self) -> Path:
        if self.manifest.tokenizer is None:
            raise CorpusError(str(self.root / MANIFEST_NAME), "has no tokenizer entry")
        return self.root / self.manifest.tokenizer.path

    def open_shard(self, dataset: str, shard: ShardInfo) -> pa.Table:
        """The shard as a memory-mapped Table, checked for byte size, schema and row count."""
        path = self.path_of(shard)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise CorpusError(str(path), "shard file is missing") from None
        if size != shard.bytes:
            raise CorpusError(
                str(path), f"is {size} bytes, manifest says {shard.bytes} (truncated or replaced?)"
            )
        return read_shard(path, dataset, expected_rows=shard.rows)

    def iter_tables(self, dataset: str, split: str) -> Iterator[pa.Table]:
        for shard in self.shards(dataset, split):
            yield self.open_shard(dataset, shard)

    def check(self) -> None:
        """Cheap start-up check: every shard exists with its byte size, schema and row count.

        Raises :class:`CorpusError` at the first problem. Does not re-hash (see :meth:`verify`).
        """
        for dataset in self.datasets():
            for split in SPLITS:
                for shard in self.shards(dataset, split):
                    self.open_shard(dataset, shard)
        tok = self.manifest.tokenizer
        if tok is not None and not (self.root / tok.path).is_file():
            raise CorpusError(str(self.root / tok.path), "tokenizer model is missing")

    def verify(self) -> list[Problem]:
        """Full verification: re-hash every shard and the tokenizer; find missing, extra or drifted shards."""
        problems: list[Problem] = []
        listed: set[str] = set()
        for dataset in self.datasets():
            for split in SPLITS:
                for shard in self.shards(dataset, split):
                    listed.add(shard.path)
                    problems.extend(self._verify_shard(dataset, shard))
        for dataset in DATASETS:
            folder = self.root / dataset
            if folder.is_dir():
                for path in sorted(folder.rglob("*.arrow")):
                    rel = path.relative_to(self.root).as_posix()
                    if rel not in listed:
                        problems.append(Problem(str(path), "extra shard not listed in the manifest"))
        tok = self.manifest.tokenizer
        if tok is not None:
            path = self.root / tok.path
            if not path.is_file():
                problems.append(Problem(str(path), "tokenizer model is missing"))
            elif sha256_file(path) != tok.sha256:
                problems.append(Problem(str(path), "tokenizer sha256 differs from the manifest"))
        return problems

    def _verify_shard(self, dataset: str, shard: ShardInfo) -> list[Problem]:
        path = self.path_of(shard)
        if not path.is_file():
            return [Problem(str(path), "shard file is missing")]
        found: list[Problem] = []
        if sha256_file(path) != shard.sha256:
            found.append(Problem(str(path), "sha256 differs from the manifest (corrupt or modified)"))
        try:
            self.open_shard(dataset, shard)
        except CorpusError as err:
            found.append(Problem(err.path, err.problem))
        return found
