"""A remote store someone else wrote: its locks and objects never make Amber read a local
file outside it (symlinks, devices, crafted ``file://`` URLs), nor read without bound."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from pathlib import Path

import condapkgs
import pytest

from amber.errors import HydrateError
from amber.lock import Lock
from amber.remote import Remote
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec
from amber.store import Store


@pytest.fixture
def pushed(tmp_path: Path) -> tuple[Path, Lock]:
    """A file:// remote holding demo:v1, an env of libfoo from a channel that is then gone."""
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    laptop = Store(tmp_path / "laptop")
    spec = Spec.create(conda=["libfoo"], channels=[channel.as_uri()])
    lock = resolve(spec, ResolveCaches(laptop.repodata, laptop.uv_cache, laptop.conda_pkgs))
    remote = tmp_path / "remote"
    Remote.open(remote.as_uri()).push(lock, laptop, tags=[("demo", "v1")])
    laptop.close()
    shutil.rmtree(channel)
    return remote, lock


def _secret(tmp_path: Path) -> tuple[Path, str]:
    secret = tmp_path / "shadow"
    secret.write_bytes(b"root:$6$secret-hash:19000:0:99999:7:::\n")
    return secret, hashlib.sha256(secret.read_bytes()).hexdigest()


def _check_refused(result, *forbidden: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    for text in forbidden:
        assert text not in result.stderr and text not in result.stdout


def _package_object(remote: Path, lock: Lock) -> Path:
    return remote / "pkgs" / lock.for_platform("linux-64").conda[0].sha256


def test_a_pulled_lock_with_a_device_url_is_refused_without_hanging(
    amber, pushed, tmp_path: Path
) -> None:
    remote, lock = pushed
    body = lock.for_platform("linux-64")
    conda = tuple(
        dataclasses.replace(c, url="file:///dev/zero#/libfoo-1.0-0.conda", channel="file:///dev")
        for c in body.conda
    )
    crafted = dataclasses.replace(
        lock, platforms={"linux-64": dataclasses.replace(body, conda=conda)}
    )
    (remote / "locks" / f"{lock.full_id}.lock").write_text(crafted.dumps())
    _package_object(remote, lock).unlink()  # so hydrate falls back to the lock's URL
    result = amber("pull", "demo:v1", "--remote", remote.as_uri(), timeout=120)
    _check_refused(result)
    assert "libfoo-1.0-0.conda" in result.stderr


def test_a_package_object_that_is_a_symlink_is_not_followed(amber, pushed, tmp_path: Path) -> None:
    remote, lock = pushed
    secret, digest = _secret(tmp_path)
    obj = _package_object(remote, lock)
    obj.unlink()
    obj.symlink_to(secret)
    result = amber("pull", "demo:v1", "--remote", remote.as_uri(), timeout=120)
    _check_refused(result, digest, "secret-hash")
    assert not any((tmp_path / "amber-home" / "envs").glob("*/conda-meta"))


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_lock_object_that_is_a_device_is_refused_without_hanging(
    amber, pushed, tmp_path: Path, target: str
) -> None:
    remote, lock = pushed
    obj = remote / "locks" / f"{lock.full_id}.lock"
    obj.unlink()
    if target == "fifo":
        os.mkfifo(obj)
    else:
        obj.symlink_to(target)
    result = amber("pull", "demo:v1", "--remote", remote.as_uri(), timeout=120)
    _check_refused(result)
    assert f"{lock.full_id}.lock" in result.stderr


def test_a_package_object_larger_than_the_lock_says_is_not_read_past_its_size(
    amber, pushed, tmp_path: Path
) -> None:
    remote, lock = pushed
    obj = _package_object(remote, lock)
    size = obj.stat().st_size
    with open(obj, "ab") as f:
        f.write(b"\0" * (4 << 20))
    result = amber("pull", "demo:v1", "--remote", remote.as_uri(), timeout=120)
    _check_refused(result)
    assert f"larger than the {size} bytes" in result.stderr


def _crafted(lock: Lock, **changes: object) -> Lock:
    body = lock.for_platform("linux-64")
    conda = tuple(dataclasses.replace(c, **changes) for c in body.conda)
    return dataclasses.replace(lock, platforms={"linux-64": dataclasses.replace(body, conda=conda)})


def test_push_never_reads_a_device_a_lock_names(tmp_path: Path) -> None:
    lock = Lock.loads(
        _crafted(_libfoo_lock(tmp_path), url="file:///dev/zero#/libfoo-1.0-0.conda").dumps()
    )
    store = Store(tmp_path / "home")
    with pytest.raises(HydrateError, match="libfoo-1.0-0.conda"):
        Remote.open((tmp_path / "remote").as_uri()).push(lock, store)
    store.close()
    assert not list((tmp_path / "home").rglob("*.conda"))


def test_push_stops_an_http_download_past_the_locked_size(tmp_path: Path) -> None:
    lock = _libfoo_lock(tmp_path)
    with condapkgs.serve_directory(tmp_path / "ch") as server:
        url = f"{server}/linux-64/libfoo-1.0-0.conda"
        crafted = Lock.loads(_crafted(lock, url=url, channel=str(server), size=100).dumps())
        store = Store(tmp_path / "home")
        with pytest.raises(HydrateError, match="larger than the 100 bytes"):
            Remote.open((tmp_path / "remote").as_uri()).push(crafted, store)
        store.close()


def _libfoo_lock(tmp_path: Path) -> Lock:
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    store = Store(tmp_path / "resolving")
    spec = Spec.create(conda=["libfoo"], channels=[channel.as_uri()])
    lock = resolve(spec, ResolveCaches(store.repodata, store.uv_cache, store.conda_pkgs))
    store.close()
    return lock
