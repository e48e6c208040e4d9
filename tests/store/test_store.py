"""The local store on its own: archives by sha256, locks by req_id, tags, envs and runs."""

from __future__ import annotations

import hashlib
import multiprocessing
from pathlib import Path

import pytest

from amber.store import Store


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "home")
    yield s
    s.close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_archive_is_kept_only_under_its_own_sha256(store: Store) -> None:
    data = b"package bytes"
    kept = store.add_archive(_sha(data), "pkg-1.0-0.conda", lambda p: p.write_bytes(data))
    assert kept == _sha(data)
    found = store.find_archive(_sha(data))
    assert found is not None and found.name == "pkg-1.0-0.conda" and found.read_bytes() == data

    wrong = _sha(b"what the lock says")
    actual = store.add_archive(wrong, "other-1.0-0.conda", lambda p: p.write_bytes(b"tampered"))
    assert actual == _sha(b"tampered")  # the caller names the culprit
    assert store.find_archive(wrong) is None
    assert not (store.archives / wrong[:2] / wrong).exists()  # nothing half-written left


def test_a_failed_write_leaves_nothing(store: Store) -> None:
    def boom(path: Path) -> None:
        path.write_bytes(b"partial")
        raise OSError("disk full")

    sha = _sha(b"complete")
    with pytest.raises(OSError, match="disk full"):
        store.add_archive(sha, "pkg.conda", boom)
    assert store.find_archive(sha) is None
    assert [p for p in store.archives.rglob("*") if not p.is_dir()] == []


def test_newest_lock_of_a_request(store: Store) -> None:
    first = store.save_lock("first\n", "r" * 64, "a" * 64)
    second = store.save_lock("second\n", "r" * 64, "b" * 64)
    assert store.latest_lock("r" * 64) == second and second.read_text() == "second\n"
    assert store.find_lock("a" * 64) == first
    assert store.find_lock("c" * 64) is None and store.latest_lock("x" * 64) is None
    # Saving a lock again makes it the newest for its request, and keeps its text.
    store.save_lock("ignored\n", "r" * 64, "a" * 64)
    assert store.latest_lock("r" * 64) == first and first.read_text() == "first\n"


def test_saving_a_lock_forgets_spec_files_that_meant_an_older_one(store: Store) -> None:
    store.remember_spec_file("key", "r" * 64, "a" * 64, {"inc.txt": "d" * 64})
    assert store.recall_spec_file("key") == ("a" * 64, {"inc.txt": "d" * 64})
    store.save_lock("new\n", "r" * 64, "b" * 64)
    assert store.recall_spec_file("key") is None


def test_tags(store: Store) -> None:
    store.tag("team/env", "v1", "a" * 64)
    store.tag("team/env", "latest", "b" * 64)
    store.tag("other", "v1", "c" * 64)
    assert store.tagged("team/env", "v1") == "a" * 64
    assert [(n, t, f) for n, t, f, _ in store.tags()] == [
        ("other", "v1", "c" * 64), ("team/env", "latest", "b" * 64), ("team/env", "v1", "a" * 64)
    ]  # fmt: skip
    assert [t for _, t, _, _ in store.tags("team/env")] == ["latest", "v1"]
    assert store.untag("team/env", "v1") and not store.untag("team/env", "v1")
    assert store.tagged("team/env", "v1") is None


def test_envs_and_runs(store: Store, tmp_path: Path) -> None:
    full_id = "f" * 64
    store.record_env(full_id, store.env_path(full_id), "demo", 123)
    store.record_env(full_id, store.env_path(full_id), None, 456)  # a rebuild keeps its name
    [env] = store.envs()
    assert (env.full_id, env.name, env.size) == (full_id, "demo", 456)
    assert env.path == store.env_path(full_id) and env.path.name == full_id[:16]
    assert store.envs_matching("fff") == [env] and store.envs_matching("demo") == [env]
    assert store.envs_matching("abc") == []

    store.record_run("run1", 10.0, "host", "python flow.py")
    store.record_step("run1", "flow.train", full_id, 11.0, 12.0, "ok")
    store.record_step("run1", "flow.score", full_id, 12.0, 13.0, "error")
    [run] = store.runs("ru")
    assert run.command == "python flow.py"
    assert [(s.step, s.status) for s in run.steps] == [
        ("flow.train", "ok"),
        ("flow.score", "error"),
    ]
    store.forget_env(full_id)
    assert store.envs() == []


def _open_and_tag(home: str, i: int) -> None:
    store = Store(Path(home))
    store.tag("n", f"t{i}", "a" * 64)
    store.close()


def test_a_new_store_opened_by_many_processes_at_once(tmp_path: Path) -> None:
    """The index is created once, whoever comes first; nobody sees "database is locked"."""
    home = tmp_path / "home"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_and_tag, args=(str(home), i)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 6
    assert len(Store(home).tags("n")) == 6
