"""The path of `amber lock` of a conda request (issue 16, benchmark 16): what it imports,
so that it costs close to what rattler's own solve does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import conda_spec

from amber.lock import Lock

# What locking a conda-only spec does not need: PEP 508 parsing (packaging.requirements and
# the markers and specifiers behind it) is for PyPI requirements.
NOT_FOR_CONDA = {"packaging.requirements", "packaging.markers", "packaging.specifiers"}


def _lock_imports(amber_home: Path, cwd: Path, *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "amber", "lock", "-q", *args],
        cwd=cwd, env={**os.environ, "AMBER_HOME": str(amber_home)},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = [line.split("|")[-1].strip() for line in proc.stderr.splitlines()]
    return {line for line in lines if line and line != "imported package"}


def test_a_conda_lock_skips_what_only_pypi_needs(amber_home, conda_channel, tmp_path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib", "footool")
    modules = _lock_imports(amber_home, tmp_path, "-f", str(spec), "-p", "linux-64")
    assert "amber.resolve.conda" in modules
    assert not modules & NOT_FOR_CONDA, sorted(modules & NOT_FOR_CONDA)
    lock = Lock.read(tmp_path / "amber.lock")
    assert {"python", "greetlib", "footool"} <= {c.name for c in lock.platforms["linux-64"].conda}
    # The same lock, read back, checks against its spec (resolve.check needs no PEP 508 for it).
    modules = _lock_imports(amber_home, tmp_path, "--check", "-f", str(spec))
    assert not modules & NOT_FOR_CONDA, sorted(modules & NOT_FOR_CONDA)
