"""A PyPI entry locked to a git commit: written without a sha256, read back, its commit in
``full_id``; a crafted one refused by name. Credentials in a git URL stay out of the spec."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from amber._auth import requirement_with_credentials
from amber.errors import LockFileError, PackError
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.ship.bundle import write_bundle
from amber.spec import Spec
from amber.store import Store

COMMIT = "3c47cb6b01f9335bb6dc46452cfa38a7e675f023"
REPO = "git+https://git.example.com/team/tiny.git"


def _lock(entry: LockedPypi) -> Lock:
    spec = Spec.create(pypi=[f"tiny @ {REPO}@main#subdirectory=sub"], python="3.11")
    body = PlatformLock("linux-64", "3.11", pypi=(entry,))
    return Lock(spec, spec.req_id, {"linux-64": body})


GIT = LockedPypi("tiny", "0.1.0", f"{REPO}#subdirectory=sub", commit=COMMIT)


def test_a_git_entry_round_trips_without_a_sha256() -> None:
    lock = _lock(GIT)
    text = lock.dumps()
    assert f"commit: {COMMIT}" in text and "sha256" not in text.split("pypi:")[1]
    back = Lock.loads(text)
    assert back == lock and back.full_id == lock.full_id
    assert GIT.requirement_line() == f"tiny @ {REPO}@{COMMIT}#subdirectory=sub"
    moved = _lock(dataclasses.replace(GIT, commit="0" * 40))
    assert moved.full_id != lock.full_id  # another commit is another env


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("commit", "main", "is not a git commit id"),
        ("url", "https://example.com/tiny.whl", "is not a git\\+ URL"),
    ],
)
def test_a_crafted_git_entry_is_refused_by_name(field: str, value: str, said: str) -> None:
    text = _lock(dataclasses.replace(GIT, **{field: value})).dumps()
    with pytest.raises(LockFileError, match=said):
        Lock.loads(text, check_id=False)


def test_credentials_in_a_git_url_stay_out_of_the_spec() -> None:
    spec = Spec.create(pypi=["tiny @ git+https://me:s3cret@git.example.com/team/tiny.git@v1"])
    assert "s3cret" not in spec.pypi[0] and spec.pypi[0].endswith(
        "git.example.com/team/tiny.git@v1"
    )
    line = requirement_with_credentials(
        f"tiny @ git+https://git.example.com/team/tiny.git@{COMMIT}"
    )
    assert line == f"tiny @ git+https://me:s3cret@git.example.com/team/tiny.git@{COMMIT}"


def test_a_bundle_refuses_a_git_entry(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    with pytest.raises(PackError, match="locked to a git commit"):
        write_bundle([_lock(GIT)], ["linux-64"], store, tmp_path / "b.tar")
    assert not (tmp_path / "b.tar").exists()
