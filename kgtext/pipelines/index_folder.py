"""A ``kgtext index-kg`` folder: its options, and reading and checking it for ``build-corpus --kg-index``.

Layout: ``manifest.json`` (``kind`` ``kg-index``, format version, inputs with size and sha256, the phase-0
options, statistics, every file with its sha256 and size), ``kg_index/`` (facts and names shards),
``lexicon/`` (the surface-form index, unless made with ``--lexicon-linking off``), ``dead_letters/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.kg_index import MAX_SHARDS, MIN_SHARDS, IndexFormatError, KgIndex, RowIndex
from kgtext.aligners.lexicon_index import INDEX_SCHEMA
from kgtext.common.dead_letters import DeadLetter
from kgtext.common.jsonl import iter_json_lines
from kgtext.corpus.manifest import KG_INDEX_KIND, MANIFEST_NAME
from kgtext.kg.config import KgConfig
from kgtext.pipelines.config import BuildConfig, LexiconLinking
from kgtext.pipelines.files import InputError
from kgtext.pipelines.kg_index import FACTS, NAMES, IndexFiles
from kgtext.pipelines.lexicon import INDEX_SHARDS, index_file
from kgtext.pipelines.phases import KG_INDEX_DIR, LEXICON_DIR
from kgtext.pipelines.report import file_sha256

INDEX_KIND = KG_INDEX_KIND
DEAD_LETTERS_DIR = "dead_letters"
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
    dead_letters: tuple[str, ...] = ()
    """The index's dead-letter files (listed, regular, checked), copied into a corpus built from it."""


def _index_error(root: str, problem: str) -> InputError:
    return InputError(f"--kg-index {root}: {problem}")


def _is_str_map(value: object, kind: type) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, kind) and not isinstance(v, bool) for k, v in value.items()
    )


def _shape_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with the shape of an index manifest (None when nothing): every field index-kg writes,
    with its type; the shard count within the bounds index-kg uses."""
    shards = manifest.get("index_shards")
    if not isinstance(shards, int) or isinstance(shards, bool) or not MIN_SHARDS <= shards <= MAX_SHARDS:
        return f"index_shards must be an integer in {MIN_SHARDS}..{MAX_SHARDS}, got {shards!r}"
    if not _is_str_map(manifest.get("files"), str):
        return "files must map relative paths to sha256 strings"
    if not _is_str_map(manifest.get("bytes"), int) or set(manifest["bytes"]) != set(manifest["files"]):
        return "bytes must give the size of every file of files"
    if not _is_str_map(manifest.get("statistics"), int):
        return "statistics must map names to integers"
    if not isinstance(manifest.get("options"), dict):
        return "options must be an object"
    inputs = manifest.get("inputs")
    if not isinstance(inputs, list) or not all(
        isinstance(e, dict)
        and isinstance(e.get("path"), str)
        and isinstance(e.get("sha256"), str)
        and isinstance(e.get("bytes"), int)
        for e in inputs
    ):
        return "inputs must be a list of {path, bytes, sha256}"
    return None


def _listed_file(root: str, rel: str) -> str | None:
    """Why ``rel`` (a path of the manifest) is not a file the index may name, or None: it must be a relative
    path inside one of the index's folders, a regular file, not a link."""
    parts = rel.split("/")
    if (
        rel.startswith("/")
        or "\\" in rel
        or any(part in ("", ".", "..") for part in parts)
        or len(parts) != 2
        or parts[0] not in (KG_INDEX_DIR, LEXICON_DIR, DEAD_LETTERS_DIR)
    ):
        return f"names {rel!r}, which is not a file of an index folder"
    try:
        mode = os.lstat(os.path.join(root, rel)).st_mode
    except FileNotFoundError:
        return f"{rel} is missing (the index is incomplete; make it again)"
    if not stat.S_ISREG(mode):
        return f"{rel} is not a regular file (links are refused)"
    return None


def read_index(root: str) -> KgIndexInfo:
    """The index at ``root`` (a local folder), read and checked before a build uses it; InputError naming
    the first problem: not an index, another format version, a malformed manifest, a file missing, added,
    a link, or of other content than the manifest's sha256, a look-up file of another schema, a dead letter
    that does not read as one. Nothing in it is trusted for more than reading inside ``root``."""
    path = os.path.join(root, MANIFEST_NAME)
    try:
        data = Path(path).read_bytes()
        manifest = json.loads(data)
    except FileNotFoundError:
        raise _index_error(root, f"has no {MANIFEST_NAME}; make one with kgtext index-kg") from None
    except (OSError, ValueError, RecursionError) as err:
        raise _index_error(root, f"cannot read its {MANIFEST_NAME} ({str(err)[:200]})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != INDEX_KIND:
        raise _index_error(root, "is not a KG index (its manifest.json is not one kgtext index-kg writes)")
    version = manifest.get("format_version")
    if version != INDEX_FORMAT_VERSION:
        raise _index_error(
            root,
            f"format version {version} is not {INDEX_FORMAT_VERSION}; make it again with kgtext index-kg",
        )
    problem = _shape_problem(manifest)
    if problem is not None:
        raise _index_error(root, f"its {MANIFEST_NAME} is malformed: {problem}")
    files: dict[str, str] = manifest["files"]
    sizes: dict[str, int] = manifest["bytes"]
    for rel in sorted(files):
        problem = _listed_file(root, rel)
        if problem is not None:
            raise _index_error(root, problem)
    present = {
        f"{folder}/{name}"
        for folder in (KG_INDEX_DIR, LEXICON_DIR, DEAD_LETTERS_DIR)
        if os.path.isdir(os.path.join(root, folder))
        for name in os.listdir(os.path.join(root, folder))
    }
    if extra := sorted(present - set(files)):
        raise _index_error(root, f"holds {extra[0]}, which its manifest does not list")
    for rel in sorted(files):
        size, sha = file_sha256(os.path.join(root, rel))
        if size != sizes[rel] or sha != files[rel]:
            raise _index_error(root, f"{rel} is not the file its manifest lists (other size or sha256)")
    info = KgIndexInfo(
        root,
        manifest["index_shards"],
        list(manifest["inputs"]),
        dict(manifest["options"]),
        dict(manifest["statistics"]),
        hashlib.sha256(data).hexdigest(),
        tuple(os.path.join(root, rel) for rel in sorted(files) if rel.startswith(DEAD_LETTERS_DIR + "/")),
    )
    _check_contents(info)
    return info


def _check_contents(info: KgIndexInfo) -> None:
    """Open every look-up file (schemas checked, nothing unpickled) and read every dead letter."""
    root = info.root
    forms = [index_file(os.path.join(root, LEXICON_DIR), i, INDEX_SHARDS) for i in range(INDEX_SHARDS)]
    files_of = IndexFiles(os.path.join(root, KG_INDEX_DIR), info.shards)
    try:
        KgIndex(files_of.paths(FACTS), files_of.paths(NAMES))
        if info.options.get("lexicon"):
            RowIndex(forms, INDEX_SCHEMA)
    except (IndexFormatError, FileNotFoundError) as err:
        raise _index_error(root, str(err).replace(root.rstrip("/") + "/", "")) from None
    for letters in info.dead_letters:
        try:
            with open(letters, "rb") as handle:
                for line in iter_json_lines(handle, letters):
                    DeadLetter(**line.value)
        except (ValueError, TypeError) as err:
            rel = os.path.relpath(letters, root)
            raise _index_error(root, f"{rel} does not hold dead letters ({str(err)[:200]})") from None


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
