"""A corpus directory on the local disk: what ``--out`` may be, one build at a time, and a final move that
survives being killed at any point.

- :func:`output_problem` says why ``--out`` must not be written: the current directory (or one holding it),
  a pre-training run folder, an existing folder without ``--overwrite``, and with ``--overwrite`` anything
  but a kgtext corpus that holds only what a build writes and none of the inputs.
- :class:`OutputLock` is an ``flock`` on ``<parent>/.<name>.lock``: a second build into the same ``--out``
  is refused at once, and a lock left by a killed build is free again (the kernel drops it).
- :func:`replace_directory` moves a finished build onto ``--out`` in journalled steps; the manifest is kept
  under :data:`PENDING_MANIFEST` until the new corpus is in place, so a hidden build folder is never a
  readable corpus. :func:`recover_output` (run by the next build and by ``kgtext inspect``) finishes an
  interrupted move from the journal and removes stale build folders, and says what it did.

Only local paths: object stores have no atomic directory rename (``pipelines.files`` handles them).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from corpus.manifest import MANIFEST_NAME

PENDING_MANIFEST = ".manifest.pending.json"
"""Where a build keeps its manifest until the directory is in place (readers see no corpus before)."""
RUN_FOLDER_MARKERS = ("checkpoints", "metrics.jsonl")
"""A folder holding one of these is a ``kgtext pretrain`` run: never a build output."""

FAULT_HOOK: Callable[[str], None] | None = None
"""Tests set this to kill the process at a named step of :func:`replace_directory` (fault injection)."""


class OutputError(ValueError):
    """``--out`` cannot be used; the message is one line naming the path and the reason."""


def _fault(point: str) -> None:
    if FAULT_HOOK is not None:
        FAULT_HOOK(point)


def sibling(out: str | Path, tag: str, suffix: str = "") -> Path:
    """``<parent>/.<name>.<tag><suffix>``: kgtext's hidden files and folders beside ``out``."""
    path = Path(os.path.abspath(out))
    return path.parent / f".{path.name}.{tag}{suffix}"


def journal_path(out: str | Path) -> Path:
    return sibling(out, "replace", ".json")


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _corpus_files(out: Path, manifest: Any) -> set[str]:
    """The relative paths a build writes into ``out`` according to its manifest (any format version)."""
    expected = {MANIFEST_NAME}
    datasets = manifest.get("datasets") if isinstance(manifest, dict) else None
    for splits in (datasets or {}).values():
        for shards in (splits or {}).values() if isinstance(splits, dict) else ():
            expected.update(str(s.get("path")) for s in shards or () if isinstance(s, dict))
    tokenizer = manifest.get("tokenizer") if isinstance(manifest, dict) else None
    if isinstance(tokenizer, dict):
        expected.add(str(tokenizer.get("path")))
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if isinstance(files, dict):
        expected.update(str(path) for path in files)
    return expected


def _foreign_file(out: Path) -> str | None:
    """The first file or folder under ``out`` that a build did not write (sorted walk), or None."""
    try:
        manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("created_by") != "kgtext":
        return "manifest.json"
    expected = _corpus_files(out, manifest)
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(e.startswith(rel + "/") for e in expected) and rel != "dead_letters":
                return rel + "/"
            continue
        if rel in expected or (
            rel.startswith("dead_letters/") and rel.count("/") == 1 and rel.endswith(".jsonl")
        ):
            continue
        return rel
    return None


def output_problem(out: str, *, overwrite: bool, inputs: Sequence[str], cwd: str | None = None) -> str | None:
    """Why the build must not write ``out`` (one line naming the path), or None when it may."""
    target = Path(os.path.realpath(out))
    here = Path(os.path.realpath(cwd or os.getcwd()))
    if _is_within(here, target):
        return f"--out {out}: is the current directory or holds it; name a new folder for the corpus"
    if Path(os.path.abspath(out)).is_symlink():
        return f"--out {out}: is a symbolic link (to {target}); name the folder itself"
    if not target.exists():
        return None
    if not target.is_dir():
        return f"--out {out}: is a file, not a directory"
    for marker in RUN_FOLDER_MARKERS:
        if (target / marker).exists():
            return f"--out {out}: is a pre-training run folder (holds {marker}); name another folder"
    if not any(target.iterdir()):
        return None
    if not overwrite:
        return f"--out {out}: already exists; pass --overwrite to replace it"
    for item in inputs:
        if "://" not in item and _is_within(Path(os.path.realpath(item)), target):
            return (
                f"--out {out}: holds the input {item}; --overwrite never replaces a folder with inputs in it"
            )
    foreign = _foreign_file(target)
    if foreign == "manifest.json":
        return f"--out {out}: is not a kgtext corpus (no kgtext manifest.json); --overwrite only replaces corpora"
    if foreign is not None:
        return f"--out {out}: holds {foreign}, which no kgtext build writes; move it away before --overwrite"
    return None


