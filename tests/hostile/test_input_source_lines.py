"""No ``.splitlines()`` on file contents anywhere in the project (issue 25, case 3).

``str.splitlines`` also splits at U+2028, U+2029, U+0085 (and ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``), which
JSON allows raw inside strings: one such character in a record split a dead letter, a tokenizer-sample
sentence or a fine-tuning record in two and crashed the command. Every JSONL read goes through
:mod:`kgtext.common.jsonl` (lines end at ``\\n`` only), other text through :func:`kgtext.common.jsonl.split_lines`.

The check parses every module and flags ``X.splitlines()`` where ``X`` is a call of ``read_text``,
``read_bytes``, ``read`` or ``decode``, or a name the same function (or module) assigned from one. Split
error messages, docstrings and subprocess output as needed: they are not file contents.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kg", "aligners", "corpus", "pipelines", "model", "kgtext", "bench", "scripts")
READS = frozenset({"read_text", "read_bytes", "read", "decode"})

ALLOWED: dict[str, str] = {
    "bench/bench_pipeline.py:/proc/self/status": "a kernel pseudo-file of 'Key: value' lines, never JSON",
    "bench/run_all.py:/proc/cpuinfo": "a kernel pseudo-file of 'key : value' lines, never JSON",
}
"""``path:text on the line`` -> why that split of file contents is safe. Keep this list short."""


def _is_read(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in READS


def _scopes(tree: ast.Module) -> list[ast.AST]:
    return [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of ``scope`` outside the functions nested in it."""
    found, todo = [], list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def file_content_splits(source: str) -> list[int]:
    """Line numbers of ``.splitlines()`` calls on file contents in ``source``."""
    tree = ast.parse(source)
    lines = []
    for scope in _scopes(tree):
        nodes = _own_nodes(scope)
        contents = {
            target.id
            for node in nodes
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            and node.value is not None
            and _is_read(node.value)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        for node in nodes:
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "splitlines"
            ):
                continue
            base = node.func.value
            if _is_read(base) or (isinstance(base, ast.Name) and base.id in contents):
                lines.append(node.lineno)
    return sorted(lines)


def _allowed(rel: str, line: str) -> bool:
    return any(rel == key.split(":", 1)[0] and key.split(":", 1)[1] in line for key in ALLOWED)


def test_no_splitlines_on_file_contents() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            rel = str(path.relative_to(ROOT))
            text = source.split("\n")
            for number in file_content_splits(source):
                # A call spread over several lines: look at the line and the two before it.
                context = " ".join(text[max(0, number - 3) : number])
                if not _allowed(rel, context):
                    offenders.append(f"{rel}:{number}: {text[number - 1].strip()}")
    assert offenders == [], "split at '\\n' only (common.jsonl):\n" + "\n".join(offenders)


def test_the_check_sees_direct_and_named_reads() -> None:
    source = (
        "def f(p, raw):\n"
        "    a = p.read_text().splitlines()\n"
        "    text = raw.decode('utf-8')\n"
        "    b = text.splitlines()\n"
        "    c = str(err).splitlines()[0]\n"
        "    d = proc.stdout.strip().splitlines()\n"
        "    e = (p.read_bytes()\n"
        "         .splitlines())\n"
        "def g(text):\n"
        "    return text.splitlines()\n"
    )
    assert file_content_splits(source) == [2, 4, 7]


def test_the_allow_list_names_files_that_exist() -> None:
    for key in ALLOWED:
        path, text = key.split(":", 1)
        assert text in (ROOT / path).read_text(encoding="utf-8"), key
