"""Sharded checkpoint folders (``torch.distributed.checkpoint``, DCP) -> tensors, read without running pickle.

A DCP folder, as the trainer writes it under FSDP (docs/TRAINING.md, "Sharded checkpoints under FSDP"), is::

    .metadata        DCP's index: which slice of which tensor is where (a pickle of DCP's dataclasses)
    __R_0.distcp     rank R's shards of every tensor (torch.save records, read with weights_only=True)

DCP reads ``.metadata`` with a plain ``pickle.load``. :class:`SafeFileSystemReader` unpickles it instead with an
allow-list of DCP's own index classes (plus ``torch.Size``, dtypes, layouts and paths), so a crafted folder
cannot run code, and refuses non-tensor entries, which DCP would read with ``torch.load(weights_only=False)``:
kgtext writes only tensors into a DCP folder. :func:`load_tensors` fills a dict of allocated tensors from
such a folder, in one process (``no_dist``) or collectively under a process group; DCP reshards, so the
folder's world size need not be the reader's. Every problem is a ValueError (or OSError) naming the folder,
never DCP's ``CheckpointException`` (a BaseException, which would escape every handler: a full disk while
saving was a traceback).
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.filesystem import FileSystemReader, FileSystemWriter
from torch.distributed.checkpoint.metadata import BytesStorageMetadata, Metadata, StorageMeta
from torch.distributed.checkpoint.state_dict_loader import load as dcp_load
from torch.distributed.checkpoint.state_dict_saver import save as dcp_save

METADATA = ".metadata"
"""DCP's index file inside a sharded folder."""

_ALLOWED_GLOBALS = frozenset(
    {
        *(
            ("torch.distributed.checkpoint.metadata", name)
            for name in (
                "Metadata",
                "MetadataIndex",
                "StorageMeta",
                "TensorStorageMetadata",
                "BytesStorageMetadata",
                "ChunkStorageMetadata",
                "TensorProperties",
                "_MEM_FORMAT_ENCODING",
            )
        ),
        ("torch.distributed.checkpoint.filesystem", "_StorageInfo"),
        ("torch", "Size"),
        ("torch.serialization", "_get_layout"),
        ("pathlib", "PosixPath"),
        ("pathlib", "PurePosixPath"),
        ("pathlib", "WindowsPath"),
        ("pathlib", "PureWindowsPath"),
        ("collections", "OrderedDict"),
    }
)
"""What a DCP ``.metadata`` pickle may name (found by listing the globals of the ones torch 2.13 writes)."""


class _MetadataUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that only resolves :data:`_ALLOWED_GLOBALS` and ``torch`` dtypes."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS or (
            module == "torch" and isinstance(getattr(torch, name, None), torch.dtype)
        ):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a DCP {METADATA}")


class SafeFileSystemReader(FileSystemReader):
    """DCP's file-system reader with an allow-listed ``.metadata`` unpickler and tensor entries only."""

    # No **kwargs (DCP's has them for per-rank index files): DCP then never falls back to those.
    def read_metadata(self) -> Metadata:
        path = Path(os.fspath(self.path)) / METADATA
        with open(path, "rb") as handle:
            try:
                metadata = _MetadataUnpickler(handle).load()
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError) as err:
                raise ValueError(f"{path}: not a readable DCP index ({err})") from None
        if not isinstance(metadata, Metadata):
            raise ValueError(f"{path}: not a DCP index (got {type(metadata).__name__})")
        values = [k for k, v in metadata.state_dict_metadata.items() if isinstance(v, BytesStorageMetadata)]
        if values:
            raise ValueError(
                f"{path}: holds non-tensor entries ({values[0]!r}, ...); kgtext writes tensors only"
            )
        if metadata.storage_meta is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata


def load_tensors(state: dict[str, Any], folder: str | os.PathLike[str], *, distributed: bool = False) -> None:
    """Fill the allocated tensors of ``state`` (nested dicts allowed) in place from DCP folder ``folder``.

    Keys are matched by their dotted path; the folder may hold more keys than ``state`` asks for (a model
    is read from a folder that also holds optimizer state). ``distributed=False`` reads in this process
    alone, with or without a process group; ``True`` is collective (every rank calls it).
    """
    reader = SafeFileSystemReader(folder)
    reader.read_metadata()  # a bad index fails here, with its own message, not inside DCP's collective
    with warnings.catch_warnings():
        # DCP warns that it "assumes the intent is to load in a single process": that is the intent.
        warnings.filterwarnings("ignore", message=".*assuming the intent is to load in a single process")
        try:
            dcp_load(state, storage_reader=reader, no_dist=not distributed)
        except CheckpointException as err:  # a BaseException carrying each failed rank's exception
            rank, (first, _) = next(iter(err.failures.items()))
            raise ValueError(f"{folder}: rank {rank}: {type(first).__name__}: {first}") from None


def stored_keys(folder: str | os.PathLike[str]) -> frozenset[str]:
    """The dotted keys of every tensor in DCP folder ``folder`` (from its index)."""
    return frozenset(SafeFileSystemReader(folder).read_metadata().state_dict_metadata)


def save_tensors(state: dict[str, Any], folder: str | os.PathLike[str]) -> None:
    """Write ``state`` (tensors or DTensors, nested dicts allowed) as DCP folder ``folder`` (collective)."""
    leaves: list[tuple[str, Any]] = []
    _leaves(state, "", leaves)
    bad = [key for key, value in leaves if not isinstance(value, torch.Tensor)]
    if bad:
        raise ValueError(f"sharded state must hold tensors only; {bad[0]!r} is not one")
    with warnings.catch_warnings():
        # Without a process group DCP warns that it saves "in a single process": that is the intent.
        warnings.filterwarnings("ignore", message=".*assuming the intent is to save in a single process")
        try:
            dcp_save(state, storage_writer=FileSystemWriter(folder))
        except CheckpointException as err:  # a BaseException: a full disk would escape every handler
            rank, (first, _) = next(iter(err.failures.items()))
            if isinstance(first, OSError):  # keep errno (ENOSPC ...) for the caller's one-line message
                raise OSError(
                    first.errno, f"rank {rank}: {first.strerror or first}", os.fspath(folder)
                ) from None
            raise ValueError(f"{folder}: rank {rank}: {type(first).__name__}: {first}") from None


def _leaves(value: Any, prefix: str, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _leaves(item, f"{prefix}{key}.", out)
    else:
        out.append((prefix.rstrip("."), value))
