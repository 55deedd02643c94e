"""kgtext installs one import name: the wheel's only top-level package is ``kgtext``, mypy types every module
under it, a user's own ``model.py``, ``corpus/`` or ``kg.py`` cannot shadow it, and every ``python -m`` or
``torchrun -m`` module the docs name resolves (docs/ARCHITECTURE.md, "One import name")."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _copy_package(dest: Path) -> Path:
    """A clean copy of what a build or type check reads: the package, pyproject.toml, README and LICENSE."""
    shutil.copytree(ROOT / "kgtext", dest / "kgtext", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def _mypy(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--config-file",
            "pyproject.toml",
            "-p",
            "kgtext.kg",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.long
def test_mypy_types_the_package_and_catches_planted_errors(tmp_path: Path) -> None:
    """A type error planted in kgtext.kg.records is reported, and so is a wrong call of a class imported from
    another module: were imports resolved to ``Any`` (a package-dir mapping mypy cannot follow, or a blanket
    ignore_missing_imports), the second would pass silently."""
    folder = _copy_package(tmp_path)
    clean = _mypy(folder)
    assert clean.returncode == 0, clean.stdout
    records = folder / "kgtext" / "kg" / "records.py"
    records.write_text(
        records.read_text(encoding="utf-8") + '\n\nPLANTED: int = "not an int"\n', encoding="utf-8"
    )
    (folder / "kgtext" / "kg" / "planted_call.py").write_text(
        "from kgtext.kg.config import KgConfig\n\nKgConfig(no_such_field=1)\n", encoding="utf-8"
    )
    found = _mypy(folder)
    assert found.returncode == 1
    errors = sorted(line.split(":")[0] for line in found.stdout.splitlines() if ": error:" in line)
    assert errors == ["kgtext/kg/planted_call.py", "kgtext/kg/records.py"], found.stdout


def test_mypy_lets_only_named_third_party_modules_through() -> None:
    """``ignore_missing_imports`` is set per third-party module, never globally nor for kgtext's own."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert "ignore_missing_imports" not in config
    let_through = [
        name
        for override in config["overrides"]
        if override.get("ignore_missing_imports")
        for name in override["module"]
    ]
    assert let_through and not any(name.split(".")[0] == "kgtext" for name in let_through)


@pytest.mark.long
def test_the_wheel_installs_only_kgtext(tmp_path: Path) -> None:
    """Built from a clean copy (not a stale build/), the wheel's only top-level package is kgtext; the KG
    tables it reads at run time travel with it."""
    source = _copy_package(tmp_path / "src")
    out = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("kgtext-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"kgtext"}
    assert "kgtext/kg/data/wikidata_properties.tsv" in names
    assert {"kgtext/model/pretrain.py", "kgtext/pipelines/build_corpus.py", "kgtext/cli.py"} <= set(names)


def _user_folder(tmp_path: Path) -> Path:
    """A user's project holding the generic names kgtext's components had before they moved under kgtext."""
    folder = tmp_path / "project"
    (folder / "corpus").mkdir(parents=True)
    (folder / "corpus" / "__init__.py").write_text("raise ImportError('the user corpus package')\n")
    (folder / "model.py").write_text("raise ImportError('the user model.py')\n")
    (folder / "kg.py").write_text("raise ImportError('the user kg.py')\n")
    (folder / "pipelines.py").write_text("raise ImportError('the user pipelines.py')\n")
    return folder


def test_a_users_model_corpus_and_kg_do_not_shadow_kgtext(tmp_path: Path) -> None:
    folder = _user_folder(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(folder)}
    code = (
        "import kgtext.model.train.cli, kgtext.corpus.reader, kgtext.kg.records, kgtext.pipelines.build_corpus;"
        "import kgtext.model.use.finetune; print('imported')"
    )
    ran = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "imported"
    for argv in (
        [str(BIN / "kgtext"), "inspect", "--help"],
        [sys.executable, "-m", "kgtext", "kg-stats", "--help"],
        [sys.executable, "-m", "kgtext.model.pretrain", "--help"],
    ):
        ran = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
        assert ran.returncode == 0, (argv, ran.stderr)
        assert ran.stdout.startswith("usage:"), argv


DOC_FILES = ["README.md", "Makefile", *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("docs/*.md"))]
MODULE_FLAG = re.compile(r"(?:python[0-9.]*|torchrun)\b[^`\n|]*?\s-m\s+([A-Za-z_][A-Za-z0-9_.]*)")
OWN = ("kgtext", "bench")


def documented_modules(text: str) -> set[str]:
    """The modules ``python -m`` or ``torchrun ... -m`` lines run in a text."""
    return {name.rstrip(".") for name in MODULE_FLAG.findall(text)}


def test_documented_modules_are_found_in_text() -> None:
    text = "run `python -m kgtext.model.pretrain --help`; torchrun --nproc-per-node 2 -m kgtext.model.pretrain x\n"
    text += "python3 -m pip install x | y\n`.venv/bin/python -m bench.proof`.\n"
    assert documented_modules(text) == {"kgtext.model.pretrain", "pip", "bench.proof"}


def test_every_documented_module_resolves() -> None:
    """Our own modules named after -m in the docs, the Makefile or a module's docstring exist (third-party
    tools such as pip or build are not ours to check)."""
    texts = {name: (ROOT / name).read_text(encoding="utf-8") for name in DOC_FILES}
    for folder in ("kgtext", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            texts[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    named = {(where, module) for where, text in texts.items() for module in documented_modules(text)}
    ours = {(where, module) for where, module in named if module.split(".")[0] in OWN}
    assert {m for _, m in ours} >= {"kgtext.model.pretrain", "kgtext.pipelines.build_corpus", "bench.proof"}
    missing = sorted(
        f"{where}: {module}" for where, module in ours if importlib.util.find_spec(module) is None
    )
    assert missing == []
    old_names = sorted(
        f"{where}: {module}"
        for where, module in named
        if module.split(".")[0] in {"kg", "aligners", "corpus", "pipelines", "model"}
    )
    assert old_names == []
