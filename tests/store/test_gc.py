"""`amber gc`: old, untagged, unused envs go, then the package-cache entries nothing needs."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import pytest
from helpers import write

from amber import _hot
from amber.lock import Lock
from amber.store import Store
from amber.store.gc import collect

DAY = 24 * 3600.0


def _install(amber, directory: Path, channel: Path, *deps: str) -> Path:
    spec = write(
        directory / "environment.yml",
        f"channels: ['{channel}']\ndependencies: [{', '.join(deps)}]\n",
    )
    return Path(amber("install", "-f", spec, check=True).stdout.strip())


def _full_id(prefix: Path) -> str:
    return (prefix / ".amber" / "complete").read_text().strip()


def _age(home: Path, prefix: Path, days: float) -> None:
    """As if ``prefix`` was last used ``days`` ago: in the index and on its in-use lock file
    (whose mtime `amber run` moves)."""
    store = Store(home)
    then = time.time() - days * DAY
    with store.db:
        store.db.execute(
            "UPDATE envs SET last_used = ? WHERE full_id = ?", (then, _full_id(prefix))
        )
    lock = store.env_lock_path(_full_id(prefix))
    if lock.exists():
        os.utime(lock, (then, then))
    store.close()


def _stems(prefix: Path) -> set[str]:
    lock = Lock.read(prefix / ".amber" / "amber.lock")
    return {
        p.file_name.removesuffix(".conda").removesuffix(".tar.bz2")
        for body in lock.platforms.values()
        for p in body.conda
    }


def _inodes(*roots: Path) -> dict[tuple[int, int], int]:
    out = {}
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                st = os.lstat(os.path.join(dirpath, name))
                out[(st.st_dev, st.st_ino)] = st.st_size
    return out


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def four_envs(amber, amber_home: Path, conda_channel: Path, tmp_path: Path):
    """recent (python, greetlib); old+tagged (oldlib -> libfoo 1.0); old+in use (datafiles);
    old (footool -> libfoo 2.0, which greetlib shares)."""
    envs = {
        "old": _install(amber, tmp_path / "o", conda_channel, "footool"),
        "in_use": _install(amber, tmp_path / "u", conda_channel, "datafiles"),
        "tagged": _install(amber, tmp_path / "t", conda_channel, "oldlib"),
        "recent": _install(amber, tmp_path / "r", conda_channel, "python", "greetlib"),
    }
    assert len(set(envs.values())) == 4
    for key, days in (("old", 40), ("in_use", 50), ("tagged", 60)):
        _age(amber_home, envs[key], days)
    amber("env", "tag", envs["tagged"].name, "keepme:v1", check=True)
    return envs


def test_gc_removes_only_old_untagged_unused(amber, amber_home: Path, four_envs):
    envs = four_envs
    conda_pkgs = amber_home / "pkgs" / "conda"
    old_only = _stems(envs["old"]) - set().union(
        *(_stems(envs[k]) for k in ("recent", "tagged", "in_use"))
    )
    assert any(s.startswith("footool-") for s in old_only)
    assert not any(s.startswith("libfoo-2.0") for s in old_only)  # greetlib needs it too
    assert all((conda_pkgs / s).is_dir() for s in old_only)
    before_tree = _tree(amber_home / "envs") | _tree(amber_home / "pkgs")
    before = _inodes(amber_home / "envs", amber_home / "pkgs")
    old_apparent = sum(_inodes(envs["old"]).values())

    lock_path = Store(amber_home).env_lock_path(_full_id(envs["in_use"]))
    with open(lock_path, "a") as held:
        fcntl.flock(held, fcntl.LOCK_SH)  # like `amber run` does across exec

        dry = collect(Store(amber_home), older_than=30 * DAY, dry_run=True)
        assert _tree(amber_home / "envs") | _tree(amber_home / "pkgs") == before_tree
        report = collect(Store(amber_home), older_than=30 * DAY)

    assert [e.path for e in report.removed_envs] == [envs["old"]]
    assert [e.path for e in dry.removed_envs] == [envs["old"]]
    assert {k.path: k.reason for k in report.kept_envs} == {
        envs["recent"]: "recent", envs["in_use"]: "in use", envs["tagged"]: "tagged",
    }  # fmt: skip
    assert report.kept("tagged")[0].tags == ("keepme:v1",)
    assert not envs["old"].exists()
    assert all(envs[k].is_dir() for k in ("recent", "in_use", "tagged"))

    # Cache: the removed env's own packages are gone, every kept env's remain.
    assert all(not (conda_pkgs / s).exists() for s in old_only)
    assert all(not (conda_pkgs / f"{s}.lock").exists() for s in old_only)
    for key in ("recent", "in_use", "tagged"):
        assert all((conda_pkgs / s).is_dir() for s in _stems(envs[key])), key
    assert {c.path.name for c in report.removed_cache} == old_only
    assert {c.path.name for c in dry.removed_cache} == old_only

    # Bytes: each inode once, against an independent count of what disappeared.
    after = _inodes(amber_home / "envs", amber_home / "pkgs")
    gone = sum(size for key, size in before.items() if key not in after)
    assert report.bytes_freed == gone == dry.bytes_freed
    # The env alone frees only its unique files (hardlinked ones come with the cache entry).
    assert 0 < report.env_bytes < old_apparent
    assert report.cache_bytes > 0 and report.env_bytes == dry.env_bytes

    # The kept envs still work; the removed one is gone from the index.
    assert amber("run", "--env", envs["recent"].name, "--", "greet", check=True).stdout.strip() == (
        "hello from greetlib"
    )
    assert amber("run", "--env", "keepme:v1", "--", "true").returncode == 0
    assert amber("run", "--env", envs["in_use"].name, "--", "true").returncode == 0
    assert envs["old"].name not in amber("env", "list", check=True).stdout

    # Again: nothing left to do (the in-use env is free now, but it was just used).
    again = collect(Store(amber_home), older_than=30 * DAY)
    assert not again.removed_envs and not again.removed_cache


def test_gc_keep_n_most_recent(amber, amber_home: Path, four_envs):
    envs = four_envs
    # older_than=0: everything is old; keep the 2 most recently used (recent, old).
    report = collect(Store(amber_home), older_than=0, keep=2)
    reasons = {k.path: k.reason for k in report.kept_envs}
    assert reasons == {envs["recent"]: "kept", envs["old"]: "kept", envs["tagged"]: "tagged"}
    assert [e.path for e in report.removed_envs] == [envs["in_use"]]
    assert not envs["in_use"].exists() and envs["old"].is_dir()
    conda_pkgs = amber_home / "pkgs" / "conda"
    assert not any(conda_pkgs.glob("datafiles-*"))
    assert any(conda_pkgs.glob("footool-*")) and any(conda_pkgs.glob("oldlib-*"))


def test_gc_tagged_lock_keeps_cache_without_env(amber, amber_home: Path, four_envs):
    """A tagged env removed by hand (`env rm`) still holds its packages in the cache."""
    envs = four_envs
    amber("env", "rm", envs["tagged"].name, check=True)
    report = collect(Store(amber_home), older_than=0, keep=0)
    assert envs["tagged"] not in {e.path for e in report.removed_envs}
    conda_pkgs = amber_home / "pkgs" / "conda"
    assert any(conda_pkgs.glob("oldlib-*")) and any(conda_pkgs.glob("libfoo-1.0-*"))
    assert not any(conda_pkgs.glob("footool-*"))
    # ... and it hydrates again from there.
    assert amber("run", "--env", "keepme:v1", "--", "true").returncode == 0


def test_gc_archive_store(amber_home: Path):
    store = Store(amber_home)
    sha = "ab" * 32
    entry = store.archive_path(sha, "x-1.0-0.conda")
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"x" * 1000)
    dry = collect(store, older_than=0, dry_run=True)
    assert [c.kind for c in dry.removed_cache] == ["archive"] and entry.is_file()
    report = collect(store, older_than=0)
    assert report.cache_bytes == 1000 and not entry.exists()
    assert not (store.archives / "ab").exists()


def test_gc_cli(amber, conda_channel: Path, tmp_path: Path) -> None:
    from helpers import write

    spec = write(
        tmp_path / "environment.yml", f"channels: ['{conda_channel}']\ndependencies: [python]\n"
    )
    amber("install", "-f", spec, check=True)
    dry = amber("gc", "--older-than", "0s", "--dry-run", check=True)
    assert "Would remove env" in dry.stderr and "Would free" in dry.stderr
    assert len(__import__("json").loads(amber("env", "list", "--json").stdout)) == 1
    done = amber("gc", "--older-than", "0s", check=True)
    assert "Removed env" in done.stderr
    assert __import__("json").loads(amber("env", "list", "--json").stdout) == []
    bad = amber("gc", "--older-than", "soon")
    assert bad.returncode == 2 and "invalid duration" in bad.stderr


def test_gc_removes_stale_edit_locks_and_run_memos(amber, amber_home, conda_channel, tmp_path):
    """`amber add`'s edit locks nobody holds and `amber run`'s memos of removed envs go; a
    held lock stays, and a memo of a live env keeps working."""
    kept = write(tmp_path / "kept" / "environment.yml", f"channels: ['{conda_channel}']\n"
                 "dependencies: [python]\n")  # fmt: skip
    gone = write(tmp_path / "gone" / "environment.yml", f"channels: ['{conda_channel}']\n"
                 "dependencies: [python, libfoo]\n")  # fmt: skip
    for spec in (kept, gone):
        amber("run", "-f", spec, "--", "true", check=True)
    memos = amber_home / "run-memo"
    assert len([p for p in memos.iterdir() if p.name != "generation"]) == 2
    amber("env", "rm", _full_id(Path(amber("install", "-f", gone, check=True).stdout.strip())),
          check=True)  # fmt: skip
    store = Store(amber_home)
    idle, held = store.edit_lock_path(kept), store.edit_lock_path(gone)
    for path in (idle, held):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    stale = next(p for p in memos.iterdir() if _hot.stale_memos(str(amber_home)) == [str(p)])
    size = stale.stat().st_size
    with open(held) as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        done = amber("gc", "--older-than", "30d", "--json", check=True)
    assert "stale lock or memo" in "".join(json.loads(done.stdout)["notes"])
    # Counted apart from the envs and caches (a dry run cannot know them): what left the disk.
    assert json.loads(done.stdout)["bookkeeping_bytes"] == size
    assert not idle.exists() and held.exists()
    assert [p.name for p in memos.iterdir() if p.name != "generation"] != []
    assert len([p for p in memos.iterdir() if p.name != "generation"]) == 1
    assert amber("run", "-f", kept, "--", "true").returncode == 0


def test_a_lock_removed_while_waited_for_is_taken_anew(tmp_path: Path) -> None:
    """Whoever waits on a lock file that gc removes locks the file made anew, never the
    removed one: two holders at once would be no lock at all."""
    import threading

    from amber.store.inuse import exclusive

    path = tmp_path / "edit.lock"
    path.touch()
    first = os.open(path, os.O_RDWR)
    fcntl.flock(first, fcntl.LOCK_EX)
    got = threading.Event()

    def wait_for_it() -> None:
        with exclusive(path):
            got.set()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    inode = f":{os.fstat(first).st_ino} "
    for _ in range(3000):  # until the waiter blocks on the file (a bound, not a timing)
        with open("/proc/locks") as locks:
            if any("->" in line and inode in line for line in locks):
                break
        time.sleep(0.01)
    path.unlink()  # as gc's remove_unheld would, had it won the race
    second = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(second, fcntl.LOCK_EX)  # a newcomer holds the new file
    os.close(first)  # the waiter now gets the removed file's lock, and must not stop there
    assert not got.wait(2), "the waiter took the lock of a removed file"
    os.close(second)
    waiter.join(30)
    assert got.is_set()
