"""A PyPI entry locked to a git commit in other tools' formats: pylock.toml carries it as
PEP 751's ``vcs`` table (commit-id), and reads it back as the same entry."""

from __future__ import annotations

import tomllib
from pathlib import Path

from helpers import write

from amber.formats import ExportOptions, pylock
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.spec import Spec

COMMIT = "3c47cb6b01f9335bb6dc46452cfa38a7e675f023"
GIT = LockedPypi("tiny", "0.1.0", "git+https://git.example.com/team/tiny.git#subdirectory=sub",
                 commit=COMMIT)  # fmt: skip


def test_pylock_carries_a_git_commit_both_ways(tmp_path: Path) -> None:
    spec = Spec.create(pypi=["tiny @ git+https://git.example.com/team/tiny.git@main"])
    lock = Lock(spec, spec.req_id, {"linux-64": PlatformLock("linux-64", "3.11", pypi=(GIT,))})
    exported = pylock.export(lock, ExportOptions())
    [package] = tomllib.loads(exported.text)["packages"]
    assert package["vcs"] == {
        "type": "git", "url": "https://git.example.com/team/tiny.git", "commit-id": COMMIT,
        "subdirectory": "sub",
    }  # fmt: skip
    back = pylock.read(write(tmp_path / "pylock.toml", exported.text))
    assert back.platforms["linux-64"].pypi == (GIT,)
