"""A local project (``-e ./path``) in a lock: written as its path, no sha256, read back; its
path (not its contents) in ``full_id``; a crafted absolute path refused by name."""

from __future__ import annotations

import dataclasses

import pytest

from amber.errors import LockFileError
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.spec import Spec

LOCAL = LockedPypi("tinyed", "0.3.0", path="./proj", editable=True)


def _lock(entry: LockedPypi) -> Lock:
    spec = Spec.create(pypi=["-e ./proj"], python="3.11")
    return Lock(spec, spec.req_id, {"linux-64": PlatformLock("linux-64", "3.11", pypi=(entry,))})


def test_a_local_project_round_trips_by_its_path() -> None:
    lock = _lock(LOCAL)
    text = lock.dumps()
    assert "path: ./proj" in text and "editable: true" in text
    assert "sha256" not in text.split("pypi:")[1]
    back = Lock.loads(text)
    assert back == lock and back.full_id == lock.full_id
    assert back.spec.pypi == ("-e ./proj",)
    other = _lock(dataclasses.replace(LOCAL, path="./elsewhere"))
    assert other.full_id != lock.full_id  # the path as written is part of the env's identity
    plain = _lock(dataclasses.replace(LOCAL, editable=False))
    assert plain.full_id != lock.full_id


@pytest.mark.parametrize("path", ["/home/someone/proj", "proj", "~/proj"])
def test_a_crafted_path_is_refused_naming_the_entry(path: str) -> None:
    text = _lock(LOCAL).dumps().replace("path: ./proj", f"path: {path}")
    with pytest.raises(LockFileError, match="tinyed: path .* is not a path relative"):
        Lock.loads(text, check_id=False)
