"""What a PyPI entry requires: written when recorded (an empty list too), absent in older
locks (read as not recorded), never part of ``full_id``; a crafted value refused by name."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from amber.errors import LockFileError
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.spec import Spec


def _wheel(name: str, version: str, requires: tuple[str, ...] | None) -> LockedPypi:
    file_name = f"{name}-{version}-py3-none-any.whl"
    sha256 = hashlib.sha256(file_name.encode()).hexdigest()
    return LockedPypi(
        name, version, f"https://files.example/{file_name}", sha256, requires=requires
    )


def _lock(*entries: LockedPypi) -> Lock:
    spec = Spec.create(pypi=["requests==2.19.1"], python="3.11")
    body = PlatformLock("linux-64", "3.11", pypi=entries)
    return Lock(spec, spec.req_id, {"linux-64": body})


def test_requires_round_trip_and_leave_full_id_alone() -> None:
    recorded = _lock(_wheel("requests", "2.19.1", ("idna",)), _wheel("idna", "2.7", ()))
    text = recorded.dumps()
    assert "requires:\n      - idna\n" in text and "requires: []" in text
    back = Lock.loads(text)
    assert back == recorded
    assert [p.requires for p in back.for_platform("linux-64").pypi] == [(), ("idna",)]
    older = _lock(_wheel("requests", "2.19.1", None), _wheel("idna", "2.7", None))
    assert "requires" not in older.dumps()
    assert Lock.loads(older.dumps()).for_platform("linux-64").pypi[0].requires is None
    assert older.full_id == recorded.full_id


@pytest.mark.parametrize("value", ["idna", "[1]", "{a: b}"])
def test_a_crafted_requires_is_refused(value: str) -> None:
    lock = _lock(dataclasses.replace(_wheel("requests", "2.19.1", ("idna",))))
    text = lock.dumps().replace("requires:\n      - idna\n", f"requires: {value}\n")
    assert text != lock.dumps()
    with pytest.raises(LockFileError, match="requires"):
        Lock.loads(text)
