"""A package is identified by its sha256, always; a lock never makes Amber read arbitrary
local files (crafted ``file://`` URLs: devices, files outside a channel, oversized files)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import condapkgs
import pytest

from amber._fs import remove_tree
from amber.errors import HydrateError
from amber.hydrate import existing_env, hydrate
from amber.lock import Lock
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec
from amber.store import Store


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "home")
    yield s
    s.close()


def _lock(store: Store, channel: Path) -> Lock:
    spec = Spec.create(conda=["libfoo"], channels=[channel.as_uri()])
    return resolve(spec, ResolveCaches(store.repodata, store.uv_cache, store.conda_pkgs))


def _with_url(lock: Lock, name: str, url: str, **changes: object) -> Lock:
    body = lock.for_platform("linux-64")
    conda = tuple(
        dataclasses.replace(c, url=url, **changes) if c.name == name else c for c in body.conda
    )
    platforms = {**lock.platforms, "linux-64": dataclasses.replace(body, conda=conda)}
    return Lock.loads(dataclasses.replace(lock, platforms=platforms).dumps())


def test_a_changed_file_archive_is_refused_when_the_cache_holds_its_name(
    store: Store, tmp_path: Path
) -> None:
    """The cache holds libfoo-1.0-0 from other bytes than the lock's: the archive at the
    lock's URL changed since; the env must not be built from it, nor marked complete."""
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    original = _lock(store, channel)
    env = hydrate(original, store)
    assert (env.path / "lib/libfoo.txt").read_text() == "1.0\n"
    evil = dataclasses.replace(condapkgs.libfoo_package("1.0"), files={"lib/libfoo.txt": b"EVIL\n"})
    condapkgs.build_channel(channel, [evil])  # same name-version-build, other bytes
    changed = _lock(store, channel)
    assert changed.full_id != original.full_id
    assert (hydrate(changed, store).path / "lib/libfoo.txt").read_text() == "EVIL\n"

    # The original env is removed (as `amber env rm` does) and asked for again.
    remove_tree(env.path)
    with pytest.raises(HydrateError, match="libfoo-1.0-0.conda"):
        hydrate(original, store)
    assert existing_env(original, store) is None
    assert not store.env_path(original.full_id).exists()


def test_a_cached_package_of_the_locked_sha256_is_reused_without_its_archive(
    store: Store, tmp_path: Path
) -> None:
    """The warm path: the cache entry records the lock's sha256, the archive is gone."""
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    lock = _lock(store, channel)
    env = hydrate(lock, store)
    remove_tree(env.path)
    (channel / "linux-64" / "libfoo-1.0-0.conda").unlink()
    assert (hydrate(lock, store).path / "lib/libfoo.txt").read_text() == "1.0\n"


@pytest.mark.parametrize(
    "kind", ["device", "fifo", "symlink-to-device", "outside", "no-channel", "fragment"]
)
def test_a_crafted_file_url_is_refused_without_reading_it(
    store: Store, tmp_path: Path, kind: str
) -> None:
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    lock = _lock(store, channel)
    secret = tmp_path / "secret" / "linux-64" / "libfoo-1.0-0.conda"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"root:$6$secret-hash:19000:0:99999:7:::\n")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    if kind == "device":
        url, ch = "file:///dev/zero#/libfoo-1.0-0.conda", "file:///dev"
    elif kind == "fifo":  # the channel's own file is a FIFO: opening it must not block
        archive = channel / "linux-64" / "libfoo-1.0-0.conda"
        archive.unlink()
        os.mkfifo(archive)
        url, ch = archive.as_uri(), channel.as_uri()
    elif kind == "symlink-to-device":
        archive = channel / "linux-64" / "libfoo-1.0-0.conda"
        archive.unlink()
        archive.symlink_to("/dev/zero")
        url, ch = archive.as_uri(), channel.as_uri()
    elif kind == "outside":  # in a channel's subdir by its URL, but `..` leads out
        url = f"{channel.as_uri()}/linux-64/../../secret/linux-64/libfoo-1.0-0.conda"
        ch = channel.as_uri()
    elif kind == "no-channel":  # laid out like a channel, but no repodata beside it
        url, ch = secret.as_uri(), secret.parent.parent.as_uri()
    else:
        url, ch = f"{secret.as_uri()}#/libfoo-1.0-0.conda", secret.parent.parent.as_uri()
    crafted = _with_url(lock, "libfoo", url, channel=ch)
    with pytest.raises(HydrateError) as caught:
        hydrate(crafted, store)
    assert "libfoo-1.0-0.conda" in str(caught.value)
    assert digest not in str(caught.value) and "secret-hash" not in str(caught.value)
    assert existing_env(crafted, store) is None


def test_a_file_larger_than_the_lock_says_is_refused(store: Store, tmp_path: Path) -> None:
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    lock = _lock(store, channel)
    package = lock.for_platform("linux-64").conda[0]
    crafted = _with_url(lock, "libfoo", package.url, size=10)
    with pytest.raises(HydrateError, match="libfoo-1.0-0.conda.*10 bytes"):
        hydrate(crafted, store)
    assert existing_env(crafted, store) is None


def test_a_crafted_lock_is_refused_by_the_cli_with_exit_2(
    amber, tmp_path: Path, amber_home: Path
) -> None:
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    store = Store(amber_home)
    lock = _lock(store, channel)
    store.close()
    crafted = _with_url(lock, "libfoo", "file:///dev/zero#/libfoo-1.0-0.conda")
    path = tmp_path / "crafted.lock"
    crafted.write(path)
    result = amber("install", "-f", path, timeout=120)
    assert result.returncode == 2, result
    assert "libfoo-1.0-0.conda" in result.stderr and "Traceback" not in result.stderr
