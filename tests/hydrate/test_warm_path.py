"""The warm path of `amber install -f amber.lock`: every cache warm, only the work a hydrate
needs (issue 16: at least as fast as uv's own `uv venv` + `uv pip sync`). No timings here:
what is checked is the work done (modules imported, processes started, files read)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# What hydrating a PyPI-only lock never needs: the solver stack and the conda engine.
SOLVER = {"rattler", "amber.resolve", "amber.api.locking", "amber.hydrate.conda"}


def _install_imports(amber_home: Path, cwd: Path, *args: object) -> tuple[set[str], str]:
    """The modules ``amber install ARGS`` imports (``-X importtime``) and what it printed."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "amber", "install", *map(str, args)],
        cwd=cwd, env={**os.environ, "AMBER_HOME": str(amber_home)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line.split("|")[-1].strip() for line in proc.stderr.splitlines()]
    return {line for line in lines if line and line != "imported package"}, proc.stdout


@pytest.fixture
def pypi_lock(amber, tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("six==1.17.0\n")
    amber("lock", "-q", "-f", "requirements.txt", cwd=project, check=True)
    return project / "amber.lock"


def test_a_pypi_only_lock_hydrates_without_the_solver_or_rattler(amber, amber_home, pypi_lock):
    modules, out = _install_imports(amber_home, pypi_lock.parent, "-q", "-f", pypi_lock)
    assert not modules & SOLVER, sorted(modules & SOLVER)
    env = Path(out.strip())
    check = [str(env / "bin" / "python"), "-c", "import six; print(six.__version__)"]
    assert subprocess.run(check, capture_output=True, text=True).stdout.strip() == "1.17.0"
    # Again after `amber env rm`: the warm path, every cache full.
    full_id = (env / ".amber" / "complete").read_text().strip()
    amber("env", "rm", full_id, check=True)
    modules, out = _install_imports(amber_home, pypi_lock.parent, "-q", "-f", pypi_lock)
    assert not modules & SOLVER, sorted(modules & SOLVER)
    assert Path(out.strip()) == env and (env / ".amber" / "complete").is_file()
