"""``manifest.json``: what a corpus directory holds, how it was built, and how to check it.

The manifest is written last and atomically; a directory without one is an incomplete build. Readers
refuse manifests from a newer format version and shard paths that leave the corpus directory.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from kgtext.common.shape import ShapeError, parse_record
from kgtext.corpus.errors import CorpusError
from kgtext.corpus.schemas import DATASETS, FORMAT_VERSION
from kgtext.corpus.sharding import SPLITS
from kgtext.corpus.shards import write_local_atomic

MANIFEST_NAME = "manifest.json"
KG_INDEX_KIND = "kg-index"
"""The ``kind`` of a ``kgtext index-kg`` folder's manifest.json (a corpus manifest has none)."""


@dataclass(kw_only=True, slots=True)
class ShardInfo:
    """One shard file of one dataset split."""

    path: str
    """Path relative to the corpus directory, POSIX separators: ``kmlm/train/part-00000-of-00004.arrow``."""
    rows: int
    bytes: int
    tokens: int
    """Sum of ``num_tokens`` over the shard's rows (0 for ``aligned``)."""
    sha256: str


@dataclass(kw_only=True, slots=True)
class TokenizerInfo:
    """The SentencePiece model the token ids refer to."""

    path: str
    """Relative to the corpus directory, e.g. ``tokenizer/spm.model``."""
    vocab_size: int
    special_ids: dict[str, int]
    """``{"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, ...}``."""
    sha256: str
    first_normal_id: int | None = None
    """First id of an ordinary piece (after the special and byte pieces): the low end of the random
    replacement tokens of dynamic masking, so the trainer need not load the model. None in a manifest
    written before it was recorded (readers then load the model to learn it)."""


@dataclass(kw_only=True, slots=True)
class InputFile:
    """One input file of the build (KG or documents)."""

    path: str
    role: Literal["kg", "docs"]
    bytes: int
    sha256: str


@dataclass(kw_only=True, slots=True)
class Manifest:
    """Everything ``kgtext inspect`` and the trainer need to know about a corpus directory."""

    format_version: int = FORMAT_VERSION
    created_by: str = "kgtext"
    build_config: dict[str, Any] = field(default_factory=dict)
    """The full build configuration (kgtext options, seed, Beam runner) as plain JSON values."""
    inputs: list[InputFile] = field(default_factory=list)
    tokenizer: TokenizerInfo | None = None
    split_rule: dict[str, Any] = field(default_factory=dict)
    """How documents were assigned to splits, e.g. ``{"hash": "blake2b-64(split, doc_id)", "valid_fraction": 0.05}``."""
    datasets: dict[str, dict[str, list[ShardInfo]]] = field(default_factory=dict)
    """dataset -> split -> shards."""
    statistics: dict[str, int] = field(default_factory=dict)
    """Dotted counter names -> counts (documents read/dropped by reason, mentions by source, ...)."""
    files: dict[str, str] = field(default_factory=dict)
    """The corpus's other files, relative path -> sha256: the dataset card ``README.md`` and
    ``tokenizer/spm.vocab`` (checked by ``inspect --verify``, known to the ``--overwrite`` check)."""

    def to_json(self) -> str:
        """Stable, human-readable JSON (sorted statistics)."""
        data = asdict(self)
        data["statistics"] = dict(sorted(self.statistics.items()))
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def shards(self, dataset: str, split: str) -> list[ShardInfo]:
        """Shards of one dataset split (empty when the dataset or split is absent)."""
        return self.datasets.get(dataset, {}).get(split, [])


def _check_shard_path(source: str, dataset: str, split: str, rel: str) -> None:
    pure = PurePosixPath(rel)
    if pure.is_absolute() or rel.startswith(("/", "\\")) or ":" in pure.parts[0]:
        raise CorpusError(source, f"shard path {rel!r} is absolute; shard paths must be relative")
    if ".." in pure.parts or "\\" in rel:
        raise CorpusError(source, f"shard path {rel!r} points outside the corpus directory")
    if pure.parts[:2] != (dataset, split):
        raise CorpusError(source, f"shard path {rel!r} is not under {dataset}/{split}/")


def manifest_from_json(text: str, source: str) -> Manifest:
    """Parse and validate manifest JSON; ``source`` names the file in errors.

    The shape (keys, types, nesting) is checked against the dataclasses above by :mod:`kgtext.common.shape`;
    then the version, the dataset and split names and the paths are checked here.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise CorpusError(source, f"not valid JSON (line {err.lineno}: {err.msg})") from None
    if isinstance(raw, dict) and raw.get("kind") == KG_INDEX_KIND:
        raise CorpusError(
            source,
            "is a KG index made by kgtext index-kg, not a corpus; build one with kgtext build-corpus --kg-index",
        )
    if not isinstance(raw, dict) or not isinstance(raw.get("format_version"), int):
        raise CorpusError(source, "not a kgtext manifest (no integer format_version)")
    version = raw["format_version"]
    if version > FORMAT_VERSION:
        raise CorpusError(
            source,
            f"format version {version} is newer than this kgtext supports ({FORMAT_VERSION}); upgrade kgtext",
        )
    if version < FORMAT_VERSION:
        raise CorpusError(
            source, f"format version {version} is older than {FORMAT_VERSION}; rebuild the corpus"
        )
    try:
        manifest = parse_record(Manifest, raw)
    except ShapeError as err:
        raise CorpusError(source, f"malformed manifest: {err}") from None
    for dataset, splits in manifest.datasets.items():
        if dataset not in DATASETS:
            raise CorpusError(source, f"datasets.{dataset}: unknown dataset (known: {', '.join(DATASETS)})")
        for split, infos in splits.items():
            if split not in SPLITS:
                raise CorpusError(
                    source, f"datasets.{dataset}.{split}: unknown split (known: {', '.join(SPLITS)})"
                )
            for info in infos:
                _check_shard_path(source, dataset, split, info.path)
    tokenizer = manifest.tokenizer
    if tokenizer is not None and (
        ".." in PurePosixPath(tokenizer.path).parts or PurePosixPath(tokenizer.path).is_absolute()
    ):
        raise CorpusError(source, f"tokenizer path {tokenizer.path!r} points outside the corpus directory")
    for rel in manifest.files:
        pure = PurePosixPath(rel)
        if ".." in pure.parts or pure.is_absolute() or "\\" in rel or rel == MANIFEST_NAME:
            raise CorpusError(source, f"files: {rel!r} points outside the corpus directory")
    return manifest


def load_manifest(corpus_dir: str | Path) -> Manifest:
    """Read ``DIR/manifest.json``; a missing manifest means an incomplete (or no) build."""
    path = Path(corpus_dir) / MANIFEST_NAME
    if not Path(corpus_dir).is_dir():
        raise CorpusError(str(corpus_dir), "is not a directory")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CorpusError(str(path), "missing: not a kgtext corpus, or an incomplete build") from None
    except UnicodeDecodeError:
        raise CorpusError(str(path), "is not UTF-8 text") from None
    return manifest_from_json(text, str(path))


def write_manifest(corpus_dir: str | Path, manifest: Manifest) -> None:
    """Write ``DIR/manifest.json`` atomically (temporary name, then rename)."""
    write_local_atomic(Path(corpus_dir) / MANIFEST_NAME, manifest.to_json().encode("utf-8"))
