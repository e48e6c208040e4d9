"""`amber lock` of a PyPI-only spec costs what uv does plus a small start: it never loads the
conda side (rattler), asyncio, the progress display's rich, or the remote store's fsspec."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import write

from amber.lock import Lock

# What a PyPI-only `amber lock` must not import: the conda solver, an event loop for its one
# uv call, and what only other commands need.
NOT_FOR_PYPI = {"rattler", "rich", "fsspec", "asyncio"}


def _lock_imports(amber_home: Path, cwd: Path, *args: object) -> set[str]:
    """The top-level packages ``amber lock ARGS`` imports (``-X importtime``)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "amber", "lock", *map(str, args)],
        cwd=cwd, env={**os.environ, "AMBER_HOME": str(amber_home)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = (line.split("|")[-1].strip() for line in proc.stderr.splitlines())
    return {line.split(".")[0] for line in lines if line and line != "imported package"}


def test_a_pypi_only_lock_loads_no_conda_machinery(amber_home: Path, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "six\n")
    out = tmp_path / "out.lock"
    modules = _lock_imports(amber_home, tmp_path, "-q", "-f", spec, "-o", out)
    assert not modules & NOT_FOR_PYPI, sorted(modules & NOT_FOR_PYPI)
    pypi = Lock.read(out).for_platform(Lock.read(out).spec.target_platforms[0]).pypi
    assert [p.name for p in pypi] == ["six"] and pypi[0].sha256


def test_a_pypi_only_check_loads_no_conda_machinery(amber, amber_home: Path, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "six\n")
    amber("lock", "-q", "-f", spec, cwd=tmp_path, check=True)
    modules = _lock_imports(amber_home, tmp_path, "--check", "-f", spec)
    assert not modules & NOT_FOR_PYPI, sorted(modules & NOT_FOR_PYPI)
