"""Step and ``amber.Env`` interpreters given as ranges, and envs locked for other platforms."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import amber
from amber import api
from amber.api.session import Session
from amber.errors import InterpreterNotFoundError, SpecError

HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"
AROUND = f">={sys.version_info[0]}.{sys.version_info[1] - 1},<{sys.version_info[0]}.{sys.version_info[1] + 1}"  # noqa: E501


def test_a_python_range_picks_an_interpreter_inside_it(amber_home: Path) -> None:
    @amber.step(pypi=["six==1.16.0"], python=AROUND)
    def where() -> str:
        import sys

        return f"{sys.version_info[0]}.{sys.version_info[1]}"

    assert where() == HERE  # the running interpreter, as it lies in the range
    assert amber.Env(pypi=["six"], python=AROUND).python_version == HERE
    with pytest.raises(InterpreterNotFoundError, match=r"Python >=3\.99"):
        _ = amber.Env(pypi=["six"], python=">=3.99").req_id
    with pytest.raises(SpecError, match=r"invalid python version '>=three'"):
        amber.Env(python=">=three")


def test_a_python_range_in_a_conda_env_is_a_match_spec(amber_home: Path, conda_channel: Path):
    spec = amber.Env(conda=["greetlib"], channels=[str(conda_channel)], python=AROUND)
    python = [c for c in spec.conda if c.startswith("python ")]
    assert len(python) == 1 and all(bound in python[0] for bound in AROUND.split(","))

    @amber.step(spec)
    def where() -> str:
        import sys

        return f"{sys.version_info[0]}.{sys.version_info[1]}"

    assert where() == HERE


def test_env_platforms_lock_for_other_workers(amber_home: Path) -> None:
    spec = amber.Env(pypi=["six==1.16.0"], python=HERE, platforms=["linux-64", "osx-arm64"])
    lock = api.lock(spec, session=Session.open(amber_home, quiet=True))
    assert sorted(lock.platforms) == ["linux-64", "osx-arm64"]
