"""hydrate on its own: a lock becomes a complete env once, atomically, whoever asks."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from amber.errors import HydrateError
from amber.hydrate import existing_env, hydrate
from amber.lock import Lock
from amber.resolve import ResolveCaches, resolve
from amber.run import env_environ
from amber.spec import Spec
from amber.store import Store


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "home")
    yield s
    s.close()


@pytest.fixture
def conda_lock(store: Store, conda_channel_url: str) -> Lock:
    spec = Spec.create(conda=["python", "footool", "greetlib"], channels=[conda_channel_url])
    return resolve(spec, ResolveCaches(store.repodata, store.uv_cache, store.conda_pkgs))


def test_a_lock_becomes_a_complete_env(store: Store, conda_lock: Lock) -> None:
    assert existing_env(conda_lock, store) is None
    env = hydrate(conda_lock, store, name="demo")
    assert env.is_complete() and env.path == store.env_path(conda_lock.full_id)
    assert Lock.read(env.lock_file) == conda_lock  # the env says what it is
    names = {p.name.split("-")[0] for p in (env.path / "conda-meta").glob("*.json")}
    assert {"python", "footool", "greetlib", "libfoo"} <= names
    assert (env.path / "bin" / "footool").is_file()
    # footool's activate.d script is named, and sourced at each activation (not snapshotted).
    assert env.activation().scripts == (str(env.path / "etc/conda/activate.d/footool.sh"),)
    assert "FOOTOOL_ACTIVE" not in env.activation().set
    assert env_environ(env, {"PATH": "/usr/bin:/bin"})["FOOTOOL_ACTIVE"] == "1"
    [record] = store.envs()
    assert (record.full_id, record.name) == (conda_lock.full_id, "demo")


def test_a_complete_env_is_never_rebuilt(store: Store, conda_lock: Lock) -> None:
    env = hydrate(conda_lock, store)
    marker = env.marker.stat().st_mtime_ns
    (env.path / "kept.txt").write_text("a file the build would not leave\n")
    again = hydrate(conda_lock, store)
    assert again == env and env.marker.stat().st_mtime_ns == marker
    assert (env.path / "kept.txt").is_file()


def test_an_incomplete_env_is_rebuilt(store: Store, conda_lock: Lock) -> None:
    env = hydrate(conda_lock, store)
    env.marker.unlink()  # as if a build had crashed before its last step
    (env.path / "leftover.txt").write_text("from the crashed build\n")
    assert existing_env(conda_lock, store) is None
    rebuilt = hydrate(conda_lock, store)
    assert rebuilt.is_complete() and not (rebuilt.path / "leftover.txt").exists()


def test_concurrent_callers_share_one_build(store: Store, conda_lock: Lock) -> None:
    results, errors = [], []

    def build() -> None:
        try:
            results.append(hydrate(conda_lock, Store(store.home)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == [] and len(results) == 4 and len(set(results)) == 1
    assert [p.name for p in store.envs_dir.iterdir() if p.name != ".locks"] == [
        results[0].path.name
    ]


def test_an_archive_that_is_not_what_the_lock_says_is_refused(
    store: Store, conda_lock: Lock, tmp_path: Path
) -> None:
    """A lock whose sha256 for a package does not match the channel's file: no env."""
    body = conda_lock.for_platform("linux-64")
    footool = next(c for c in body.conda if c.name == "footool")
    forged = dataclasses.replace(footool, sha256="0" * 64)
    conda = tuple(forged if c is footool else c for c in body.conda)
    platforms = {**conda_lock.platforms, "linux-64": dataclasses.replace(body, conda=conda)}
    bad = Lock.loads(dataclasses.replace(conda_lock, platforms=platforms).dumps())
    with pytest.raises(HydrateError, match="footool"):
        hydrate(bad, store)
    assert existing_env(bad, store) is None
    assert not store.env_path(bad.full_id).exists()  # nothing half-built left
