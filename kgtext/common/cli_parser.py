"""Command-line helpers shared by every kgtext command: a parser whose errors name the mistake and suggest
the fix, plain-text help from RST/Markdown docstrings, and the field help of config dataclasses.

    kgtext pretrain: unknown option --max-step (did you mean --max-steps?)
    usage: kgtext pretrain [-h] --corpus CORPUS ...

:class:`HelpfulParser` is an :class:`argparse.ArgumentParser` with ``allow_abbrev=False`` (an abbreviation
would hide a typo: ``--max-step`` silently meaning ``--max-steps``), one-line errors as
``PROG: message`` followed by the usage, exit status 2, and a did-you-mean suggestion for an unknown
option or an invalid ``choices=`` value. :func:`suggest` is the same suggestion for any other list of
names (``--set`` keys, Beam option names). It lives in ``corpus/`` because every package may import
``corpus`` and none of this needs torch or Beam.

Numeric options are checked when they are parsed (:class:`Number`): ``type=int`` or ``type=float`` on a
HelpfulParser (or one of its groups) takes the bounds ``minimum=`` / ``maximum=`` (inclusive) and
``exclusive_minimum=`` / ``exclusive_maximum=``. By default a number must be ``>= 0`` (``minimum=None``
allows negative values), an int must fit in 64 bits and a float must be finite (``allow_nonfinite=True``
allows nan and inf); every refusal is the usual one-line error naming the option, exit status 2::

    kgtext finetune: argument --batch-size: must be >= 1, got 0
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import inspect
import io
import math
import re
import textwrap
import tokenize
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn, TypeVar, overload

_N = TypeVar("_N")

# :func:`x`, :class:`~a.b.C` (the ~ keeps the last part), :ref:`Title <target>`.
_ROLE = re.compile(r":[\w.+-]+(?::[\w.+-]+)*:`(~?)([^`]+)`")
_DOUBLE_BACKTICK = re.compile(r"``(.+?)``")
_SINGLE_BACKTICK = re.compile(r"`([^`]+)`_{0,2}")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)\s]+\)")
_LINK_TARGET = re.compile(r"^(.*?)\s*<[^<>]+>$")


def _role_text(match: re.Match[str]) -> str:
    tilde, text = match.group(1), match.group(2)
    target = _LINK_TARGET.match(text)
    if target:
        return target.group(1)
    return text.rsplit(".", 1)[-1] if tilde else text


def _backtick_text(match: re.Match[str]) -> str:
    target = _LINK_TARGET.match(match.group(1))  # RST link `title <url>`_
    return target.group(1) if target and match.group(0).endswith("_") else match.group(1)


def plain(doc: str) -> str:
    """``doc`` without RST/Markdown markup: roles, double and single backticks, bold, Markdown links."""
    text = _ROLE.sub(_role_text, doc)
    text = _DOUBLE_BACKTICK.sub(r"\1", text)
    text = _SINGLE_BACKTICK.sub(_backtick_text, text)
    text = _BOLD.sub(r"\1", text)
    return _MD_LINK.sub(r"\1", text)


def did_you_mean(names: Sequence[str]) -> str:
    """`` (did you mean a?)``, `` (did you mean a or b?)``, `` (did you mean a, b or c?)``, or ``""``."""
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f" (did you mean {listed}?)"


def suggest(word: str, candidates: Iterable[str], n: int = 1) -> str:
    """`` (did you mean X?)`` with the closest of ``candidates`` to ``word`` (at most ``n``), or ``""``.

    A candidate that ``word`` abbreviates comes first (``--max`` -> ``--max-steps``); otherwise
    ``difflib.get_close_matches`` on the names without their leading dashes (the shared ``--`` would make
    ``--colour`` look like ``--corpus``).
    """
    names = list(dict.fromkeys(candidates))
    bare = word.lstrip("-")
    if len(bare) >= 2:
        longer = [name for name in names if name.lstrip("-").startswith(bare) and name.lstrip("-") != bare]
        if longer:
            return did_you_mean(longer[:n])
    by_bare = {name.lstrip("-"): name for name in names}
    return did_you_mean([by_bare[m] for m in difflib.get_close_matches(bare, list(by_bare), n=n)])


def _display_name(action: argparse.Action) -> str:
    """How an option is named in a message: its long form (``--preset``), or a positional's metavar."""
    if action.option_strings:
        return next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])
    if isinstance(action.metavar, str):
        return action.metavar
    return action.dest if action.dest != argparse.SUPPRESS else "choice"


