"""The lock: value types, text form, full_id."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import pytest
from helpers import SNAPSHOT

from amber.errors import LockFileError
from amber.lock import Lock
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec


@pytest.fixture
def caches(tmp_path: Path) -> ResolveCaches:
    return ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")


# The same properties on a small channel built here (always) and on the real defaults
# index of 2017-18 (when ../shared/data is beside the checkout).
_REQUESTS = {
    "local": ["python=3.11", "footool", "greetlib", "datafiles"],
    "defaults-2018": "python=3.6 numpy pandas scipy matplotlib jupyter bokeh dask".split(),
}


@pytest.fixture(params=sorted(_REQUESTS))
def snapshot_request(request: pytest.FixtureRequest) -> tuple[list[str], str, int]:
    """(conda specs, channel, at least how many packages they resolve to)."""
    if request.param == "local":
        return _REQUESTS["local"], request.getfixturevalue("conda_channel_url"), 4
    if not SNAPSHOT.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return _REQUESTS[request.param], str(SNAPSHOT), 100


@pytest.fixture
def snapshot_lock(caches: ResolveCaches, snapshot_request: tuple[list[str], str, int]) -> Lock:
    conda, channel, _ = snapshot_request
    return resolve(Spec.create(conda=conda, channels=[channel]), caches)


def test_realistic_lock_round_trips(
    snapshot_lock: Lock, snapshot_request: tuple[list[str], str, int]
) -> None:
    packages = snapshot_lock.for_platform("linux-64").conda
    assert len(packages) >= snapshot_request[2]
    text = snapshot_lock.dumps()
    again = Lock.loads(text)
    assert again == snapshot_lock and again.dumps() == text
    assert again.full_id == snapshot_lock.full_id


def test_records_survive_the_lock(snapshot_lock: Lock) -> None:
    """A locked package turned back into a rattler record locks to the same entry."""
    from amber.lock import LockedConda

    for package in snapshot_lock.for_platform("linux-64").conda:
        assert LockedConda.from_record(package.to_record()) == package


def test_same_inputs_same_bytes(
    snapshot_lock: Lock, caches: ResolveCaches, snapshot_request: tuple[list[str], str, int]
) -> None:
    conda, channel, _ = snapshot_request
    spec = Spec.create(conda=list(reversed(conda)), channels=[channel])  # order does not matter
    assert resolve(spec, caches).dumps() == snapshot_lock.dumps()


def test_full_id_covers_files_not_urls(snapshot_lock: Lock) -> None:
    linux = snapshot_lock.for_platform("linux-64")
    first = linux.conda[0]
    mirrored = dataclasses.replace(
        first, url=first.url.replace("file://", "https://mirror.example")
    )
    moved = dataclasses.replace(linux, conda=(mirrored, *linux.conda[1:]))
    assert dataclasses.replace(snapshot_lock, platforms={"linux-64": moved}).full_id == (
        snapshot_lock.full_id
    )
    other = dataclasses.replace(first, sha256="0" * 64)
    changed = dataclasses.replace(linux, conda=(other, *linux.conda[1:]))
    assert dataclasses.replace(snapshot_lock, platforms={"linux-64": changed}).full_id != (
        snapshot_lock.full_id
    )


def test_hand_edited_lock_is_refused(snapshot_lock: Lock) -> None:
    text = snapshot_lock.dumps()
    sha = snapshot_lock.for_platform("linux-64").conda[0].sha256
    with pytest.raises(LockFileError, match="full_id does not match"):
        Lock.loads(text.replace(sha, "f" * 64))
    with pytest.raises(LockFileError, match="not an amber lock"):
        Lock.loads("just: yaml\n")


def test_missing_platform_is_explained(snapshot_lock: Lock) -> None:
    with pytest.raises(LockFileError, match=r"no packages for this platform \(osx-arm64\)"):
        snapshot_lock.for_platform("osx-arm64")


def test_no_credentials_in_lock(caches: ResolveCaches, tmp_path: Path) -> None:
    spec = Spec.create(
        pypi=["six"],
        python="3.11",
        index_url="https://__token__:pypi-s3cret@pypi.org/simple",
    )
    text = resolve(spec, caches).dumps()
    assert "s3cret" not in text and "__token__" not in text


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("sha256", "zz", "sha256 'zz' is not 64 hex digits"),
        ("size", -1, "size -1 is not a number of bytes"),
        ("size", "ten", "size 'ten' is not a number of bytes"),
        ("md5", "xyz", "md5 'xyz' is not 32 hex digits"),
        ("url", "libfoo-1.0-0.conda", "is not a URL"),
    ],
)
def test_a_crafted_value_in_a_lock_is_refused_by_name(
    field: str, value: object, complaint: str, tmp_path: Path
) -> None:
    sha = "a" * 64
    entry = {
        "name": "libfoo", "version": "1.0", "build": "0", "build_number": 0,
        "subdir": "linux-64", "url": "https://example.org/ch/linux-64/libfoo-1.0-0.conda",
        "channel": "https://example.org/ch", "sha256": sha, "size": 10,
    }  # fmt: skip
    entry[field] = value
    url = str(entry["url"])
    line = f"linux-64 conda {url.rsplit('/', 1)[-1]} {entry['sha256']}"
    data = {
        "lock_version": 1,
        "req_id": "r",
        "full_id": hashlib.sha256(line.encode()).hexdigest(),
        "spec": Spec.create(conda=["libfoo"], channels=["https://example.org/ch"]).canonical(),
        "platforms": {"linux-64": {"conda": [entry]}},
    }
    with pytest.raises(LockFileError, match=re.escape(complaint)):
        Lock.from_dict(data, "crafted.lock")


def test_an_entry_rattler_cannot_install_from_is_a_lock_error() -> None:
    """Found by the crafted-lock property suite: an empty channel made rattler raise its
    own InvalidUrlError (a traceback) at install time."""
    from amber.lock import LockedConda

    entry = LockedConda(
        name="libfoo", version="1.0", build="0", build_number=0, subdir="linux-64",
        url="http://127.0.0.1:9/x#/libfoo-1.0-0.conda", channel="", sha256="0" * 64,
    )  # fmt: skip
    with pytest.raises(LockFileError, match=r"libfoo-1\.0-0\.conda: its url") as info:
        entry.to_record()
    assert info.value.package == "libfoo"
