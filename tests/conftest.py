"""Shared pytest fixtures for Amber's tests.

Conda side: small but real conda packages and channels built by
``tests/condapkgs.py`` (no conda channel is reachable from the test machines).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import condapkgs
import pytest
from hypothesis import settings

pytest_plugins = ["remote_fixtures"]

# CI (`.ci/run` sets AMBER_CI) runs the property tests on examples derived from each test
# alone, the same every run, so that a change lands or fails on its own merit; a developer's
# run draws new examples every time and keeps finding what those miss.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("AMBER_CI"):
    settings.load_profile("ci")


def _test_cache_root() -> Path:
    """``$AMBER_TEST_CACHE`` or ``~/.cache/amber-tests`` (kept across sessions)."""
    env = os.environ.get("AMBER_TEST_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "amber-tests"


@pytest.fixture(scope="session")
def wheel_cache_dir() -> Path:
    """Directory caching PyPI wheels used to build test conda packages (persistent)."""
    path = _test_cache_root() / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def conda_packages(wheel_cache_dir: Path) -> list[condapkgs.CondaPackage]:
    """The standard test package set (see ``condapkgs.default_packages``)."""
    return condapkgs.default_packages(wheel_cache_dir)


@pytest.fixture(scope="session")
def conda_channel(tmp_path_factory: pytest.TempPathFactory, conda_packages) -> Path:
    """A built and indexed conda channel directory holding the default packages.

    Session-scoped and shared: do not modify it; copy it
    (``condapkgs.copy_channel``) or build another with ``condapkgs.build_channel``.
    """
    root = tmp_path_factory.mktemp("conda-channel")
    return condapkgs.build_channel(root, conda_packages)


@pytest.fixture(scope="session")
def conda_channel_url(conda_channel: Path) -> str:
    """The ``file://`` URL of ``conda_channel`` (no trailing slash)."""
    return conda_channel.as_uri()


@pytest.fixture(scope="session")
def http_channel(conda_channel: Path) -> Iterator[str]:
    """``conda_channel`` served over HTTP; the base URL ``http://127.0.0.1:PORT``.

    The value is a ``condapkgs.ServedDirectory`` (a ``str``).  It is shared by
    the whole session, so do not ``stop()`` it; use ``condapkgs.serve_directory``
    for a server a test may take down.
    """
    with condapkgs.serve_directory(conda_channel) as url:
        yield url


# -- Amber itself ---------------------------------------------------------------


@pytest.fixture
def amber_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty store for one test (``$AMBER_HOME``)."""
    home = tmp_path / "amber-home"
    monkeypatch.setenv("AMBER_HOME", str(home))
    return home


class AmberResult:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def __repr__(self) -> str:
        return f"<amber exit={self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}>"


@pytest.fixture
def amber(amber_home: Path):
    """Run the real ``amber`` CLI in a subprocess: ``amber("lock", "-f", path, cwd=...)``."""

    def run(
        *args: object,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        check: bool | None = None,
        timeout: float = 600,
    ) -> AmberResult:
        environ = {**os.environ, "AMBER_HOME": str(amber_home), **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "amber", *map(str, args)],
            cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        result = AmberResult(proc)
        if check is True:
            assert result.returncode == 0, result
        return result

    return run
