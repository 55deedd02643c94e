"""A folder that a kgtext command writes on the local disk: what ``--out`` may be, one writer at a time, and a
final move that survives being killed at any point.

- :func:`output_problem` says why a corpus ``--out`` must not be written: the current directory (or one
  holding it), a pre-training run folder, an existing folder without ``--overwrite``, and with
  ``--overwrite`` anything but a kgtext corpus that holds only what a build writes and none of the inputs.
- :class:`OutputLock` is an ``flock`` on ``<parent>/.<name>.lock``: a second writer of the same ``--out`` is
  refused at once (the message names the command holding it), and a lock left by a killed process is free
  again (the kernel drops it).
- :func:`make_build_folder` creates ``<parent>/.<name>.building-<hex>`` with a :data:`BUILD_MARKER` inside;
  :func:`replace_directory` moves the finished folder onto ``--out`` in journalled steps, the previous
  output renamed to ``.<name>.old-<hex>`` with a :data:`REPLACED_MARKER` inside. A corpus keeps its manifest
  under :data:`PENDING_MANIFEST` until it is in place, so a hidden build folder is never a readable corpus.
- :func:`recover_output` (run by the next writer of the same ``--out``, under its lock) finishes an
  interrupted move from the journal and removes stale build folders, and says what it did. It trusts no path
  in the journal: it only touches ``.<name>.building-<hex>`` / ``.<name>.old-<hex>`` beside ``--out`` that
  are real folders (never symbolic links) holding kgtext's marker, and it refuses (one line, changing
  nothing) a journal naming anything else. :func:`describe_leftovers` says the same without changing
  anything (``kgtext inspect`` is read-only).

Only local paths: object stores have no atomic directory rename (``kgtext.pipelines.files`` handles them).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from kgtext.corpus.manifest import MANIFEST_NAME

PENDING_MANIFEST = ".manifest.pending.json"
"""Where a build keeps its manifest until the directory is in place (readers see no corpus before)."""
RUN_FOLDER_MARKERS = ("checkpoints", "metrics.jsonl")
"""A folder holding one of these is a ``kgtext pretrain`` run: never a build output."""
BUILD_MARKER = ".kgtext-building"
"""Written into a build folder when it is created: recovery moves or removes only folders holding it."""
REPLACED_MARKER = ".kgtext-replaced"
"""Written into the previous output before it is renamed aside: recovery removes only old folders holding it."""
MARKERS = (BUILD_MARKER, REPLACED_MARKER)
CREATED_BY = "kgtext"

FAULT_HOOK: Callable[[str], None] | None = None
"""Tests set this to kill the process at a named step of :func:`replace_directory` (fault injection)."""


logger = logging.getLogger(__name__)


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


def _derived(out: Path, tag: str) -> re.Pattern[str]:
    """The names recovery may touch beside ``out``: ``.<name>.<tag>-<12 hex digits>``."""
    return re.compile(rf"\.{re.escape(out.name)}\.{tag}-[0-9a-f]{{12}}")


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def disk_full(err: BaseException) -> OSError | None:
    """The "no space left" (or quota) error behind ``err``, following its causes, or None."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return current
        text = str(current)
        if "No space left on device" in text:  # wrapped by a library (Beam, safetensors, torch)
            named = re.search(r"No space left on device[^\n']*?: '([^'\n]+)'", text)
            return OSError(errno.ENOSPC, "No space left on device", named.group(1) if named else None)
        current = current.__cause__ or current.__context__
    return None


