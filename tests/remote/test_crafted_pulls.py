"""Property: a crafted ``file://`` remote store (its lock, its tag, its package object)
pulled with ``amber pull`` writes nothing outside the local store, reads no local file
outside it or a channel (a secret's bytes and sha256 appear nowhere), never hangs on a
device or a FIFO, and ends in an env or an ``AmberError`` (exit 2), never a traceback."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import condapkgs
import pytest
import yaml
from helpers import assert_secret_nowhere, outside_snapshot
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from amber import api
from amber.errors import AmberError
from amber.lock import Lock
from amber.remote import Remote
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec
from amber.store import Store

SECRET = b"root:$6$secret-hash-of-the-pull-test:19000:0:99999:7:::\n"


@dataclass(frozen=True)
class World:
    root: Path  # everything outside the stores and remotes: must not change
    remote: Path  # a pushed remote, copied for each example
    secret: Path
    fifo: Path
    lock: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("crafted-pulls")
    channel = condapkgs.build_channel(root / "ch", [condapkgs.libfoo_package("1.0")])
    secret = root / "etc" / "linux-64" / "libfoo-1.0-0.conda"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(SECRET)
    fifo = root / "fifo"
    os.mkfifo(fifo)
    laptop = Store(root / "laptop")
    spec = Spec.create(conda=["libfoo"], channels=[channel.as_uri()])
    lock = resolve(spec, ResolveCaches(laptop.repodata, laptop.uv_cache, laptop.conda_pkgs))
    remote = root / "pushed"
    Remote.open(remote.as_uri()).push(lock, laptop, tags=[("demo", "v1")])
    laptop.close()
    shutil.rmtree(root / "laptop")
    return World(root, remote, secret, fifo, lock.to_dict())


def _lock_changes(w: World) -> st.SearchStrategy[dict[str, Any]]:
    name = "libfoo-1.0-0.conda"
    urls = [
        "file:///dev/zero", w.secret.as_uri(), w.fifo.as_uri(), "file:///etc/passwd",
        f"file:///dev/zero#/{name}", f"{w.secret.as_uri()}#/{name}", "http://127.0.0.1:9/x",
    ]  # fmt: skip
    return st.fixed_dictionaries(
        {},
        optional={
            "url": st.sampled_from(urls),
            "channel": st.sampled_from(["file:///dev", (w.root / "etc").as_uri(), ""]),
            "sha256": st.sampled_from(["0" * 64, "1" * 64]),
            "size": st.sampled_from([None, 0, 10, -1, 10**15]),
        },
    )


# What the crafter puts where Amber wrote an object: kept, gone, replaced or redirected.
OBJECTS = ["keep", "absent", "symlink-secret", "symlink-zero", "fifo", "padded", "directory"]


def _replace(path: Path, how: str, w: World) -> None:
    if how == "keep" or not path.parent.is_dir():
        return
    if how == "padded" and path.is_file():
        with open(path, "ab") as f:
            f.write(b"\0" * (1 << 20))
        return
    path.unlink(missing_ok=True)
    if how == "symlink-secret":
        path.symlink_to(w.secret)
    elif how == "symlink-zero":
        path.symlink_to("/dev/zero")
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "directory":
        path.mkdir()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    lock_object=st.just("keep") | st.sampled_from(OBJECTS),
    package_object=st.sampled_from(OBJECTS),
    tag=st.just("keep") | st.sampled_from(["other-id", "not-json", "symlink-secret", "fifo"]),
)
def test_a_crafted_remote_is_pulled_or_refused_and_reads_nothing_else(
    world: World, data: st.DataObject, lock_object: str, package_object: str, tag: str
) -> None:
    changes = data.draw(_lock_changes(world), label="lock changes")
    work = world.root / "work"
    before = outside_snapshot(world.root, work)
    work.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        remote = Path(shutil.copytree(world.remote, Path(scratch) / "remote", symlinks=True))
        lock = copy.deepcopy(world.lock)
        entry = lock["platforms"]["linux-64"]["conda"][0]
        package_key = remote / "pkgs" / entry["sha256"]
        lock_key = remote / "locks" / f"{lock['full_id']}.lock"
        if changes:
            entry.update(changes)
            line = f"linux-64 conda {entry['url'].rsplit('/', 1)[-1]} {entry['sha256']}"
            lock["full_id"] = hashlib.sha256(line.encode()).hexdigest()
            lock_key.unlink()
            lock_key = remote / "locks" / f"{lock['full_id']}.lock"
            lock_key.write_text("# amber lock file\n" + yaml.safe_dump(lock, sort_keys=False))
            tag_body = json.dumps({"full_id": lock["full_id"], "pushed_at": 0, "host": "x"})
            (remote / "tags" / "demo" / "v1.json").write_text(tag_body)
        _replace(lock_key, lock_object, world)
        _replace(package_key, package_object, world)
        tag_file = remote / "tags" / "demo" / "v1.json"
        if tag == "other-id":
            tag_file.write_text(json.dumps({"full_id": "f" * 64, "pushed_at": 0, "host": "x"}))
        elif tag == "not-json":
            tag_file.write_bytes(SECRET)
        elif tag != "keep":
            _replace(tag_file, "symlink-secret" if tag == "symlink-secret" else "fifo", world)
        home = Path(scratch) / "home"
        store = Store(home)
        message = ""
        try:
            env = api.pull("demo:v1", store, url=remote.as_uri())
        except AmberError as exc:  # the CLI's exit 2 with this one paragraph
            message = str(exc)
            assert message.strip()
            event(f"refused: {type(exc).__name__}")
        else:
            event("installed")
            installed = Lock.read(env.lock_file).for_platform("linux-64").conda[0]
            original = world.lock["platforms"]["linux-64"]["conda"][0]
            assert installed.sha256 == original["sha256"]
            assert (env.path / "lib/libfoo.txt").read_text() == "1.0\n"
        finally:
            store.close()
        assert_secret_nowhere(home, message, SECRET)
    assert outside_snapshot(world.root, work) == before
