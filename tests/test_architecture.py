"""The shape of the code, as docs/ARCHITECTURE.md writes it down, checked on every test run."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_packages_import_only_the_layers_below_them() -> None:
    """The import-linter contract in pyproject.toml: data flows one way."""
    result = _tool("lint-imports", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = _tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean() -> None:
    """Lint (imports at the top of modules, but on the hot path of `amber run`) and format."""
    lint = _tool("ruff", "check", "src", "tests", "bench", "examples")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    form = _tool("ruff", "format", "--check", "src", "tests", "bench", "examples")
    assert form.returncode == 0, form.stdout + form.stderr


def test_every_exception_lives_in_errors() -> None:
    """One exception hierarchy in one module (``_relocate`` is the exception: it runs
    without Amber, inside ``bin/amber-unpack``)."""
    elsewhere = []
    for path in sorted((ROOT / "src" / "amber").rglob("*.py")):
        if path.name in ("errors.py", "_relocate.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception", "Failed")))
                for b in node.bases
            ):
                elsewhere.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert elsewhere == []


def test_no_test_module_imports_another() -> None:
    """Shared fixtures and helpers live in conftest.py and the tests' helper modules."""
    tests = {p.stem for p in (ROOT / "tests").rglob("test_*.py")}
    crossing = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            crossing += [f"{path.name} imports {n}" for n in names if n.split(".")[-1] in tests]
    assert crossing == []
