"""glibc's malloc tuned for a build: large blocks go straight to ``mmap`` and back to the system when freed.

A build allocates and frees many large blocks: a bundle's encoded elements, pickled documents, Arrow IPC blobs,
run files read whole. glibc serves a block under its *mmap threshold* from the heap, and raises that threshold
(up to 32 MiB on 64-bit) each time a mapped block is freed, so after the first few large frees every large block
lands in the heap, where a freed block is reused only by a block that fits and the heap's top is trimmed only
when it is free. The process keeps the high-water mark of every phase. Fixing the threshold at
:data:`MMAP_THRESHOLD` keeps large blocks out of the heap, so freeing them returns their pages at once (measured
on the 4x bench corpus in docs/SCALING.md).

:func:`tune_malloc` sets it in this process (``mallopt``) and, through the ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` environment variables, in the worker processes a runner starts. A value the user
already set in the environment wins; ``KGTEXT_MALLOC_TUNING=off`` leaves malloc alone. Elsewhere than glibc
(macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Callable, MutableMapping
from typing import cast

logger = logging.getLogger(__name__)

MMAP_THRESHOLD = 128 * 1024
"""Blocks of at least this many bytes are mapped on their own (glibc's initial default, kept fixed)."""
TRIM_THRESHOLD = 128 * 1024
"""Free bytes at the heap's top above which glibc gives them back (its default; fixed with the other)."""
OFF_VARIABLE = "KGTEXT_MALLOC_TUNING"
"""``off`` in the environment: :func:`tune_malloc` changes nothing."""
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers (malloc.h)
_SETTINGS = (
    ("MALLOC_MMAP_THRESHOLD_", _M_MMAP_THRESHOLD, MMAP_THRESHOLD),
    ("MALLOC_TRIM_THRESHOLD_", _M_TRIM_THRESHOLD, TRIM_THRESHOLD),
)


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where the C library is not glibc."""
    try:
        # The C library the interpreter already runs on (dlopen(NULL)); ctypes.util.find_library would start
        # a subprocess (ldconfig) that a peak-RSS measurement of children then counts.
        libc = ctypes.CDLL(None)
        gnu_get_libc_version = libc.gnu_get_libc_version  # glibc only
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    gnu_get_libc_version.restype = ctypes.c_char_p
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return cast(Callable[[int, int], int], mallopt)


def tune_malloc(environ: MutableMapping[str, str] | None = None) -> dict[str, int]:
    """Fix glibc's mmap and trim thresholds here and for child processes; returns what was set here.

    Settings already in ``environ`` (default ``os.environ``) are left as they are; nothing is set when
    ``KGTEXT_MALLOC_TUNING=off`` or the C library is not glibc.
    """
    env = os.environ if environ is None else environ
    if env.get(OFF_VARIABLE, "").strip().lower() == "off":
        return {}
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return {}
    done: dict[str, int] = {}
    for variable, parameter, value in _SETTINGS:
        if variable in env:
            continue
        if mallopt(parameter, value) == 1:  # mallopt returns 1 on success
            env[variable] = str(value)
            done[variable] = value
    if done:
        logger.debug("malloc tuned: %s", done)
    return done
