"""Field validators of the frozen configuration dataclasses (``__post_init__``): one message style everywhere."""

from __future__ import annotations

from typing import Any


def positive(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is an int > 0 (not a bool)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def non_negative(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is a number >= 0 (not a bool)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def fraction(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is a number in [0, 1] (not a bool)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