class OutputLock:
    """An exclusive ``flock`` on ``<parent>/.<name>.lock`` for the life of one build (or one recovery)."""

    def __init__(self, out: str | Path) -> None:
        self.path = sibling(out, "lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise OutputError(
                    f"{self.path}: another kgtext build is writing this --out ({holder}); wait for it to end"
                ) from None
            # The holder before us may have unlinked the file after we opened it: lock the file on disk.
            if os.path.exists(self.path) and os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self._handle.close()
        self._handle = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _write_journal(path: Path, entry: dict[str, str]) -> None:
    tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(entry, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def replace_directory(new: str | Path, out: str | Path) -> None:
    """Move the finished build ``new`` (manifest at :data:`PENDING_MANIFEST`) onto ``out``.

    Steps, each recoverable from the journal by :func:`recover_output`: journal written; old ``out``
    renamed aside; ``new`` renamed onto ``out``; manifest renamed to ``manifest.json``; old removed;
    journal removed. ``os.replace`` refuses (ENOTEMPTY) if something filled ``out`` in the meantime.
    """
    new, out = Path(new), Path(os.path.abspath(out))
    journal = journal_path(out)
    old = sibling(out, f"old-{uuid.uuid4().hex[:12]}")
    _write_journal(journal, {"out": str(out), "new": str(new), "old": str(old)})
    _fault("journal_written")
    if out.exists():
        os.replace(out, old)
    _fault("old_moved")
    try:
        os.replace(new, out)
    except OSError as err:
        if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        # Another program filled --out during the build: keep the previous corpus where the user sees it.
        message = f"--out {out}: something else was written there during the build; nothing was replaced"
        if old.exists():
            kept = out.with_name(f"{out.name}.previous-{uuid.uuid4().hex[:8]}")
            os.replace(old, kept)
            message += f" (the previous corpus is now {kept})"
        journal.unlink(missing_ok=True)
        raise OutputError(message) from None
    _fault("new_moved")
    _roll_forward(journal, out, new, old)


def _roll_forward(journal: Path, out: Path, new: Path, old: Path) -> list[str]:
    """The remaining steps of a replace whose new corpus is in place (or still at ``new``)."""
    done: list[str] = []
    if new.is_dir() and (new / PENDING_MANIFEST).exists():
        if out.exists() and not old.exists():
            os.replace(out, old)
        os.replace(new, out)
        done.append(f"moved the finished build {new.name} onto {out}")
    if (out / PENDING_MANIFEST).exists():
        os.replace(out / PENDING_MANIFEST, out / MANIFEST_NAME)
        _fault("manifest_renamed")
    if old.exists():
        if (out / MANIFEST_NAME).exists():
            shutil.rmtree(old)
            done.append(f"removed the replaced corpus {old.name}")
        elif not out.exists():
            os.replace(old, out)
            done.append(f"restored the previous corpus from {old.name}")
    _fault("old_removed")
    journal.unlink(missing_ok=True)
    return done


def _stale_builds(out: Path, keep: Sequence[Path]) -> Iterator[Path]:
    prefix = f".{out.name}."
    for path in sorted(out.parent.glob(f"{prefix}*")):
        tag = path.name[len(prefix) :]
        if path.is_dir() and path not in keep and tag.startswith(("building-", "old-")):
            yield path


def has_leftovers(out: str | Path) -> bool:
    """Whether a killed build left a replace journal or build folders beside ``out`` (no lock needed)."""
    out = Path(os.path.abspath(out))
    return journal_path(out).exists() or any(True for _ in _stale_builds(out, []))


def recover_output(out: str | Path) -> list[str]:
    """Finish an interrupted replace of ``out`` and remove stale build folders; what was done, one line each.

    The caller holds the :class:`OutputLock` of ``out`` (no build is writing it).
    """
    out = Path(os.path.abspath(out))
    journal = journal_path(out)
    done: list[str] = []
    keep: list[Path] = []
    if journal.exists():
        try:
            entry = json.loads(journal.read_text(encoding="utf-8"))
            new, old = Path(entry["new"]), Path(entry["old"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise OutputError(
                f"{journal}: unreadable replace journal ({err}); inspect it and remove it"
            ) from None
        done += [f"{out}: interrupted replace: {line}" for line in _roll_forward(journal, out, new, old)]
        if not done:
            done.append(f"{out}: interrupted replace had finished; removed its journal")
    elif not out.exists():
        legacy = [p for p in _stale_builds(out, keep) if p.name.startswith(f".{out.name}.old-")]
        if len(legacy) == 1:  # killed between the two renames by a kgtext without the journal
            os.replace(legacy[0], out)
            done.append(f"{out}: restored the previous corpus from {legacy[0].name}")
    for stale in _stale_builds(out, keep):
        shutil.rmtree(stale)
        done.append(f"{out}: removed {stale.name}, left by a build that did not finish")
    return done
