"""Envs at a chosen path: environment.yml's ``prefix:`` and ``--prefix DIR``, as conda's ``-p``."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from helpers import assert_clear_error, conda_spec, run_cli, tree_snapshot, write

from amber.errors import HydrateError
from amber.hydrate import hydrate
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec
from amber.store import Store, inuse
from amber.store.env import Env


def _listed(amber) -> dict[str, str]:
    return {e["path"]: e["full_id"] for e in json.loads(amber("env", "list", "--json").stdout)}


def test_prefix_in_environment_yml_builds_tracks_updates_and_removes_the_env_there(
    tmp_path: Path, amber, amber_home: Path, conda_channel_url: str
) -> None:
    spec = conda_spec(tmp_path, conda_channel_url, "python", "footool")
    spec.write_text(spec.read_text().replace("name: demo\n", "") + "prefix: ./env\n")
    prefix = tmp_path / "env"
    done = amber("install", "-f", spec, cwd=tmp_path, check=True)
    assert done.stdout.strip() == str(prefix)
    assert "prefix:" not in done.stderr  # no "cannot build at a chosen path" any more
    first = Env.at(prefix)
    assert first is not None and first.is_complete()
    # The env's own binaries, with the prefix rewritten to where it lives.
    ran = amber("run", "--prefix", prefix, "--", "footool", cwd=tmp_path, check=True)
    assert f"footool prefix: {prefix}" in ran.stdout
    python = amber("run", "--prefix", "env", "--", "python", "-c", "import sys; print(sys.prefix)",
                   cwd=tmp_path, check=True)  # fmt: skip
    assert python.stdout.strip() == str(prefix)
    assert _listed(amber)[str(prefix)] == first.full_id
    amber("verify", prefix, check=True)
    amber("verify", "--prefix", prefix, check=True)
    gc = json.loads(amber("gc", "--older-than", "0s", "--json", check=True).stdout)
    assert not any(e["path"] == str(prefix) for e in gc["removed_envs"])
    assert {"path": str(prefix), "reason": "prefix"}.items() <= gc["kept_envs"][0].items()
    # The caches it was built from stay (verify --repair restores from them).
    assert not gc["removed_cache"]
    assert Env.at(prefix) == first and str(prefix) in _listed(amber)

    # The spec changes: the same prefix now holds the new lock's env, nothing of the old.
    (prefix / "stray.txt").write_text("left by the user\n")
    spec.write_text(spec.read_text().replace("  - footool\n", "  - greetlib\n"))
    amber("install", "-f", spec, cwd=tmp_path, check=True)
    second = Env.at(prefix)
    assert second is not None and second.full_id != first.full_id
    assert not (prefix / "bin" / "footool").exists() and not (prefix / "stray.txt").exists()
    greeted = amber("run", "--prefix", prefix, "--", "greet", cwd=tmp_path, check=True)
    assert "hello from greetlib" in greeted.stdout
    assert _listed(amber)[str(prefix)] == second.full_id
    amber("verify", "--prefix", prefix, check=True)

    amber("env", "rm", prefix, check=True)
    assert not prefix.exists() and str(prefix) not in _listed(amber)


def test_a_named_file_goes_where_conda_puts_it_not_to_its_prefix(
    tmp_path: Path, amber, amber_home: Path, conda_channel_url: str
) -> None:
    # conda's `env create -f`: the file's `name:` wins over its `prefix:` (conda/cli/main_create.py)
    spec = conda_spec(tmp_path, conda_channel_url, "python")
    spec.write_text(spec.read_text() + "prefix: ./env\n")
    done = amber("install", "-f", spec, cwd=tmp_path, check=True)
    assert Path(done.stdout.strip()).parent == amber_home / "envs"
    assert not (tmp_path / "env").exists()


def test_prefix_flag_builds_beside_the_store_env(
    tmp_path: Path, amber, amber_home: Path, conda_channel_url: str
) -> None:
    spec = conda_spec(tmp_path, conda_channel_url, "python", "footool")
    in_store = Path(amber("install", "-f", spec, cwd=tmp_path, check=True).stdout.strip())
    prefix = tmp_path / "elsewhere" / "demo"
    (prefix).mkdir(parents=True)  # an empty directory is fine, as with conda
    done = amber("install", "-f", spec, "--prefix", prefix, cwd=tmp_path, check=True)
    assert done.stdout.strip() == str(prefix)
    both = _listed(amber)
    assert both[str(prefix)] == both[str(in_store)]  # one full_id, two places
    assert Env.at(in_store).is_complete() and Env.at(prefix).is_complete()
    ran = amber("run", "-p", prefix, "--", "footool", cwd=tmp_path, check=True)
    assert f"footool prefix: {prefix}" in ran.stdout


@pytest.mark.parametrize("case", ["not-ours", "file", "in-store", "no-env"])
def test_prefixes_amber_must_not_use_are_refused(
    tmp_path: Path, amber_home: Path, conda_channel_url: str, case: str
) -> None:
    spec = conda_spec(tmp_path, conda_channel_url, "python")
    if case == "not-ours":
        target = tmp_path / "mine"
        write(target / "notes.txt", "mine\n")
        needles = [str(target), "not an env Amber made", "non-empty directory"]
    elif case == "file":
        target = write(tmp_path / "a-file", "x\n")
        needles = [str(target), "is a file"]
    elif case == "in-store":
        target = amber_home / "envs" / "here"
        needles = [str(target), "inside the Amber store"]
    else:
        target = tmp_path / "nothing"
        needles = [str(target), "not an env Amber made"]
    before = tree_snapshot(tmp_path, skip=(amber_home,))
    argv = ["run", "--prefix", target, "--", "true"] if case == "no-env" else [
        "install", "-f", spec, "--prefix", target]  # fmt: skip
    assert_clear_error(run_cli(argv, tmp_path), *needles)
    # Nothing written where the user keeps things (the store may hold the lock and caches).
    assert tree_snapshot(tmp_path, skip=(amber_home,)) == before


def test_a_prefix_in_use_is_not_replaced(tmp_path: Path, conda_channel_url: str) -> None:
    store = Store(tmp_path / "home")
    caches = ResolveCaches(store.repodata, store.uv_cache, store.conda_pkgs)
    old = resolve(Spec.create(conda=["python", "footool"], channels=[conda_channel_url]), caches)
    new = resolve(Spec.create(conda=["python", "greetlib"], channels=[conda_channel_url]), caches)
    prefix = tmp_path / "env"
    env = hydrate(old, store, prefix=prefix)
    assert env.path == prefix and env.is_complete()
    assert hydrate(old, store, prefix=prefix) == env  # the same lock: nothing to do
    fd = inuse.hold_shared(store.in_use_lock(prefix, old.full_id))
    try:
        with pytest.raises(HydrateError, match="in use by a running process") as info:
            hydrate(new, store, prefix=prefix)
        assert info.value.prefix == prefix
        assert Env.at(prefix) == env and (prefix / "bin" / "footool").is_file()
    finally:
        os.close(fd)
    assert hydrate(new, store, prefix=prefix).full_id == new.full_id
    assert [r.full_id for r in store.prefix_envs()] == [new.full_id]
    store.close()

    # Two processes (here threads, each with its own store handle) installing the same lock
    # into a new prefix: one builds, the other waits for it and uses it.
    shared = tmp_path / "shared"
    results: list[object] = []

    def install() -> None:
        mine = Store(tmp_path / "home")
        try:
            results.append(hydrate(old, mine, prefix=shared))
        except Exception as exc:  # noqa: BLE001 - asserted below
            results.append(exc)
        finally:
            mine.close()

    threads = [threading.Thread(target=install) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [getattr(r, "full_id", r) for r in results] == [old.full_id, old.full_id]
    assert Env.at(shared).is_complete()
