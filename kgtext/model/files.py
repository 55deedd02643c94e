"""Files of the model layer on the local disk: torch files read and written with one-line errors.

- :func:`read_torch_file` is ``torch.load(weights_only=True)`` whose every failure (a pickle naming a
  global, a truncated zip, a text file, which torch reports as a KeyError) is one ValueError line naming
  the file.
- :func:`save_torch_file` is ``torch.save`` whose failed write is a :class:`WriteError` naming the file and,
  on a full disk, the free space of its file system. torch reports a full disk as a RuntimeError
  ("unexpected pos ...") that does not say so: the OSError behind it is recorded on the way and raised.
- :func:`write_text_atomic` writes a text file through a temporary file and a rename, with the same errors.
"""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import stat
from typing import Any

import torch

READ_ERRORS = (
    pickle.UnpicklingError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    ImportError,
    UnicodeDecodeError,
    OverflowError,
)
"""What ``torch.load`` raises on a file that is not a readable torch file (a text file gives a KeyError)."""


def _error_summary(err: BaseException) -> str:
    """One line of a (possibly many-line) torch.load error: the refused global, else its first line."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    line = next((ln for ln in lines if "GLOBAL" in ln), lines[0] if lines else "")
    return f"{type(err).__name__}: {line[:300]}"


def read_torch_file(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; every failure is a one-line ValueError naming the file
    (a pickle naming a global, a truncated zip, a text file ...)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"{os.fspath(path)}: no such file") from None
    except READ_ERRORS as err:
        raise ValueError(
            f"{os.fspath(path)}: not a kgtext checkpoint file of plain tensors and values ({_error_summary(err)})"
        ) from None


class WriteError(OSError):
    """A file could not be written (disk full, no permission); the message names the path, the reason
    and the free space of its file system. Temporary files are already removed."""


def free_space(path: str | os.PathLike[str]) -> str:
    """``12.3 MiB free in FOLDER``: the free space of the nearest existing folder holding ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    try:
        free = float(shutil.disk_usage(folder).free)
    except OSError:
        return f"free space unknown in {folder}"
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    while free >= 1024 and len(units) > 1:
        free /= 1024
        units.pop(0)
    amount = f"{free:.0f} B" if units[0] == "B" else f"{free:.1f} {units[0]}"
    return f"{amount} free in {folder}"


def write_error(path: str | os.PathLike[str], err: OSError) -> WriteError:
    """The one-line :class:`WriteError` of a failed write of ``path``: a full disk (or quota) says so with the
    free space, any other failure its reason."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        text = f"{os.fspath(path)}: no space left on the device ({free_space(path)})"
    else:
        text = f"{os.fspath(path)}: cannot write it ({err.strerror or err})"
    out = WriteError(text)
    out.errno = err.errno
    return out


class _RecordingWriter:
    """A binary file for ``torch.save`` that keeps the OSError of a failed write: torch turns it into a
    RuntimeError ("unexpected pos ...") that does not say the disk is full."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return int(self.handle.write(data))
        except OSError as err:
            self.error = err
            raise

    def flush(self) -> None:
        self.handle.flush()


def save_torch_file(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj, path)``; a failed write is a :class:`WriteError` naming the path and the free
    space. ``path`` should be a temporary name: removing what is left of it is the caller's job."""
    try:
        with open(path, "wb") as handle:
            writer = _RecordingWriter(handle)
            try:
                torch.save(obj, writer)  # type: ignore[arg-type]
            except RuntimeError:
                if writer.error is None:
                    raise
                raise writer.error from None
            handle.flush()
    except OSError as err:
        raise write_error(path, err) from None


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename; a failed write is a
    :class:`WriteError` and leaves neither the temporary file nor a partial ``path``."""
    tmp = f"{os.fspath(path)}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as err:
        remove_temporary(tmp)
        raise write_error(path, err) from None


def remove_temporary(path: str | os.PathLike[str]) -> None:
    """Remove the temporary regular file ``path`` if it is there (never a device, folder or link)."""
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
