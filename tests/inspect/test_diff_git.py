"""``amber diff`` of two locks whose git entry moved to another commit (same version)."""

from __future__ import annotations

import dataclasses

from amber.inspect.diff import diff_locks
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.spec import Spec

COMMIT = "3c47cb6b01f9335bb6dc46452cfa38a7e675f023"
GIT = LockedPypi("tiny", "0.1.0", "git+https://git.example.com/team/tiny.git", commit=COMMIT)


def _lock(entry: LockedPypi) -> Lock:
    spec = Spec.create(pypi=["tiny @ git+https://git.example.com/team/tiny.git@main"])
    return Lock(spec, spec.req_id, {"linux-64": PlatformLock("linux-64", "3.11", pypi=(entry,))})


def test_diff_shows_a_moved_commit() -> None:
    [change] = diff_locks(_lock(GIT), _lock(dataclasses.replace(GIT, commit="0" * 40)))
    assert (change.name, change.old, change.new) == (
        "tiny",
        f"0.1.0 (git {COMMIT[:12]})",
        f"0.1.0 (git {'0' * 12})",
    )
