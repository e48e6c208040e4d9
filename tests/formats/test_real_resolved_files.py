"""Every real conda-lock and explicit file of ../shared/data/real: Amber imports exactly the
packages the file's own tool lists (conda-lock's reader when it is installed, else its
rules restated by bench/formats_table.py; conda's for explicit files), or refuses naming
the file's entry and the reason: no silent loss. docs/formats.md records the outcomes."""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from helpers import SHARED

REAL = SHARED / "real"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="no ../shared/data/real")
BENCH = Path(__file__).resolve().parents[2] / "bench"


@functools.cache
def _table() -> ModuleType:
    """bench/formats_table.py, the table's generator (a script, not a test module)."""
    sys.path.insert(0, str(BENCH))  # it imports envyml_table beside it
    try:
        spec = importlib.util.spec_from_file_location("formats_table", BENCH / "formats_table.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["formats_table"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def _conda_lock_reference(path: Path) -> frozenset | None:
    """conda-lock's own reader, when it is installed (it cannot share Amber's venv in
    general: it pins filelock<4), with conda-lock install's default categories."""
    if importlib.util.find_spec("conda_lock") is None:
        return None
    if not re.search(r"^version: 1\s*$", path.read_text(encoding="utf-8"), re.MULTILINE):
        return None  # rattler's legacy v2/v3 forms: conda-lock reads only version 1
    from conda_lock.lockfile import parse_conda_lock_file  # noqa: PLC0415 - optional

    try:
        lockfile = parse_conda_lock_file(path)
    except Exception:  # its own errors for versions it does not read (rattler's v3)
        return None
    return frozenset(
        (p.manager, re.sub(r"[-_.]+", "-", p.name).lower() if p.manager == "pip" else p.name,
         p.platform)
        for p in lockfile.package
        if p.categories & {"main", "dev"} and not (p.manager == "conda" and p.name.startswith("__"))
    )  # fmt: skip


def _problem(path: Path, outcome: object) -> str | None:
    """Why ``outcome`` is not the file's own reading, or None when it is."""
    table = _table()
    listed = table.listing(path)
    reference = _conda_lock_reference(path) if path.parent.name == "conda-lock" else None
    if reference is not None and reference != listed.packages:
        return "the restated rules differ from conda-lock's own reader"
    if outcome.refused is None:
        if listed.refused is not None:
            return f"imported, but the file's own tool refuses it: {listed.refused}"
        got = table.imported(outcome.lock)
        if got != listed.packages:
            lost, added = sorted(listed.packages - got), sorted(got - listed.packages)
            return f"lost {lost[:5]}, added {added[:5]}"
        return None
    # A refusal names an entry: the package (by name) or the line it is on, and says why.
    if listed.refused is not None:
        line = re.match(r"line (\d+)", listed.refused)
        return None if line and f"line {line[1]}:" in outcome.refused else outcome.refused
    names = {name for _, name, _ in listed.packages}
    named = re.search(r"cannot import (?:the (?:conda|pip) package (\S+)|line \d+ \((\S+)\))",
                      outcome.refused)  # fmt: skip
    if not named:
        return f"the refusal names no entry: {outcome.refused}"
    entry = named[1] or named[2].removesuffix(".conda").removesuffix(".tar.bz2").rsplit("-", 2)[0]
    if entry not in names or ": " not in outcome.refused.split(entry, 1)[1]:
        return f"the refusal names no entry of the file, or no reason: {outcome.refused}"
    return None


def test_every_file_imported_or_refused_by_entry_and_the_table_is_current(
    tmp_path: Path,
) -> None:
    """One test over the whole corpus, so that it is read once, all files at once (the
    waits are for the unreachable channels they name)."""
    table = _table()
    paths = table.corpus()
    results = table.outcomes(paths, tmp_path / "uv-cache")
    problems = {
        f"{p.parent.name}/{p.name}": why
        for p, outcome in zip(paths, results, strict=True)
        if p.parent.name != "pyproject" and (why := _problem(p, outcome)) is not None
    }
    assert not problems, problems
    assert sum(p.parent.name == "conda-lock" for p in paths) >= 9
    text = table.updated(table.DOC.read_text(), table.render(paths, results))
    assert table.DOC.read_text() == text, "run python bench/formats_table.py"
