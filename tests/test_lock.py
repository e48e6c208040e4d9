"""The lock: value types, text form, full_id."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from amber.errors import LockFileError
from amber.lock import Lock
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec

SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "repodata" / "defaults-2018"


@pytest.fixture
def caches(tmp_path: Path) -> ResolveCaches:
    return ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")


@pytest.fixture
def snapshot_lock(caches: ResolveCaches) -> Lock:
    if not SNAPSHOT.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    spec = Spec.create(
        conda=["python=3.6", "numpy", "pandas", "scipy", "matplotlib", "jupyter", "bokeh", "dask"],
        channels=[str(SNAPSHOT)],
    )
    return resolve(spec, caches)


def test_realistic_lock_round_trips(snapshot_lock: Lock) -> None:
    packages = snapshot_lock.for_platform("linux-64").conda
    assert len(packages) > 100
    text = snapshot_lock.dumps()
    again = Lock.loads(text)
    assert again == snapshot_lock and again.dumps() == text
    assert again.full_id == snapshot_lock.full_id


def test_records_survive_the_lock(snapshot_lock: Lock) -> None:
    """A locked package turned back into a rattler record locks to the same entry."""
    from amber.lock import LockedConda

    for package in snapshot_lock.for_platform("linux-64").conda:
        assert LockedConda.from_record(package.to_record()) == package


def test_same_inputs_same_bytes(snapshot_lock: Lock, caches: ResolveCaches) -> None:
    spec = Spec.create(
        conda=["dask", "bokeh", "jupyter", "matplotlib", "scipy", "pandas", "numpy", "python=3.6"],
        channels=[str(SNAPSHOT)],
    )
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
    if not SNAPSHOT.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    spec = Spec.create(
        pypi=["six"],
        python="3.11",
        index_url="https://__token__:pypi-s3cret@pypi.org/simple",
    )
    text = resolve(spec, caches).dumps()
    assert "s3cret" not in text and "__token__" not in text
