"""Progress while a phase runs: each worker process logs its count, rate and, where the total is known,
the share done and an ETA.

Counts are per process (Beam metrics are avoided: the DaskRunner does not implement them); the exact
totals are computed as data and land in the manifest. A total is the whole stage's (the documents kept by
phase 1, the KG byte ranges): with one process (the default in-process DirectRunner) the share and ETA
are exact; with several, each process does part of the total and its ETA is an upper bound.
"""

from __future__ import annotations

import logging
import time
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

PROGRESS_EVERY = 250
"""Log a line every this many elements per stage and process."""

_COUNTS: dict[str, int] = {}
_STARTED: dict[str, float] = {}


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def progress_line(stage: str, count: int, elapsed: float, total: int = 0, unit: str = "documents") -> str:
    """``tasks: 500 of 2,000 documents (25%) in this worker process, 41.2/s, ETA 36s`` (no share without a
    total)."""
    rate = count / max(elapsed, 1e-9)
    if total <= 0:
        return f"{stage}: {count:,} {unit} in this worker process ({rate:.1f} {unit}/s)"
    left = max(total - count, 0)
    return (
        f"{stage}: {count:,} of {total:,} {unit} ({count / total:.0%}) in this worker process, "
        f"{rate:.1f}/s, ETA {_duration(left / rate) if rate else '?'}"
    )


def log_progress(
    element: T, stage: str, total: int = 0, every: int = PROGRESS_EVERY, unit: str = "documents"
) -> T:
    """Count one element of ``stage`` in this process and log every ``every``; returns it unchanged."""
    if stage not in _STARTED:
        _STARTED[stage] = time.monotonic()
    count = _COUNTS[stage] = _COUNTS.get(stage, 0) + 1
    if count % every == 0 or count == total:
        logger.info("%s", progress_line(stage, count, time.monotonic() - _STARTED[stage], total, unit))
    return element
