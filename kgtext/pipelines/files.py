# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""File access through Beam's FileSystems: input expansion, atomic writes, the temporary output directory.

Every read, write and rename goes through :class:`apache_beam.io.filesystems.FileSystems`, so inputs and
``--out`` may be ``gs://``, ``s3://`` or ``hdfs://`` paths on a runner that has those filesystems.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from apache_beam.io.filesystem import BeamIOError
from apache_beam.io.filesystems import FileSystems

from kgtext.corpus.replace import BUILD_MARKER, remove_folder

logger = logging.getLogger(__name__)


class InputError(ValueError):
    """An input or output path the build cannot use; the message names the path."""


def _is_local(path: str) -> bool:
    return "://" not in path


def _has_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def _list_directory(path: str) -> list[str]:
    pattern = FileSystems.join(path.rstrip("/"), "**")
    found = [m.path for result in FileSystems.match([pattern]) for m in result.metadata_list]
    return [p for p in found if not os.path.basename(p).startswith(".")]


def expand_inputs(patterns: Sequence[str], role: str) -> list[str]:
    """Files named by paths, globs or directories: patterns in the order given, each one's matches sorted,
    a file named twice kept at its first place (this order decides which of two documents sharing an id
    is kept); a pattern matching nothing is an error."""
    files: dict[str, None] = {}
    for pattern in patterns:
        if _is_local(pattern) and not _has_glob(pattern) and os.path.isdir(pattern):
            found = _list_directory(pattern)
        else:
            try:
                results = FileSystems.match([pattern])
            except BeamIOError as err:
                raise InputError(f"--{role} {pattern}: cannot list ({err})") from None
            found = [m.path for result in results for m in result.metadata_list]
            if not _has_glob(pattern) and not found and _is_local(pattern) and not os.path.exists(pattern):
                raise InputError(f"--{role} {pattern}: no such file or directory")
        if not found:
            raise InputError(f"--{role} {pattern}: matches no file")
        files.update(dict.fromkeys(sorted(found)))
    return list(files)


def read_bytes(path: str) -> bytes:
    """The whole (raw, still compressed) content of a file."""
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        data: bytes = handle.read()
    return data


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary sibling name, then rename it onto ``path``."""
    write_atomic_with(path, lambda handle: handle.write(data))


T = TypeVar("T")


def write_atomic_with(path: str, fill: Callable[[Any], T]) -> T:
    """Let ``fill`` stream into a temporary sibling of ``path`` (a ``FileSystems`` handle), then rename it onto
    ``path``; returns what ``fill`` returned. A failure leaves ``path`` as it was."""
    parent, name = os.path.split(path) if _is_local(path) else path.rsplit("/", 1)
    tmp = FileSystems.join(parent, f".{name}.tmp-{uuid.uuid4().hex[:12]}")
    if _is_local(path):
        os.makedirs(parent, exist_ok=True)
    with FileSystems.create(tmp, compression_type="uncompressed") as handle:
        result = fill(handle)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])
    return result


def temporary_sibling(out: str, tag: str) -> str:
    """A fresh hidden sibling of ``out``: ``<parent>/.<name>.<tag>-<random>``."""
    clean = out.rstrip("/")
    parent, name = os.path.split(clean) if _is_local(clean) else clean.rsplit("/", 1)
    return FileSystems.join(parent or ".", f".{name}.{tag}-{uuid.uuid4().hex[:12]}")


def check_output(out: str, overwrite: bool) -> None:
    """Refuse an output path that is a file, or an existing directory without ``overwrite``."""
    if _is_local(out):
        if os.path.isfile(out) or (os.path.exists(out) and not os.path.isdir(out)):
            raise InputError(f"--out {out}: is a file, not a directory")
        if os.path.isdir(out) and os.listdir(out) and not overwrite:
            raise InputError(f"--out {out}: already exists; pass --overwrite to replace it")
    elif FileSystems.exists(out.rstrip("/") + "/manifest.json") and not overwrite:
        raise InputError(f"--out {out}: already holds a corpus; pass --overwrite to replace it")


def remove_tree(path: str) -> None:
    """Delete a directory tree (best effort for local paths; FileSystems for the others).

    A local build folder loses its kgtext marker last (:func:`kgtext.corpus.replace.remove_folder`), so a removal
    cut short leaves a folder the next build still recognises and removes.
    """
    if _is_local(path):
        if (
            os.path.isdir(path)
            and not os.path.islink(path)
            and os.path.isfile(os.path.join(path, BUILD_MARKER))
        ):
            try:
                remove_folder(path)
            except OSError as err:  # its marker is still there: the next build removes the rest
                logger.warning("%s: could not remove it completely (%s)", path, err)
            return
        shutil.rmtree(path, ignore_errors=True)
        return
    if FileSystems.exists(path):
        FileSystems.delete([path])


def move_into_place(tmp: str, out: str, pending_manifest: str) -> None:
    """Object stores: replace ``out`` by the finished ``tmp`` directory, file by file, the manifest last.

    A directory cannot be renamed there, so this is not crash-safe (docs/PIPELINE.md); local outputs use
    the journalled :func:`kgtext.corpus.replace.replace_directory` instead.
    """
    remove_tree(out)
    root = tmp.rstrip("/")
    files = [m.path for r in FileSystems.match([FileSystems.join(root, "**")]) for m in r.metadata_list]
    pending = f"{root}/{pending_manifest}"
    for src in sorted(p for p in files if p != pending):
        FileSystems.rename([src], [out.rstrip("/") + src[len(root) :]])
    FileSystems.rename([pending], [f"{out.rstrip('/')}/manifest.json"])
    remove_tree(tmp)
