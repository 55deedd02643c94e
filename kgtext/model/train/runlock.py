"""One ``kgtext pretrain`` at a time per run folder: an ``flock`` held by rank 0 for the life of the job.

Two runs writing one ``--out`` would mix their ``metrics.jsonl`` lines, overwrite each other's
``config.json`` and race on the checkpoint renames. :class:`RunLock` takes the lock a corpus build takes
on its ``--out`` (:class:`kgtext.corpus.replace.OutputLock`: ``<parent>/.<name>.lock``, beside the folder, so
``--overwrite`` can delete the folder while holding it, and a lock left by a killed run is free again
because the kernel drops it). Under ``torchrun`` only rank 0 locks (one lock per job), and every rank
learns whether it succeeded, so a refused job ends on every rank with one line.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from kgtext.corpus.replace import OutputError, OutputLock
from kgtext.model.train.dist import DistContext, all_ranks_agree


class RunLockError(ValueError):
    """Another job holds the run folder (or its lock cannot be taken); the message names the folder.

    ``reported_by_rank_0`` is True on the other ranks of a ``torchrun`` job: rank 0 says why, they end quietly.
    """

    def __init__(self, message: str, *, reported_by_rank_0: bool = False) -> None:
        super().__init__(message)
        self.reported_by_rank_0 = reported_by_rank_0


def _holder(lock: OutputLock) -> str:
    """What the holder wrote into the lock file (``kgtext pretrain pid N since T``), or a neutral phrase."""
    try:
        return lock.path.read_text(encoding="utf-8").strip() or "another process"
    except OSError:
        return "another process"


class RunLock:
    """``with RunLock(run_dir, ctx):`` holds ``run_dir`` for this job (collective: every rank enters it)."""

    def __init__(self, run_dir: str | Path, ctx: DistContext) -> None:
        self.run_dir = Path(run_dir)
        self.ctx = ctx
        self._lock: OutputLock | None = None

    def _try_lock(self) -> str | None:
        """Rank 0: take the lock; why it cannot be taken, or None."""
        lock = OutputLock(self.run_dir, "pretrain")
        try:
            lock.acquire()
        except OutputError:
            return (
                f"{self.run_dir}: another kgtext job is writing this run folder ({_holder(lock)}); "
                "wait for it to end or choose another --out"
            )
        except OSError as err:
            return f"{lock.path}: cannot take the run folder's lock ({err.strerror or err})"
        self._lock = lock
        return None

    def __enter__(self) -> RunLock:
        problem = self._try_lock() if self.ctx.rank == 0 else None
        if not all_ranks_agree(problem is None, self.ctx.device):
            self.release()
            if problem is None:  # another rank: rank 0 reports the problem
                raise RunLockError(f"{self.run_dir}: rank 0 could not lock it", reported_by_rank_0=True)
            raise RunLockError(problem)
        return self

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()
