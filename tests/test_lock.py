"""The venv holds exactly what requirements/lock.txt pins: the lock cannot drift from what the suite tests.

`make test-latest` sets KGTEXT_UNLOCKED=1 (the newest releases, not the lock), which skips this module. With a
torch other than the lock's (a CUDA build from TORCH_SPEC), torch, nvidia-* and triton are not compared.
"""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import pytest

LOCK = Path(__file__).resolve().parents[1] / "requirements" / "lock.txt"
TORCH_FAMILY = re.compile(r"^(torch|triton|nvidia-[a-z0-9-]+)$")

pytestmark = pytest.mark.skipif(
    os.environ.get("KGTEXT_UNLOCKED") == "1",
    reason="make test-latest tests the newest releases, not the lock",
)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> str:
    """The version without its local label (torch's ``2.13.0+cpu`` is the lock's ``2.13.0``)."""
    return version.split("+", 1)[0]


def read_lock(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").split("\n"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"{path}: not an exact pin: {line!r}"
        pins[normalize(match[1])] = match[2]
    return pins


def installed() -> dict[str, str]:
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[normalize(name)] = dist.version
    found.pop("kgtext", None)
    return found


def test_lock_pins_every_line_exactly_and_torch_without_local_label() -> None:
    pins = read_lock(LOCK)
    assert "apache-beam" in pins and "torch" in pins
    assert "+" not in pins["torch"], "the lock pins torch without a local version label (make lock strips it)"
    beam = tuple(int(p) for p in pins["apache-beam"].split(".")[:2])
    assert beam >= (2, 78), "the lock pins Beam >= 2.78 (its GroupByKey values are Iterable)"


def test_venv_holds_exactly_the_locked_versions() -> None:
    pins = read_lock(LOCK)
    have = installed()
    torch_is_locked = public(have.get("torch", "")) == pins["torch"]
    skip = (lambda name: bool(TORCH_FAMILY.match(name))) if not torch_is_locked else (lambda name: False)
    wrong = sorted(
        f"{name} {version} (lock: {pins[name]})"
        for name, version in have.items()
        if name in pins and not skip(name) and public(version) != pins[name]
    )
    extra = sorted(
        f"{name} {version}" for name, version in have.items() if name not in pins and not skip(name)
    )
    missing = sorted(f"{name}=={pins[name]}" for name in pins if name not in have and not skip(name))
    assert not (wrong or extra or missing), (
        "the venv differs from requirements/lock.txt (run `make clean-venv setup`, or `make lock` after a change "
        f"of dependencies): other versions {wrong}; not in the lock {extra}; not installed {missing}"
    )
