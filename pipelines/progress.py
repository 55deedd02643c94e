"""Progress while a phase runs: each worker process logs its count and rate every few hundred documents.

Counts are per process (Beam metrics are avoided: the DaskRunner does not implement them); the exact
totals are computed as data and land in the manifest.
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


def log_progress(element: T, stage: str) -> T:
    """Count one element of ``stage`` in this process and log every :data:`PROGRESS_EVERY`; returns it unchanged."""
    if stage not in _STARTED:
        _STARTED[stage] = time.monotonic()
    count = _COUNTS[stage] = _COUNTS.get(stage, 0) + 1
    if count % PROGRESS_EVERY == 0:
        rate = count / max(time.monotonic() - _STARTED[stage], 1e-9)
        logger.info("%s: %d documents in this worker process (%.1f documents/s)", stage, count, rate)
    return element
