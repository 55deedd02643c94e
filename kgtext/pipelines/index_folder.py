"""A ``kgtext index-kg`` folder: its options, and reading and checking it for ``build-corpus --kg-index``.

Layout: ``manifest.json`` (``kind`` ``kg-index``, format version, inputs with size and sha256, the phase-0
options, statistics, every file with its sha256 and size), ``kg_index/`` (facts and names shards),
``lexicon/`` (the surface-form index, unless made with ``--lexicon-linking off``), ``dead_letters/``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.kg_index import IndexFormatError, KgIndex
from kgtext.corpus.manifest import KG_INDEX_KIND, MANIFEST_NAME
from kgtext.kg.config import KgConfig
from kgtext.pipelines.config import BuildConfig, LexiconLinking
from kgtext.pipelines.files import InputError
from kgtext.pipelines.kg_index import FACTS, NAMES, IndexFiles
from kgtext.pipelines.lexicon import INDEX_SHARDS, index_file
from kgtext.pipelines.phases import KG_INDEX_DIR, LEXICON_DIR
from kgtext.pipelines.report import file_sha256

INDEX_KIND = KG_INDEX_KIND
INDEX_FORMAT_VERSION = 1
"""Version of the index folder's layout and files; an index of another version is refused in one line."""


def index_options(kg: KgConfig, aligner: AlignerConfig, linking: LexiconLinking) -> dict[str, Any]:
    """The options phase 0's files depend on: an index made with others cannot serve a build."""
    return {
        "languages": list(kg.languages),
        "max_line_bytes": kg.max_line_bytes,
        "min_name_chars": aligner.min_name_chars,
        "lexicon": linking is not LexiconLinking.OFF,
    }


def build_options(config: BuildConfig) -> dict[str, Any]:
    """:func:`index_options` of a build's configuration."""
    return index_options(config.kg, config.aligner, config.lexicon_linking)


class KgIndexInfo(NamedTuple):
    """A ``kgtext index-kg`` folder, read and checked."""

    root: str
    shards: int
    inputs: list[dict[str, Any]]
    """``{"path", "bytes", "sha256"}`` of each KG file it was made from."""
    options: dict[str, Any]
    statistics: dict[str, int]
    manifest_sha256: str
    """The identity a corpus manifest records."""


def _index_error(root: str, problem: str) -> InputError:
    return InputError(f"--kg-index {root}: {problem}")


def read_index(root: str) -> KgIndexInfo:
    """The index at ``root`` (a local folder); InputError naming the first problem (not an index, another
    format version, a file missing or of another size)."""
    path = os.path.join(root, MANIFEST_NAME)
    try:
        data = Path(path).read_bytes()
        manifest = json.loads(data)
    except FileNotFoundError:
        raise _index_error(root, f"has no {MANIFEST_NAME}; make one with kgtext index-kg") from None
    except (OSError, ValueError) as err:
        raise _index_error(root, f"cannot read its {MANIFEST_NAME} ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != INDEX_KIND:
        raise _index_error(root, "is not a KG index (its manifest.json is not one kgtext index-kg writes)")
    version = manifest.get("format_version")
    if version != INDEX_FORMAT_VERSION:
        raise _index_error(
            root,
            f"format version {version} is not {INDEX_FORMAT_VERSION}; make it again with kgtext index-kg",
        )
    try:
        files: Mapping[str, Any] = manifest["files"]
        sizes: Mapping[str, Any] = manifest["bytes"]
        info = KgIndexInfo(
            root,
            int(manifest["index_shards"]),
            list(manifest["inputs"]),
            dict(manifest["options"]),
            {str(k): int(v) for k, v in manifest["statistics"].items()},
            hashlib.sha256(data).hexdigest(),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise _index_error(root, f"its {MANIFEST_NAME} lacks or garbles {err}") from None
    for rel in sorted(files):
        where = os.path.join(root, rel)
        if not os.path.isfile(where):
            raise _index_error(root, f"{rel} is missing (the index is incomplete; make it again)")
        if os.path.getsize(where) != sizes.get(rel):
            raise _index_error(
                root, f"{rel} has {os.path.getsize(where):,} bytes, the manifest says {sizes.get(rel)}"
            )
    if info.options.get("lexicon"):
        for shard in range(INDEX_SHARDS):
            form_file = index_file(os.path.join(root, LEXICON_DIR), shard, INDEX_SHARDS)
            if not os.path.isfile(form_file):
                raise _index_error(
                    root, f"{os.path.relpath(form_file, root)} is missing (the index is incomplete)"
                )
    files_of = IndexFiles(os.path.join(root, KG_INDEX_DIR), info.shards)
    try:
        KgIndex(files_of.paths(FACTS), files_of.paths(NAMES))
    except (IndexFormatError, FileNotFoundError) as err:
        raise _index_error(root, str(err).replace(root.rstrip("/") + "/", "")) from None
    return info


def check_index_fits(info: KgIndexInfo, config: BuildConfig, kg_files: Sequence[str]) -> None:
    """InputError when the index cannot serve this build: other phase-0 options, no surface-form index for
    plain-text linking, or (with ``--kg`` too) other KG files than it was made from."""
    wanted = build_options(config)
    if not wanted["lexicon"]:  # a build without plain-text linking can use an index with or without it
        wanted["lexicon"] = info.options.get("lexicon")
    differ = [
        f"{k} {info.options.get(k)!r} (this build: {v!r})"
        for k, v in wanted.items()
        if info.options.get(k) != v
    ]
    if differ:
        raise _index_error(info.root, "was made with other phase-0 options: " + "; ".join(differ))
    if kg_files:
        given = sorted(file_sha256(path)[1] for path in kg_files)
        made = sorted(str(entry.get("sha256")) for entry in info.inputs)
        if given != made:
            raise _index_error(
                info.root,
                f"was made from other KG files than --kg ({len(made)} file(s) with other contents); "
                "drop --kg or make the index from these files",
            )
