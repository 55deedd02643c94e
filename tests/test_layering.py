"""Enforces the import rules of the house style by parsing every module's imports.

kg/, aligners/, corpus/ are pure (no apache_beam, no torch); pipelines/ never imports torch or model/;
model/ never imports Beam, kg/, aligners/ or pipelines/ (it reads shards through corpus/ only); only the
kgtext dispatcher may import both pipelines/ and model/.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN: dict[str, set[str]] = {
    "kg": {"apache_beam", "torch", "aligners", "pipelines", "model", "kgtext"},
    "aligners": {"apache_beam", "torch", "pipelines", "model", "kgtext"},
    "corpus": {"apache_beam", "torch", "kg", "aligners", "pipelines", "model", "kgtext"},
    "pipelines": {"torch", "model", "kgtext"},
    "model": {"apache_beam", "kg", "aligners", "pipelines", "kgtext"},
}


def imported_roots(path: Path) -> set[str]:
    """Top-level module names imported anywhere in a file (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_import_rules(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in sorted(imported_roots(path) & FORBIDDEN[package])
    ]
    assert violations == []


def test_imported_roots_sees_nested_and_from_imports(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "import os.path\nfrom torch import nn\ndef f():\n    import apache_beam as beam\nfrom . import x\n"
    )
    assert imported_roots(src) == {"os", "torch", "apache_beam"}


def test_no_relative_imports_escape_layering() -> None:
    """Relative imports would hide cross-package edges from the check above: only absolute imports."""
    offenders = []
    for package in FORBIDDEN:
        for path in _modules(package):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if any(isinstance(n, ast.ImportFrom) and n.level > 0 for n in ast.walk(tree)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
