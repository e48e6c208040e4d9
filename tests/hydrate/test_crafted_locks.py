"""Property: a crafted lock given to ``amber install -f LOCK`` writes nothing outside the
store, reads no local file outside a channel (a secret's bytes and sha256 appear nowhere),
never hangs on a device or a FIFO, and ends in an env or an ``AmberError`` (exit 2), never
in a traceback."""

from __future__ import annotations

import copy
import hashlib
import os
import stat
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
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec
from amber.store import Store

SECRET = b"root:$6$secret-hash-of-the-test:19000:0:99999:7:::\n"


@dataclass(frozen=True)
class World:
    root: Path  # everything outside the stores: must not change
    channel: Path
    secret: Path
    fifo: Path
    lock: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("crafted")
    channel = condapkgs.build_channel(root / "ch", [condapkgs.libfoo_package("1.0")])
    secret = root / "etc" / "linux-64" / "libfoo-1.0-0.conda"  # laid out like a package
    secret.parent.mkdir(parents=True)
    secret.write_bytes(SECRET)
    fifo = root / "fifo"
    os.mkfifo(fifo)
    store = Store(root / "seed-store")
    spec = Spec.create(conda=["libfoo"], channels=[channel.as_uri()])
    lock = resolve(spec, ResolveCaches(store.repodata, store.uv_cache, store.conda_pkgs))
    store.close()
    return World(root, channel, secret, fifo, lock.to_dict())


def _urls(w: World) -> st.SearchStrategy[str]:
    name = "libfoo-1.0-0.conda"
    good = f"{w.channel.as_uri()}/linux-64/{name}"
    places = [
        good, "file:///dev/zero", "file:///dev/urandom", "file:///dev/null", w.secret.as_uri(),
        w.fifo.as_uri(), w.root.as_uri(), "file:///etc/passwd", "http://127.0.0.1:9/x",
        f"{w.channel.as_uri()}/linux-64/../../etc/linux-64/{name}", f"{good}?token=x",
        f"file://otherhost{w.secret}", "relative/path", "", "ftp://127.0.0.1:9/x",
    ]  # fmt: skip
    # Mostly ending in the pinned file name, as a crafter would (else the name check refuses).
    tails = st.sampled_from(["", f"#/{name}", f"/{name}", f"#/{name}", f"/{name}", f"#{name}"])
    crafted = st.builds(lambda p, t: p + t, st.sampled_from(places), tails)
    return st.one_of(crafted, crafted, st.just(good), st.text(max_size=40))


def _channels(w: World) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [w.channel.as_uri(), "file:///dev", (w.root / "etc").as_uri(), w.root.as_uri(), ""]
    )


def _values(w: World) -> st.SearchStrategy[dict[str, Any]]:
    """Changes to the one conda entry: where it is, what it weighs, or anything at all."""
    sizes = st.sampled_from([None, 0, 10, -1, 10**15, "big", True])
    where = st.fixed_dictionaries({"url": _urls(w)}, optional={"channel": _channels(w)})
    anything = st.fixed_dictionaries(
        {},
        optional={
            "url": _urls(w),
            "channel": _channels(w),
            "sha256": st.sampled_from(["0" * 64, "1" * 64, "zz", "", 7]),
            "size": sizes,
            "md5": st.sampled_from([None, "0" * 32, "x"]),
            "subdir": st.sampled_from(["linux-64", "noarch", "../..", ""]),
            "name": st.sampled_from(["libfoo", "../../x", ""]),
            "depends": st.sampled_from([[], ["nothing-like-it"], "x"]),
        },
    )
    weighed = st.fixed_dictionaries({"size": sizes}, optional={"url": _urls(w)})
    return st.one_of(where, weighed, anything)


def _crafted(w: World, changes: dict[str, Any], honest_id: bool) -> str:
    data = copy.deepcopy(w.lock)
    entry = data["platforms"]["linux-64"]["conda"][0]
    entry.update(changes)
    if honest_id:  # a crafter computes the full_id the reader checks
        url = str(entry.get("url", ""))
        line = f"linux-64 conda {url.rsplit('/', 1)[-1]} {entry.get('sha256')}"
        data["full_id"] = hashlib.sha256(line.encode()).hexdigest()
    return "# amber lock file\n" + yaml.safe_dump(data, sort_keys=False)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), honest_id=st.sampled_from([True, True, True, False]))
def test_a_crafted_lock_installs_or_is_refused_and_reads_nothing_else(
    world: World, data: st.DataObject, honest_id: bool
) -> None:
    changes = data.draw(_values(world), label="changes")
    before = outside_snapshot(world.root, world.root / "stores")
    (world.root / "stores").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=world.root / "stores") as scratch:
        home = Path(scratch) / "home"
        lock_file = Path(scratch) / "crafted.lock"
        lock_file.write_text(_crafted(world, changes, honest_id))
        store = Store(home)
        message = ""
        try:
            env = api.install(lock_file, store)
        except AmberError as exc:  # the CLI's exit 2 with this one paragraph
            message = str(exc)
            assert message.strip()
            event(f"refused: {type(exc).__name__}")
        else:
            # Installed: then it is exactly the locked package, from the real channel.
            installed = Lock.read(env.lock_file).for_platform("linux-64").conda[0]
            original = world.lock["platforms"]["linux-64"]["conda"][0]
            assert installed.sha256 == original["sha256"]
            assert (env.path / "lib/libfoo.txt").read_text() == "1.0\n"
        finally:
            store.close()
        assert_secret_nowhere(home, message, SECRET)
    assert outside_snapshot(world.root, world.root / "stores") == before
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
