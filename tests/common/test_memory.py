"""glibc malloc tuning: set here and for child processes, never over a user's own setting, off on request."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kgtext.common import memory
from kgtext.common.memory import MMAP_THRESHOLD, OFF_VARIABLE, TRIM_THRESHOLD, tune_malloc

GLIBC = memory._glibc_mallopt() is not None


@pytest.mark.skipif(not GLIBC, reason="malloc tuning is glibc's")
def test_tuning_sets_both_thresholds_for_children() -> None:
    env: dict[str, str] = {}
    assert tune_malloc(env) == {
        "MALLOC_MMAP_THRESHOLD_": MMAP_THRESHOLD,
        "MALLOC_TRIM_THRESHOLD_": TRIM_THRESHOLD,
    }
    assert env == {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
    # a child started with that environment runs with them (glibc reads them at start)
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ['MALLOC_MMAP_THRESHOLD_'])"],
        env={**env, "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == "131072"


@pytest.mark.skipif(not GLIBC, reason="malloc tuning is glibc's")
def test_a_users_own_setting_wins() -> None:
    env = {"MALLOC_MMAP_THRESHOLD_": "4096"}
    assert tune_malloc(env) == {"MALLOC_TRIM_THRESHOLD_": TRIM_THRESHOLD}
    assert env["MALLOC_MMAP_THRESHOLD_"] == "4096"


def test_off_changes_nothing() -> None:
    env = {OFF_VARIABLE: " OFF "}
    assert tune_malloc(env) == {}
    assert env == {OFF_VARIABLE: " OFF "}


def test_without_glibc_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_glibc_mallopt", lambda: None)
    env: dict[str, str] = {}
    assert tune_malloc(env) == {} and env == {}


def test_tuning_starts_no_process() -> None:
    """A child (ctypes.util.find_library runs ldconfig) would show in a build's peak RSS of children."""
    code = (
        "import resource; from kgtext.common.memory import tune_malloc; tune_malloc({}); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "0"
