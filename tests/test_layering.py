"""Enforces the import rules of the house style by parsing every module's imports.

Every package lives under the one import name ``kgtext``, so a rule is about the *second* name of an import
(``kgtext.model.config`` belongs to ``model``); ``kgtext.cli`` (and ``kgtext`` itself) is the dispatcher,
named ``kgtext`` here. common/ is the floor: the standard library only, nothing of kgtext's above it.
kg/ (ingestion) never imports corpus/ (the output contract). kg/, aligners/, corpus/ are pure (no apache_beam, no torch); pipelines/ never imports
torch or model/; model/ never imports Beam, kg/, aligners/ or pipelines/ (it reads shards through corpus/ only);
only the kgtext dispatcher may import both pipelines/ and model/. evaluation/ is the top floor (gold sets, the
build run on them): nothing but the dispatcher imports it. Inside model/: the core (its top-level
modules) never imports model.data, model.train or model.use; model.data never imports model.train or
model.use; model.train never imports model.use (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kgtext"

FORBIDDEN: dict[str, set[str]] = {
    "common": {"kg", "aligners", "corpus", "pipelines", "model", "evaluation", "kgtext"},
    "kg": {"apache_beam", "torch", "corpus", "aligners", "pipelines", "model", "evaluation", "kgtext"},
    "aligners": {"apache_beam", "torch", "pipelines", "model", "evaluation", "kgtext"},
    "corpus": {"apache_beam", "torch", "kg", "aligners", "pipelines", "model", "evaluation", "kgtext"},
    "pipelines": {"torch", "model", "evaluation", "kgtext"},
    "model": {"apache_beam", "kg", "aligners", "pipelines", "evaluation", "kgtext"},
    "evaluation": {"torch", "model", "kgtext"},
}
"""Component of kgtext -> the components (and third-party roots) it must not import."""


def component(name: str) -> str:
    """The layer an imported module belongs to: ``kgtext.X...`` -> X for a component, ``kgtext`` for the
    dispatcher (``kgtext``, ``kgtext.cli``, ``kgtext.__main__``); any other module -> its first name."""
    parts = name.split(".")
    if parts[0] != "kgtext":
        return parts[0]
    return parts[1] if len(parts) > 1 and parts[1] in FORBIDDEN else "kgtext"


def imported_roots(path: Path) -> set[str]:
    """The layers (see ``component``) of the modules a file imports (absolute imports only)."""
    return {component(name) for name in imported_modules(path)}


def _modules(package: str, root: Path = PACKAGE) -> list[Path]:
    return sorted((root / package).rglob("*.py"))


def violations(root: Path = PACKAGE) -> list[str]:
    """Every import under ``root`` (a ``kgtext`` package folder) that breaks FORBIDDEN."""
    return [
        f"{path.relative_to(root.parent)} imports {name}"
        for package in sorted(FORBIDDEN)
        for path in _modules(package, root)
        for name in sorted(imported_roots(path) & FORBIDDEN[package])
    ]


def test_packages_respect_import_rules() -> None:
    assert violations() == []


def test_common_imports_the_standard_library_only() -> None:
    """The floor under every component: no third-party package (so kg/ and corpus/ stay light to import)."""
    import sys

    allowed = set(sys.stdlib_module_names) | {"__future__", "common"}
    found = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules("common")
        for name in imported_roots(path)
        if name not in allowed
    )
    assert found == []


def test_every_component_is_checked() -> None:
    """A new component folder under kgtext/ must get its rules here, or it would be checked by nothing."""
    found = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert found == set(FORBIDDEN)


@pytest.mark.parametrize(
    ("package", "line", "caught"),
    [
        ("kg", "from kgtext.model.config import ModelConfig", "model"),
        ("aligners", "import kgtext.pipelines.align", "pipelines"),
        ("kg", "from kgtext.corpus.records import Mention", "corpus"),
        ("common", "from kgtext.kg.records import Triple", "kg"),
        ("pipelines", "from kgtext.evaluation.score import Scores", "evaluation"),
        ("corpus", "from kgtext import cli", "kgtext"),
        ("model", "def f():\n    import kgtext.pipelines.build_corpus", "pipelines"),
        ("pipelines", "import torch.nn", "torch"),
    ],
)
def test_a_planted_forbidden_import_is_caught(tmp_path: Path, package: str, line: str, caught: str) -> None:
    """The self-test of the rule: every first name is ``kgtext`` now, so a check of first names would pass
    anything; a forbidden import planted in a copy of the package tree must be reported."""
    import shutil

    root = tmp_path / "kgtext"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    assert violations(root) == []
    (root / package / "planted.py").write_text(line + "\n", encoding="utf-8")
    assert violations(root) == [f"kgtext/{package}/planted.py imports {caught}"]


def test_imported_roots_sees_nested_and_from_imports(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "import os.path\nfrom torch import nn\ndef f():\n    import apache_beam as beam\nfrom . import x\n"
        "from kgtext.kg.records import Triple\nfrom kgtext import cli\nimport kgtext\n"
    )
    assert imported_roots(src) == {"os", "torch", "apache_beam", "kg", "kgtext"}


def test_no_relative_imports_escape_layering() -> None:
    """Relative imports would hide cross-package edges from the check above: only absolute imports."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
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
    "core": ("kgtext.model.data", "kgtext.model.train", "kgtext.model.use"),
    "data": ("kgtext.model.train", "kgtext.model.use"),
    "train": ("kgtext.model.use",),
    "use": (),
}
"""Layer of model/ -> the sub-packages it must not import."""

ENTRY_POINTS = {"kgtext/model/pretrain.py"}
"""Thin aliases of model.train entry points (``torchrun -m kgtext.model.pretrain``), outside the layer rule."""


def _model_layer(path: Path) -> str | None:
    rel = path.relative_to(PACKAGE / "model")
    if len(rel.parts) == 1:
        return None if str(path.relative_to(ROOT)) in ENTRY_POINTS else "core"
    return rel.parts[0] if rel.parts[0] in MODEL_LAYERS else None


def _violates(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def test_model_sub_packages_respect_directions() -> None:
    found = []
    for path in _modules("model"):
        layer = _model_layer(path)
        if layer is None:
            continue
        bad = sorted(n for n in imported_modules(path) if _violates(n, MODEL_LAYERS[layer]))
        found += [f"{path.relative_to(ROOT)} ({layer}) imports {n}" for n in bad]
    assert found == []


def test_model_layer_rule_sees_violations(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "from kgtext.model import train\nimport kgtext.model.data.collate\n"
        "from kgtext.model.config import ModelConfig\n"
    )
    names = imported_modules(src)
    assert {n for n in names if _violates(n, MODEL_LAYERS["core"])} == {
        "kgtext.model.train",
        "kgtext.model.data.collate",
    }
    assert {n for n in names if _violates(n, MODEL_LAYERS["data"])} == {"kgtext.model.train"}


def test_architecture_doc_names_only_code_that_exists() -> None:
    """Every dotted name in docs/ARCHITECTURE.md's backticks (``kgtext.corpus.tasks.compose.compose_document``)
    resolves to a module or an attribute of one, and every model/ sub-package appears in its map."""
    import importlib
    import re

    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    roots = tuple(f"kgtext.{p}." for p in FORBIDDEN)
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
    packages = sorted(p.parent.name for p in (PACKAGE / "model").glob("*/__init__.py"))
    assert packages == ["data", "train", "use"]
    assert all(f"model/{p}/" in text for p in packages)
