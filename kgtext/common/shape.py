"""JSON values -> typed dataclass records, checked against the dataclass's own annotations.

The dataclasses of :mod:`kgtext.corpus.manifest` are the one schema definition of ``manifest.json``: this module
walks their type hints (``int``, ``str``, ``float``, ``bool``, ``Any``, ``Literal[...]``, ``X | None``,
``list[X]``, ``dict[str, X]`` and nested dataclasses) and reports the first mismatch as one line naming the
key path (``datasets.kmlm``, ``inputs[0].colour``). A field with a default may be absent; an unknown key is
an error. Adding a field to a dataclass extends the schema; there is no second check to update.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


class ShapeError(ValueError):
    """A JSON value does not have the declared shape; ``where`` is the key path, ``problem`` the reason."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where or '(top level)'}: {problem}")
        self.where = where
        self.problem = problem


_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _scalar(value: Any, expected: type, where: str) -> Any:
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    if not ok:
        names = {int: "an integer", float: "a number", str: "a string", bool: "true/false"}
        raise ShapeError(where, f"expected {names.get(expected, expected.__name__)}, got {_kind(value)}")
    return float(value) if expected is float else value


def _parse(value: Any, annotation: Any, where: str) -> Any:
    """``value`` checked (and dataclasses built) against ``annotation``."""
    if annotation is Any:
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        if len(others) != 1:
            raise TypeError(f"{where}: only `X | None` unions are supported, got {annotation!r}")
        return _parse(value, others[0], where)
    if origin is typing.Literal:
        if value not in args:
            raise ShapeError(where, f"expected one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ShapeError(where, f"expected a list, got {_kind(value)}")
        return [_parse(item, args[0], f"{where}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ShapeError(where, f"expected an object, got {_kind(value)}")
        return {_scalar(k, str, where): _parse(v, args[1], _join(where, str(k))) for k, v in value.items()}
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return parse_record(annotation, value, where)
    if isinstance(annotation, type):
        return _scalar(value, annotation, where)
    raise TypeError(f"{where}: unsupported annotation {annotation!r}")


def parse_record(cls: type[T], value: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from a JSON object, checking every field against its annotation."""
    if not isinstance(value, dict):
        raise ShapeError(where, f"expected an object, got {_kind(value)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ShapeError(_join(where, str(unknown[0])), f"unknown key (known: {', '.join(fields)})")
    kwargs: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in value:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise ShapeError(_join(where, name), "missing")
            continue
        kwargs[name] = _parse(value[name], hints[name], _join(where, name))
    return cls(**kwargs)