def disk_full_message(err: OSError, out: str | Path) -> str:
    """One line for a full disk: the file that could not be written and the free space beside ``out``."""
    path = Path(os.path.abspath(err.filename if isinstance(err.filename, str) else out))
    folder = Path(os.path.abspath(out)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = f"{human_bytes(shutil.disk_usage(folder).free)} free"
    except OSError:
        free = "free space unknown"
    return f"{path}: no space left on the device ({free} in {folder})"


def _write_json(path: Path, entry: dict[str, str]) -> None:
    """Write ``entry`` to ``path`` through a temporary sibling (fsynced, renamed; removed on failure)."""
    tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(entry, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def written_by(path: Path, created_by: str) -> bool:
    """Whether ``path`` is a regular file (no symbolic link) holding a JSON object whose ``created_by`` is
    ``created_by``: the mark of what a kgtext command wrote (unreadable or malformed: not marked)."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(entry, dict) and entry.get("created_by") == created_by


def _has_marker(folder: Path, marker: str) -> bool:
    """Whether ``folder`` is a real folder (no symbolic link) holding kgtext's ``marker`` file."""
    return not folder.is_symlink() and folder.is_dir() and written_by(folder / marker, CREATED_BY)


def _mark(folder: Path, marker: str, command: str, out: Path) -> None:
    _write_json(folder / marker, {"created_by": CREATED_BY, "command": command, "out": str(out)})


def make_build_folder(out: str | Path, command: str, path: str | Path | None = None) -> Path:
    """Create the build folder of ``out`` (``path``, or a fresh ``.<name>.building-<hex>``) and mark it.

    Only a folder with this mark is ever moved onto ``out`` or removed by :func:`recover_output`.
    """
    out = Path(os.path.abspath(out))
    folder = (
        Path(os.path.abspath(path)) if path is not None else sibling(out, f"building-{uuid.uuid4().hex[:12]}")
    )
    if folder.parent != out.parent or not _derived(out, "building").fullmatch(folder.name):
        raise ValueError(f"{folder}: not a build folder name of {out}")
    folder.mkdir(parents=True)
    try:
        _mark(folder, BUILD_MARKER, command, out)
    except OSError:
        folder.rmdir()
        raise
    return folder


def remove_folder(folder: str | Path) -> None:
    """Remove a build folder or a replaced output, its markers last: a removal cut short is still
    recognised (and finished) by the next recovery."""
    folder = Path(folder)
    for child in sorted(folder.iterdir()):
        if child.name in MARKERS:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for marker in MARKERS:
        (folder / marker).unlink(missing_ok=True)
    folder.rmdir()


def _is_removable(folder: Path, marker: str) -> bool:
    """A real folder holding ``marker``, or an empty one (a removal cut short after its marker went)."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    return _has_marker(folder, marker) or not any(folder.iterdir())


def _corpus_files(out: Path, manifest: Any) -> set[str]:
    """The relative paths a build writes into ``out`` according to its manifest (any format version)."""
    expected = {MANIFEST_NAME, *MARKERS}
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
    if not isinstance(manifest, dict) or manifest.get("created_by") != CREATED_BY:
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


def _holder_text(content: str) -> tuple[str, str]:
    """(command, details) from a lock file's line ``kgtext <command> pid <n> since <time>``."""
    match = re.fullmatch(r"kgtext (\S+) (pid .*)", content)
    if match:
        return match.group(1), match.group(2)
    return "command", content or "another process"


def _on_disk(path: Path, handle: IO[str]) -> bool:
    """Whether ``handle`` is still the lock file at ``path``: the holder before us may have unlinked it after we
    opened it, and then the lock must be taken on the file that is on disk now."""
    return os.path.exists(path) and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino


def _holder_line(command: str, suffix: str = "") -> str:
    """The lock file's line that names its holder (:func:`_holder_text` reads it back)."""
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"kgtext {command} pid {os.getpid()} since {since}{suffix}\n"


class OutputLock:
    """An exclusive ``flock`` on ``<parent>/.<name>.lock`` for the life of one writer (or one recovery).

    ``command`` (``build-corpus``, ``export``, ...) is written into the lock file, so a second writer is
    told which command holds ``--out``.
    """

    def __init__(self, out: str | Path, command: str = "build-corpus") -> None:
        self.path = sibling(out, "lock")
        self.command = command
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                command, details = _holder_text((handle.read().strip().splitlines() or [""])[0])
                handle.close()
                doing = "reading" if details.endswith(READING) else "writing"
                raise OutputError(
                    f"{self.path}: another kgtext {command} is {doing} this --out ({details}); wait for it to end"
                ) from None
            if _on_disk(self.path, handle):
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(_holder_line(self.command))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        _let_go(self, alone_first=False)

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


READING = " reading"
"""How a :class:`ReadLock` holder's line in the lock file ends."""
_LEAVING_TRIES = 200


class ReadLock:
    """A shared ``flock`` on the lock file of a folder kgtext writes (``<parent>/.<name>.lock``, the one
    :class:`OutputLock` takes exclusively), held while a command reads that folder: a KG index that a build
    uses cannot be replaced under it by ``kgtext index-kg --overwrite``, and a build does not start on an
    index that is being written. Any number of readers share it. Where the lock file cannot be created (a
    read-only parent folder, which no kgtext writer could replace either) nothing is locked.
    """

    def __init__(self, folder: str | Path, command: str = "build-corpus") -> None:
        self.path = sibling(folder, "lock")
        self.command = command
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        leaving = 0  # times a reader was seen removing the file (it holds it alone for a moment)
        while True:
            try:
                handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
            except OSError as err:
                logger.debug("%s: not locked for reading (%s)", self.path, err)
                return
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                command, details = _holder_text(handle.readline().strip())
                handle.close()
                if details.endswith(READING) and leaving < _LEAVING_TRIES:
                    leaving += 1
                    time.sleep(0.01)
                    continue
                raise OutputError(
                    f"{self.path}: kgtext {command} is writing this folder ({details}); wait for it to end"
                ) from None
            if _on_disk(self.path, handle):
                break
            handle.close()
        handle.write(_holder_line(self.command, READING))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Unlock; the last reader out removes the lock file (others may still hold it: then it stays)."""
        _let_go(self, alone_first=True)


def _let_go(lock: OutputLock | ReadLock, *, alone_first: bool) -> None:
    """Remove ``lock``'s file and close it; with ``alone_first``, only when no one else holds the file (a
    reader among readers leaves it to the last one)."""
    if lock._handle is None:
        return
    try:
        if alone_first:
            fcntl.flock(lock._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(lock.path)
    except OSError:  # BlockingIOError: another holder; FileNotFoundError: already gone
        pass
    lock._handle.close()
    lock._handle = None


def lock_holder(out: str | Path) -> str | None:
    """Who holds the :class:`OutputLock` of ``out`` (``kgtext <command> pid <n> ...``), or None; creates and
    changes nothing (for read-only callers)."""
    try:
        fd = os.open(sibling(out, "lock"), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            content = os.read(fd, 4096).decode("utf-8", "replace").strip()
            command, details = _holder_text(content)
            return f"kgtext {command} {details}"
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextlib.contextmanager
def staged_output(
    final: Path,
    command: str,
    *,
    shown: str | Path,
    what: str,
    error: Callable[[str], Exception] = OutputError,
    catch: type[BaseException] | tuple[type[BaseException], ...] = OSError,
) -> Iterator[Path]:
    """A command's output written into a marked build folder beside ``final`` (yielded), then moved onto
    ``final`` when the block ends (the caller holds the output lock). A full disk in the block or in the move
    (an error of type ``catch`` that :func:`disk_full` recognises) becomes ``error`` with one line: "...; the
    unfinished {what} was removed and --out {shown} is unchanged". The build folder is removed whatever
    happens; if that fails, its marker lets the next run of ``command`` remove the rest."""
    new: Path | None = None
    try:
        new = make_build_folder(final, command)
        yield new
        replace_directory(new, final, command)
    except catch as err:
        full = disk_full(err)
        if full is None:
            raise
        raise error(
            f"{disk_full_message(full, final)}; the unfinished {what} was removed and --out {shown} is unchanged"
        ) from None
    finally:
        if new is not None and new.exists():
            try:
                remove_folder(new)
            except OSError as err:
                logger.warning("%s: could not remove it completely (%s)", new, err)


def replace_directory(new: str | Path, out: str | Path, command: str = "build-corpus") -> None:
    """Move the finished build folder ``new`` (from :func:`make_build_folder`) onto ``out``.

    Steps, each recoverable from the journal by :func:`recover_output`: journal written and the previous
    ``out`` marked; old ``out`` renamed aside; ``new`` renamed onto ``out``; manifest renamed to
    ``manifest.json`` and the markers removed; old removed; journal removed. ``os.replace`` refuses
    (ENOTEMPTY) if something filled ``out`` in the meantime. The caller holds the lock and has checked
    that ``out`` may be replaced.
    """
    new, out = Path(os.path.abspath(new)), Path(os.path.abspath(out))
    if new.parent != out.parent or not _derived(out, "building").fullmatch(new.name):
        raise ValueError(f"{new}: not a build folder of {out} (make_build_folder creates one)")
    if not _has_marker(new, BUILD_MARKER):
        raise ValueError(f"{new}: has no {BUILD_MARKER} (make_build_folder creates one)")
    journal = journal_path(out)
    old = sibling(out, f"old-{uuid.uuid4().hex[:12]}")
    _write_json(journal, {"out": str(out), "new": str(new), "old": str(old), "command": command})
    try:
        if out.is_dir() and not out.is_symlink():
            _mark(out, REPLACED_MARKER, command, out)  # recovery removes only what is marked
    except OSError:
        journal.unlink(missing_ok=True)
        raise
    _fault("journal_written")
    if out.exists():
        os.replace(out, old)
    _fault("old_moved")
    try:
        os.replace(new, out)
    except OSError as err:
        _undo_move(journal, out, old, err)
    _fault("new_moved")
    _roll_forward(journal, out, new, old)


def _undo_move(journal: Path, out: Path, old: Path, err: OSError) -> None:
    """``new`` could not be renamed onto ``out``: put the previous output back and raise."""
    if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
        if old.exists() and not out.exists():
            os.replace(old, out)
            (out / REPLACED_MARKER).unlink(missing_ok=True)
        journal.unlink(missing_ok=True)
        raise err
    # Another program filled --out during the build: keep the previous output where the user sees it.
    message = f"--out {out}: something else was written there during the build; nothing was replaced"
    if old.exists():
        kept = out.with_name(f"{out.name}.previous-{uuid.uuid4().hex[:8]}")
        os.replace(old, kept)
        (kept / REPLACED_MARKER).unlink(missing_ok=True)
        message += f" (the previous output is now {kept})"
    journal.unlink(missing_ok=True)
    raise OutputError(message) from None


def _is_replaceable(out: Path) -> bool:
    """``out`` may be renamed aside by recovery: marked by :func:`replace_directory`, or an empty folder."""
    return _is_removable(out, REPLACED_MARKER)


def _roll_forward(journal: Path, out: Path, new: Path, old: Path) -> list[str]:
    """The remaining steps of a replace whose new output is in place (or still at ``new``)."""
    done: list[str] = []
    if _has_marker(new, BUILD_MARKER):  # the journal is written only once the build is finished
        if out.exists() and old.exists():
            raise OutputError(
                f"{journal}: both {out} and {old.name} exist; move one of them away, then remove the journal"
            )
        if out.is_symlink() or (out.exists() and not _is_replaceable(out)):
            remove_folder(new)  # the move had not started: --out stays as it is
            journal.unlink(missing_ok=True)
            return [f"the move had not started: removed the finished build {new.name}; {out} is unchanged"]
        if out.exists():
            os.replace(out, old)
        os.replace(new, out)
        done.append(f"moved the finished build {new.name} onto {out}")
    if out.is_dir() and not out.is_symlink():
        if (out / PENDING_MANIFEST).exists():
            os.replace(out / PENDING_MANIFEST, out / MANIFEST_NAME)
            _fault("manifest_renamed")
        for marker in MARKERS:
            (out / marker).unlink(missing_ok=True)
    if old.is_symlink() or old.exists():
        done.append(_settle_old(out, old))
    _fault("old_removed")
    journal.unlink(missing_ok=True)
    return done


def _settle_old(out: Path, old: Path) -> str:
    """Remove the previous output once the new one is in place, or put it back when none is."""
    if old.is_symlink() or not old.is_dir():
        return f"left {old.name} alone: not a folder (never followed or removed)"
    if not out.exists():
        os.replace(old, out)
        (out / REPLACED_MARKER).unlink(missing_ok=True)
        return f"restored the previous output from {old.name}"
    if _is_removable(old, REPLACED_MARKER):
        remove_folder(old)
        return f"removed the replaced output {old.name}"
    return f"left {old.name} alone: it holds no {REPLACED_MARKER} (remove it yourself if it is not needed)"


def _read_journal(journal: Path, out: Path) -> tuple[Path, Path]:
    """The ``new`` and ``old`` folders of a journal, if they are the names recovery derives for ``out``
    (re-derived here, never the journal's own paths); OutputError naming the journal otherwise."""
    refused = f"{journal}: refused, nothing was changed"
    if journal.is_symlink():
        raise OutputError(f"{refused}: the journal is a symbolic link; remove it if you did not write it")
    try:
        entry = json.loads(journal.read_text(encoding="utf-8"))
        paths = {key: Path(entry[key]) for key in ("out", "new", "old")}
        if not all(isinstance(entry[key], str) for key in paths):
            raise TypeError("paths are not strings")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise OutputError(
            f"{refused}: unreadable replace journal ({err}); inspect it and remove it"
        ) from None
    parent = os.path.realpath(out.parent)
    for key, tag in (("out", None), ("new", "building"), ("old", "old")):
        path = paths[key]
        name_ok = path.name == out.name if tag is None else bool(_derived(out, tag).fullmatch(path.name))
        if not (path.is_absolute() and name_ok and os.path.realpath(path.parent) == parent):
            expected = str(out) if tag is None else f"{out.parent}/.{out.name}.{tag}-<hex>"
            raise OutputError(
                f"{refused}: its {key} {str(path)!r} is not {expected}; remove the journal if you did not write it"
            )
    return out.parent / paths["new"].name, out.parent / paths["old"].name


def _leftovers(out: Path) -> list[Path]:
    """Every ``.<name>.building-*`` and ``.<name>.old-*`` entry beside ``out`` (symbolic links included)."""
    prefix = f".{out.name}."
    if not out.parent.is_dir():
        return []
    return sorted(
        path
        for path in out.parent.iterdir()
        if path.name.startswith(prefix) and path.name[len(prefix) :].startswith(("building-", "old-"))
    )


def _remove_stale(out: Path, stale: Path) -> str:
    tag = "building" if stale.name.startswith(f".{out.name}.building-") else "old"
    if stale.is_symlink():
        return f"ignored {stale.name}: a symbolic link (never followed or removed)"
    if not _derived(out, tag).fullmatch(stale.name) or not stale.is_dir():
        return f"left {stale.name} alone: not a folder name kgtext gives"
    if _is_removable(stale, BUILD_MARKER if tag == "building" else REPLACED_MARKER):
        remove_folder(stale)
        return f"removed {stale.name}, left by a command that did not finish"
    return f"left {stale.name} alone: it holds no kgtext marker (remove it yourself if it is not needed)"


def recover_output(out: str | Path) -> list[str]:
    """Finish an interrupted replace of ``out`` and remove stale build folders; what was done (or left
    alone), one line each. A journal naming other folders than those derived for ``out`` is refused
    (OutputError naming it) before anything changes.

    The caller holds the :class:`OutputLock` of ``out`` (no command is writing it).
    """
    out = Path(os.path.abspath(out))
    journal = journal_path(out)
    done: list[str] = []
    if journal.exists() or journal.is_symlink():
        new, old = _read_journal(journal, out)
        done += [f"{out}: interrupted replace: {line}" for line in _roll_forward(journal, out, new, old)]
        if not done:
            done.append(f"{out}: interrupted replace had finished; removed its journal")
    elif not out.exists() and not out.is_symlink():
        legacy = [p for p in _leftovers(out) if _derived(out, "old").fullmatch(p.name) and p.is_dir()]
        legacy = [p for p in legacy if not p.is_symlink()]
        if len(legacy) == 1:  # killed between the two renames by a kgtext without the journal
            os.replace(legacy[0], out)
            (out / REPLACED_MARKER).unlink(missing_ok=True)
            done.append(f"{out}: restored the previous output from {legacy[0].name}")
    done += [f"{out}: {_remove_stale(out, stale)}" for stale in _leftovers(out)]
    return done


def describe_leftovers(out: str | Path, command: str = "build-corpus") -> str | None:
    """One line on what a killed command left beside ``out`` and what the next ``kgtext <command>`` will do
    with it, or None when nothing is there. Reads only: nothing is created, moved or removed."""
    out = Path(os.path.abspath(out))
    journal = journal_path(out)
    entries = [p for p in [journal] if p.exists() or p.is_symlink()] + _leftovers(out)
    if not entries:
        return None
    names = ", ".join(p.name for p in entries)
    holder = lock_holder(out)
    if holder is not None:
        return f"{names} beside {out} belong to the {holder}, which is writing it now; nothing was changed"
    line = (
        f"WARNING: {names} beside {out} were left by a kgtext command that did not finish; nothing was "
        f"changed: the next kgtext {command} --out {out} finishes or removes what kgtext left"
    )
    if journal in entries:
        try:
            _read_journal(journal, out)
        except OutputError as err:
            line += f" (but it will refuse {journal.name}: {str(err).split(': ', 2)[-1]})"
    links = [p.name for p in entries if p.is_symlink()]
    if links:
        line += f"; {', '.join(links)}: symbolic link, ignored (never followed or removed)"
    return line
