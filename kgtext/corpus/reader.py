"""Open a corpus directory: validated manifest, memory-mapped shards, cheap checks and full verification.

The trainer and ``kgtext inspect`` read shards only through :class:`CorpusReader`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from kgtext.corpus.errors import CorpusError
from kgtext.corpus.manifest import MANIFEST_NAME, Manifest, ShardInfo, load_manifest
from kgtext.corpus.schemas import DATASETS
from kgtext.corpus.sharding import SPLITS
from kgtext.corpus.shards import check_token_ids, read_shard, sha256_file


class Problem(NamedTuple):
    """One finding of :meth:`CorpusReader.verify`: a path and what is wrong with it."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class FileIdentity(NamedTuple):
    """What a file was when it was opened: a rename onto its path or a rewrite changes it."""

    device: int
    inode: int
    size: int
    mtime_ns: int


class CorpusReader:
    """A corpus directory with a validated manifest. Shards are memory-mapped on demand."""

    def __init__(self, corpus_dir: str | Path) -> None:
        self.root = Path(corpus_dir)
        self.manifest: Manifest = load_manifest(self.root)
        self._opened: dict[str, FileIdentity] = {}
        """Shards already opened and validated, by manifest path: what the file was at the time."""

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
        """The shard as a memory-mapped Table, checked for byte size, schema and row count.

        The first time a file is opened every buffer is validated and the token ids are range-checked
        (a corrupt shard is a :class:`CorpusError`, never a crash). A file that changed since this reader
        last opened it (the corpus was rebuilt or replaced under a running job) is re-hashed: it is only
        accepted when its sha256 is still the one in the manifest this reader started with.
        """
        path = self.path_of(shard)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise CorpusError(str(path), "shard file is missing") from None
        if stat.st_size != shard.bytes:
            raise CorpusError(
                str(path), f"is {stat.st_size} bytes, manifest says {shard.bytes} (truncated or replaced?)"
            )
        identity = FileIdentity(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        seen = self._opened.get(shard.path)
        if seen is not None and seen != identity and sha256_file(path) != shard.sha256:
            raise CorpusError(
                str(path),
                "changed since this job opened the corpus: sha256 differs from the manifest it started "
                "with (was the corpus rebuilt or replaced?)",
            )
        fresh = seen != identity
        table = read_shard(path, dataset, expected_rows=shard.rows, validate=fresh)
        if fresh:
            check_token_ids(table, self.vocab_size(), str(path))
        self._opened[shard.path] = identity
        return table

    def vocab_size(self) -> int:
        """The tokenizer's vocabulary size from the manifest (no limit when there is no tokenizer entry)."""
        tok = self.manifest.tokenizer
        return tok.vocab_size if tok is not None else 2**31 - 1

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
        for rel, digest in sorted(self.manifest.files.items()):
            path = self.root / rel
            if not path.is_file():
                problems.append(Problem(str(path), "listed in the manifest's files but missing"))
            elif sha256_file(path) != digest:
                problems.append(Problem(str(path), "sha256 differs from the manifest"))
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
