"""Shared pytest fixtures for Amber's tests.

Conda side: small but real conda packages and channels built by
``tests/condapkgs.py`` (no conda channel is reachable from the test machines).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import condapkgs
import pytest


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
