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
"""

from __future__ import annotations

import argparse
import ast
import difflib
import inspect
import io
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