def _looks_like_option(arg: str) -> bool:
    if len(arg) < 2 or not arg.startswith("-"):
        return False
    try:
        float(arg)
    except ValueError:
        return True
    return False  # a negative number is a value, not an option


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The range of an int option: what torch, NumPy and Arrow take (a seed of 10**23 overflows them all)."""


def _number_text(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


@dataclasses.dataclass(frozen=True, slots=True)
class Number:
    """The ``type=`` of a numeric option: parses ``kind`` and refuses what the bounds exclude, with one
    message per problem (argparse prefixes ``argument --name:``). Bounds of None are open."""

    kind: type[int] | type[float]
    minimum: float | None = 0
    """Smallest value allowed (inclusive); the default refuses negative values."""
    maximum: float | None = None
    """Largest value allowed (inclusive)."""
    exclusive_minimum: float | None = None
    """Values must be greater than this."""
    exclusive_maximum: float | None = None
    """Values must be smaller than this."""
    allow_nonfinite: bool = False
    """Accept nan, inf and -inf (floats only)."""

    def __post_init__(self) -> None:
        if self.kind not in (int, float):
            raise TypeError(f"Number: kind must be int or float, got {self.kind!r}")

    @property
    def __name__(self) -> str:  # argparse names a type by its __name__
        return self.kind.__name__

    def describe(self) -> str:
        """The allowed range as text: ``>= 1``, ``> 0``, ``in (0, 1]``, or ``""`` when unbounded."""
        low = [(b, "[") for b in (self.minimum,) if b is not None]
        low += [(b, "(") for b in (self.exclusive_minimum,) if b is not None]
        high = [(b, "]") for b in (self.maximum,) if b is not None]
        high += [(b, ")") for b in (self.exclusive_maximum,) if b is not None]
        # The strictest of each side (an exclusive bound wins a tie).
        lower = max(low, key=lambda bound: (bound[0], bound[1] == "(")) if low else None
        upper = min(high, key=lambda bound: (bound[0], bound[1] == "]")) if high else None
        if lower and upper:
            return f"in {lower[1]}{_number_text(lower[0])}, {_number_text(upper[0])}{upper[1]}"
        if lower:
            return f"{'>=' if lower[1] == '[' else '>'} {_number_text(lower[0])}"
        if upper:
            return f"{'<=' if upper[1] == ']' else '<'} {_number_text(upper[0])}"
        return ""

    def _in_bounds(self, value: float) -> bool:
        return not (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.exclusive_minimum is not None and value <= self.exclusive_minimum)
            or (self.exclusive_maximum is not None and value >= self.exclusive_maximum)
        )

    def __call__(self, raw: str) -> int | float:
        text = raw.strip()
        try:
            value: int | float = self.kind(text)
        except ValueError:  # also int() of a string with more than sys.get_int_max_str_digits() digits
            raise argparse.ArgumentTypeError(f"invalid {self.kind.__name__} value: {raw!r}") from None
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise argparse.ArgumentTypeError(f"must fit in a 64-bit integer (±9.2e18), got {text}")
        if isinstance(value, float) and not math.isfinite(value):
            if not self.allow_nonfinite:
                raise argparse.ArgumentTypeError(f"must be a finite number, got {raw!r}")
            return value
        if not self._in_bounds(value):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}, got {text}")
        return value


def _numeric_kwargs(kwargs: dict[str, Any], bounds: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` of ``add_argument`` with ``type=int``/``float`` replaced by a :class:`Number` of ``bounds``."""
    kind = kwargs.get("type")
    if kind in (int, float):
        return {**kwargs, "type": Number(kind, **bounds)}
    asked = {k: v for k, v in bounds.items() if v != _NO_BOUNDS[k]}
    if asked:
        raise TypeError(f"{', '.join(asked)} apply to type=int or type=float options only, not type={kind!r}")
    return kwargs


_NO_BOUNDS: dict[str, Any] = {
    "minimum": 0,
    "maximum": None,
    "exclusive_minimum": None,
    "exclusive_maximum": None,
    "allow_nonfinite": False,
}


class _BoundedGroup(argparse._ArgumentGroup):
    """An argument group of a :class:`HelpfulParser`: its ``add_argument`` takes the same bounds."""

    def add_argument(
        self,
        *name_or_flags: str,
        minimum: float | None = 0,
        maximum: float | None = None,
        exclusive_minimum: float | None = None,
        exclusive_maximum: float | None = None,
        allow_nonfinite: bool = False,
        **kwargs: Any,
    ) -> argparse.Action:
        bounds = dict(minimum=minimum, maximum=maximum, exclusive_minimum=exclusive_minimum,
                      exclusive_maximum=exclusive_maximum, allow_nonfinite=allow_nonfinite)  # fmt: skip
        return super().add_argument(*name_or_flags, **_numeric_kwargs(kwargs, bounds))


class _BoundedExclusiveGroup(argparse._MutuallyExclusiveGroup):
    """A mutually exclusive group of a :class:`HelpfulParser`: its ``add_argument`` takes the same bounds."""

    def add_argument(
        self,
        *name_or_flags: str,
        minimum: float | None = 0,
        maximum: float | None = None,
        exclusive_minimum: float | None = None,
        exclusive_maximum: float | None = None,
        allow_nonfinite: bool = False,
        **kwargs: Any,
    ) -> argparse.Action:
        bounds = dict(minimum=minimum, maximum=maximum, exclusive_minimum=exclusive_minimum,
                      exclusive_maximum=exclusive_maximum, allow_nonfinite=allow_nonfinite)  # fmt: skip
        return super().add_argument(*name_or_flags, **_numeric_kwargs(kwargs, bounds))


class HelpfulParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line ``PROG: message`` + the usage (exit 2), with a
    did-you-mean for unknown options and invalid choices; ``allow_abbrev=False`` unless asked; the
    description and epilog pass through :func:`plain`."""

    def __init__(
        self,
        prog: str | None = None,
        *,
        description: str | None = None,
        epilog: str | None = None,
        allow_abbrev: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            prog,
            description=None if description is None else plain(description),
            epilog=None if epilog is None else plain(epilog),
            allow_abbrev=allow_abbrev,
            **kwargs,
        )
        # type=int / type=float reaching argparse some other way (a group of a group) get the defaults too.
        self.register("type", int, Number(int))
        self.register("type", float, Number(float))

    def add_argument(
        self,
        *name_or_flags: str,
        minimum: float | None = 0,
        maximum: float | None = None,
        exclusive_minimum: float | None = None,
        exclusive_maximum: float | None = None,
        allow_nonfinite: bool = False,
        **kwargs: Any,
    ) -> argparse.Action:
        """``ArgumentParser.add_argument``; a ``type=int``/``float`` option also takes bounds (:class:`Number`)."""
        bounds = dict(minimum=minimum, maximum=maximum, exclusive_minimum=exclusive_minimum,
                      exclusive_maximum=exclusive_maximum, allow_nonfinite=allow_nonfinite)  # fmt: skip
        return super().add_argument(*name_or_flags, **_numeric_kwargs(kwargs, bounds))

    def add_argument_group(self, *args: Any, **kwargs: Any) -> argparse._ArgumentGroup:
        """As ``ArgumentParser.add_argument_group``; the group's options take bounds too."""
        group = _BoundedGroup(self, *args, **kwargs)
        self._action_groups.append(group)
        return group

    def add_mutually_exclusive_group(self, *, required: bool = False) -> argparse._MutuallyExclusiveGroup:
        """As ``ArgumentParser.add_mutually_exclusive_group``; the group's options take bounds too."""
        group = _BoundedExclusiveGroup(self, required=required)
        self._mutually_exclusive_groups.append(group)
        return group

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: message`` and the usage to stderr, exit 2 (argparse prints the usage first)."""
        self.exit(2, f"{self.prog}: {message}\n{self.format_usage()}")

    @overload
    def parse_args(self, args: Iterable[str] | None = None, namespace: None = None) -> argparse.Namespace: ...
    @overload
    def parse_args(self, args: Iterable[str] | None, namespace: _N) -> _N: ...
    @overload
    def parse_args(self, *, namespace: _N) -> _N: ...

    def parse_args(self, args: Iterable[str] | None = None, namespace: Any = None) -> Any:
        """As ``ArgumentParser.parse_args``; leftover arguments are named with a suggestion."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(self.unknown_message(extras))
        return parsed

    def option_strings(self) -> list[str]:
        """Every option string this parser accepts (``--max-steps``, ``-h`` ...)."""
        return [s for action in self._actions for s in action.option_strings]

    def unknown_message(self, extras: Sequence[str]) -> str:
        """``unknown option --x (did you mean --y?)`` for leftover options, else the unexpected values."""
        options = [arg.split("=", 1)[0] for arg in extras if _looks_like_option(arg)]
        if not options:  # only values: too many positionals, or a value after a flag that takes none
            noun = "argument" if len(extras) == 1 else "arguments"
            return f"unexpected {noun} {', '.join(repr(arg) for arg in extras)}"
        known = self.option_strings()
        named = [f"{option}{suggest(option, known)}" for option in options]
        return f"unknown option{'s' if len(named) > 1 else ''} {', '.join(named)}"

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own check, with the closest choice suggested (argparse turns the error into error()).
        if action.choices is None or value in action.choices:
            return
        choices = [str(choice) for choice in action.choices]
        message = (
            f"invalid {_display_name(action)} {value!r}{suggest(str(value), choices)}; "
            f"choose from {', '.join(choices)}"
        )
        raise argparse.ArgumentError(None, message)


def _first_sentence(text: str) -> str:
    """Up to the first full stop followed by a space outside parentheses (``e.g. x`` inside stays)."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "." and depth <= 0 and (i + 1 == len(text) or text[i + 1] == " "):
            return text[: i + 1]
    return text


def field_help(cls: type) -> dict[str, str]:
    """Field name -> one-line plain-text help of a class's documented fields: the first sentence of the
    attribute docstring under the field (torchtitan style), else the ``#`` comment ending its line.

    Read from the source with ``ast`` at call time, so a field documented in the class is never missing here.
    """
    source = textwrap.dedent(inspect.getsource(cls))
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef), f"{cls.__qualname__}: source is not a class"
    comments = {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }
    out: dict[str, str] = {}
    for node, after in zip(body.body, [*body.body[1:], None], strict=True):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        doc = ""
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            doc = str(after.value.value)
        doc = doc or comments.get(node.end_lineno or node.lineno, "")
        if doc:
            out[node.target.id] = _first_sentence(plain(" ".join(doc.split())))
    return out
