"""Enforces the import rules of the house style by parsing every module's imports.

kg/, aligners/, corpus/ are pure (no apache_beam, no torch); pipelines/ never imports torch or model/;
model/ never imports Beam, kg/, aligners/ or pipelines/ (it reads shards through corpus/ only); only the
kgtext dispatcher may import both pipelines/ and model/. Inside model/: the core (its top-level modules)
never imports model.data, model.train or model.use; model.data never imports model.train or model.use;
model.train never imports model.use (docs/ARCHITECTURE.md).
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
    return {name.split(".")[0] for name in imported_modules(path)}


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


def imported_modules(path: Path) -> set[str]:
    """Full dotted names of the modules a file imports (absolute imports; ``from a import b`` gives ``a``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            # ``from model import train`` imports the sub-package itself.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


MODEL_LAYERS: dict[str, tuple[str, ...]] = {
    "core": ("model.data", "model.train", "model.use"),
    "data": ("model.train", "model.use"),
    "train": ("model.use",),
    "use": (),
}
"""Layer of model/ -> the sub-packages it must not import."""

ENTRY_POINTS = {"model/pretrain.py"}
"""Thin aliases of model.train entry points (``torchrun -m model.pretrain``), outside the layer rule."""


def _model_layer(path: Path) -> str | None:
    rel = path.relative_to(ROOT / "model")
    if len(rel.parts) == 1:
        return None if str(path.relative_to(ROOT)) in ENTRY_POINTS else "core"
    return rel.parts[0] if rel.parts[0] in MODEL_LAYERS else None


def _violates(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def test_model_sub_packages_respect_directions() -> None:
    violations = []
    for path in _modules("model"):
        layer = _model_layer(path)
        if layer is None:
            continue
        bad = sorted(n for n in imported_modules(path) if _violates(n, MODEL_LAYERS[layer]))
        violations += [f"{path.relative_to(ROOT)} ({layer}) imports {n}" for n in bad]
    assert violations == []


def test_model_layer_rule_sees_violations(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "from model import train\nimport model.data.collate\nfrom model.config import ModelConfig\n"
    )
    names = imported_modules(src)
    assert {n for n in names if _violates(n, MODEL_LAYERS["core"])} == {"model.train", "model.data.collate"}
    assert {n for n in names if _violates(n, MODEL_LAYERS["data"])} == {"model.train"}


def test_architecture_doc_names_only_code_that_exists() -> None:
    """Every dotted name in docs/ARCHITECTURE.md's backticks (``corpus.tasks.compose.compose_document``)
    resolves to a module or an attribute of one, and every model/ sub-package appears in its map."""
    import importlib
    import re

    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    roots = tuple(f"{p}." for p in FORBIDDEN)
    missing = []
    for name in sorted(set(re.findall(r"`([a-z_]+(?:\.[A-Za-z_]+)+)`", text))):
        if not name.startswith(roots):
            continue
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj: object = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(name)
            break
        else:
            missing.append(name)
    assert missing == []
    packages = sorted(p.parent.name for p in (ROOT / "model").glob("*/__init__.py"))
    assert packages == ["data", "train", "use"]
    assert all(f"model/{p}/" in text for p in packages)
