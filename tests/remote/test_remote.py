"""The remote store: push from one machine, pull and run on another that reaches no channel.

Every test runs against a real S3 protocol server (moto on 127.0.0.1) and against a
``file://`` directory.
"""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
import time
from pathlib import Path

import condapkgs
import fsspec
import pytest
from helpers import write
from remote_fixtures import MotoServer, fake_wheel, use_s3, wheel_lock

from amber import api
from amber.errors import AmberError, EnvNotFoundError, HydrateError, LockFileError
from amber.hydrate import hydrate
from amber.lock import Lock
from amber.remote import Remote, RemoteError, TagConflictError
from amber.run import env_environ
from amber.store import RunRecord, StepRecord, Store

DEAD_PROXY = "http://127.0.0.1:9"


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No channel, no index: every connection but to 127.0.0.1 goes to a dead proxy."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, DEAD_PROXY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def mixed_env(tmp_path: Path, conda_channel: Path):
    """A conda + PyPI env built in one store from a copy of the test channel served over
    HTTP; yields (store, lock, channel server). The channel copy is the test's to remove."""
    channel = condapkgs.copy_channel(conda_channel, tmp_path / "channel")
    server = condapkgs.start_server(channel)
    spec = write(
        tmp_path / "project" / "environment.yml",
        f"""
        name: demo
        channels: ['{server}']
        dependencies:
          - python
          - footool
          - greetlib
          - pip:
            - tabulate==0.9.0
        """,
    )
    store = Store(tmp_path / "laptop")
    env = api.install(spec, store)
    try:
        yield store, Lock.read(env.lock_file), server
    finally:
        server.stop()


def run_in(env, code: str) -> str:
    proc = subprocess.run(
        [str(env.python), "-c", code], env=env_environ(env), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_push_then_pull_and_run_where_no_channel_is_reachable(
    amber, amber_home: Path, remote_url: str, mixed_env, tmp_path: Path, monkeypatch
):
    laptop, lock, server = mixed_env
    body = lock.for_platform("linux-64")
    count = len(body.conda) + len(body.pypi)
    pushed = Remote.open(remote_url).push(lock, laptop, tags=[("demo", "v1"), ("demo", "latest")])
    assert (pushed.uploaded, pushed.present, pushed.lock_uploaded) == (count, 0, True)
    assert pushed.tags == ("demo:v1", "demo:latest")
    # Pushing again uploads nothing: only the (unchanged) tags are confirmed.
    again = Remote.open(remote_url).push(lock, laptop, tags=[("demo", "v1")])
    assert (again.uploaded, again.present, again.lock_uploaded) == (0, count, False)

    server.stop()
    shutil.rmtree(tmp_path / "channel")
    offline(monkeypatch)
    monkeypatch.setenv("AMBER_REMOTE", remote_url)
    colleague = Store(amber_home)
    remote = Remote.open()
    pulled = remote.pull("demo:v1", colleague)
    assert pulled == lock and colleague.tagged("demo", "v1") == lock.full_id
    env = hydrate(pulled, colleague, fetch=remote.fetch_into(colleague))
    assert all(colleague.find_archive(p.sha256) for p in (*body.conda, *body.pypi))
    assert run_in(env, "import tabulate, greetlib; print(tabulate.__version__)") == "0.9.0"
    # The CLI finds it by its tag, in the colleague's store.
    tool = amber("run", "--env", "demo:v1", "--", "footool", check=True)
    assert str(env.path) in tool.stdout and "2.0" in tool.stdout


def test_pull_by_full_id_prefix_and_latest(remote_url: str, tmp_path: Path):
    first = wheel_lock([fake_wheel(tmp_path / "w", "alpha")])
    second = wheel_lock([fake_wheel(tmp_path / "w", "alpha"), fake_wheel(tmp_path / "w", "beta")])
    laptop = Store(tmp_path / "laptop")
    remote = Remote.open(remote_url)
    remote.push(first, laptop, tags=[("team", "v1"), ("team", "latest")])
    other = Store(tmp_path / "other")
    assert remote.pull("team", other) == first  # NAME means NAME:latest
    pushed = remote.push(second, laptop, tags=[("team", "v2"), ("team", "latest")])
    assert (pushed.uploaded, pushed.present) == (1, 1)  # alpha is there already
    assert remote.pull("team", other) == second  # latest moved, here too
    assert other.tagged("team", "latest") == second.full_id
    assert other.tagged("team", "v1") is None  # only what was pulled is tagged
    assert remote.pull(first.full_id[:10], other) == first
    assert remote.pull(first.full_id, other) == first
    listing = {str(t): t.full_id for t in remote.ls("team")}
    assert listing == {
        "team:latest": second.full_id,
        "team:v1": first.full_id,
        "team:v2": second.full_id,
    }
    assert [str(t) for t in remote.ls()] == ["team:latest", "team:v1", "team:v2"]
    with pytest.raises(TagConflictError, match=r"team:v1 already names env"):
        remote.push(second, laptop, tags=[("team", "v1")])


def test_unknown_and_invalid_references(remote_url: str, tmp_path: Path):
    remote, store = Remote.open(remote_url), Store(tmp_path / "home")
    assert remote.ls() == [] and remote.fetch_run("abc") is None
    with pytest.raises(EnvNotFoundError, match=r"no tag nothing:v1 in .*no tags at all"):
        remote.pull("nothing:v1", store)
    remote.push(wheel_lock([fake_wheel(tmp_path, "y")]), store, tags=[("something", "v1")])
    with pytest.raises(EnvNotFoundError, match=r"no tag nothing:v1 in .*amber remote ls"):
        remote.pull("nothing:v1", store)
    with pytest.raises(EnvNotFoundError, match=r"no lock for env"):
        remote.pull("ab" * 32, store)
    with pytest.raises(AmberError, match="invalid tag"):
        remote.push(wheel_lock([fake_wheel(tmp_path, "x")]), store, tags=[("../up", "v1")])
    with pytest.raises(AmberError, match="invalid reference"):
        remote.pull("a:b:c", store)


def test_no_remote_configured(monkeypatch):
    monkeypatch.delenv("AMBER_REMOTE", raising=False)
    with pytest.raises(AmberError, match="--remote URL"):
        Remote.open()


def test_unreachable_remote_is_a_clear_error(tmp_path: Path, monkeypatch):
    server = MotoServer()
    server.start()
    url = use_s3(monkeypatch, server)
    server.stop()
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(RemoteError, match=rf"cannot read {url}/tags/demo/v1.json") as info:
        Remote.open(url).pull("demo:v1", Store(tmp_path / "home"))
    assert info.value.exit_code == 2


def test_lock_stored_under_another_id_is_refused(remote_url: str, tmp_path: Path):
    one = wheel_lock([fake_wheel(tmp_path, "one")])
    two = wheel_lock([fake_wheel(tmp_path, "two")])
    remote = Remote.open(remote_url)
    remote.push(one, Store(tmp_path / "a"), tags=[("x", "v1")])
    with fsspec.open(f"{remote_url}/locks/{one.full_id}.lock", "w") as f:
        f.write(two.dumps())
    with pytest.raises(LockFileError, match=rf"locks/{one.full_id}.lock holds the lock of env"):
        remote.pull("x:v1", Store(tmp_path / "b"))


def test_corrupted_object_is_refused_and_repaired(
    remote_url: str, mixed_env, tmp_path: Path, monkeypatch
):
    laptop, lock, server = mixed_env
    remote = Remote.open(remote_url)
    remote.push(lock, laptop, tags=[("demo", "v1")])
    server.stop()
    shutil.rmtree(tmp_path / "channel")
    footool = next(p for p in lock.for_platform("linux-64").conda if p.name == "footool")
    key = f"{remote_url}/pkgs/{footool.sha256}"
    with fsspec.open(key, "rb") as f:
        size = len(f.read())
    with fsspec.open(key, "wb") as f:
        f.write(b"\0" * size)  # same size: only hashing finds it

    colleague = Store(tmp_path / "colleague")
    pulled = remote.pull("demo:v1", colleague)
    with pytest.raises(HydrateError, match=rf"remote object {key} is corrupted"):
        hydrate(pulled, colleague, fetch=remote.fetch_into(colleague))
    assert not colleague.env_path(lock.full_id).exists()
    assert colleague.find_archive(footool.sha256) is None
    folder = colleague.archive_path(footool.sha256, footool.file_name).parent
    assert not folder.exists() or not any(folder.iterdir())

    # A plain push trusts sizes; --verify hashes what is there and replaces what is wrong.
    assert remote.push(lock, laptop).uploaded == 0
    assert remote.push(lock, laptop, verify=True).uploaded == 1
    env = hydrate(pulled, colleague, fetch=remote.fetch_into(colleague))
    assert run_in(env, "import greetlib; print('ok')") == "ok"


def test_conditional_create_has_exactly_one_winner(remote_url: str):
    from concurrent.futures import ThreadPoolExecutor

    objects = Remote.open(remote_url).objects
    for round_ in range(10):
        key = f"tags/race/{round_}.json"
        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(objects.create, [key] * 8, [b"%d" % i for i in range(8)]))
        assert won.count(True) == 1
        assert objects.read(key) == b"%d" % won.index(True)


def _push_racing(args: tuple) -> str:
    """One of several processes pushing its own env under the same immutable tag."""
    url, home, wheels, barrier, env = args
    import os

    os.environ.update(env)
    lock = wheel_lock([Path(w) for w in wheels])
    barrier.wait()
    try:
        Remote.open(url).push(lock, Store(Path(home)), tags=[("race", "v1"), ("race", "latest")])
    except TagConflictError as exc:
        return f"conflict {exc}"
    return f"ok {lock.full_id}"


def test_concurrent_pushes_of_one_immutable_tag(remote_url: str, tmp_path: Path):
    import os

    shared = fake_wheel(tmp_path / "shared", "common")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(4)
    env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "NO_PROXY"))}
    jobs = [
        (
            remote_url,
            str(tmp_path / f"home{i}"),
            [str(shared), str(fake_wheel(tmp_path / f"w{i}", f"mine{i}"))],
            barrier,
            env,
        )
        for i in range(4)
    ]
    with ctx.Pool(4) as pool:
        outcomes = pool.map(_push_racing, jobs)
    winners = [o.split()[1] for o in outcomes if o.startswith("ok ")]
    assert len(winners) == 1, outcomes
    losers = [o for o in outcomes if o.startswith("conflict ")]
    assert len(losers) == 3 and all("race:v1 already names env" in o for o in losers), outcomes
    tags = {str(t): t.full_id for t in Remote.open(remote_url).ls("race")}
    # Losers failed before moving any mutable tag.
    assert tags == {"race:v1": winners[0], "race:latest": winners[0]}


def test_server_down_in_the_middle_of_a_push(tmp_path: Path, monkeypatch):
    server = MotoServer()
    server.start()
    try:
        url = use_s3(monkeypatch, server)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
        wheels = [fake_wheel(tmp_path / "w", f"pkg{i}") for i in range(6)]
        lock = wheel_lock(wheels)
        laptop = Store(tmp_path / "laptop")
        server.stop_after(2, "team/pkgs/")
        with pytest.raises(RemoteError, match=rf"cannot upload {url}/pkgs/"):
            Remote.open(url).push(lock, laptop, tags=[("demo", "v1"), ("demo", "latest")])
        server.wait_down()
        server.start()
        remote = Remote.open(url)
        assert remote.ls() == []  # no tag names the half-pushed env
        with pytest.raises(EnvNotFoundError):
            remote.fetch_lock(lock.full_id)
        there = fsspec.filesystem("s3", skip_instance_cache=True).find(f"{url}/pkgs/")
        assert len(there) == 2
        retried = remote.push(lock, laptop, tags=[("demo", "v1"), ("demo", "latest")])
        assert (retried.present, retried.uploaded) == (2, 4)
        colleague = Store(tmp_path / "colleague")
        pulled = remote.pull("demo:v1", colleague)
        packages = list(pulled.for_platform("linux-64").pypi)
        remote.fetch_into(colleague)(packages)
        assert all(colleague.find_archive(p.sha256) for p in packages)
    finally:
        server.stop()


def test_gc_keeps_tagged_and_recently_run_envs(remote_url: str, tmp_path: Path):
    w = tmp_path / "wheels"
    shared = fake_wheel(w, "shared")
    tagged = wheel_lock([shared, fake_wheel(w, "tagged")])
    untagged = wheel_lock([shared, fake_wheel(w, "untagged")])
    recent = wheel_lock([fake_wheel(w, "recent")])
    old = wheel_lock([fake_wheel(w, "old")])
    laptop = Store(tmp_path / "laptop")
    remote = Remote.open(remote_url)
    remote.push(tagged, laptop, tags=[("team", "v1")])
    for lock in (untagged, recent, old):
        remote.push(lock, laptop)
    now = time.time()
    for run_id, lock, started in (("r-new", recent, now - 3600), ("r-old", old, now - 90 * 86400)):
        step = StepRecord(run_id, "train", lock.full_id, started, started + 1, "ok")
        remote.record_run(RunRecord(run_id, started, "host", "python flow.py", (step,)))

    def sha_of(lock: Lock, name: str) -> str:
        return next(p.sha256 for p in lock.for_platform("linux-64").pypi if p.name == name)

    gone_locks = sorted(f"locks/{lk.full_id}.lock" for lk in (untagged, old))
    gone_pkgs = sorted([f"pkgs/{sha_of(untagged, 'untagged')}", f"pkgs/{sha_of(old, 'old')}"])
    # Everything is fresh: within the grace period nothing goes.
    assert remote.gc().locks == ()
    planned = remote.gc(grace_seconds=0, dry_run=True)
    assert (list(planned.locks), list(planned.packages)) == (gone_locks, gone_pkgs)
    assert planned.kept_locks == 2 and planned.freed_bytes > 0
    assert remote.fetch_lock(old.full_id) == old  # a dry run deletes nothing
    done = remote.gc(grace_seconds=0)
    assert (list(done.locks), list(done.packages)) == (gone_locks, gone_pkgs)
    assert remote.gc(grace_seconds=0).locks == ()
    for lock in (untagged, old):
        with pytest.raises(EnvNotFoundError):
            remote.fetch_lock(lock.full_id)
    colleague = Store(tmp_path / "colleague")
    for ref, lock in (("team:v1", tagged), (recent.full_id, recent)):
        pulled = remote.pull(ref, colleague)
        remote.fetch_into(colleague)(list(pulled.for_platform("linux-64").pypi))
        assert all(colleague.find_archive(p.sha256) for p in lock.for_platform("linux-64").pypi)
    # Without --keep-tagged only recent runs keep envs, and tags of deleted envs go too.
    final = remote.gc(grace_seconds=0, keep_tagged=False)
    assert final.tags == ("team:v1",) and remote.ls() == []
    assert remote.fetch_lock(recent.full_id) == recent


def test_runs_recorded_remotely(remote_url: str):
    remote = Remote.open(remote_url)
    steps = (StepRecord("8e3a1c55aa01", "flow.train", "ab" * 32, 1.0, 2.0, "ok"),)
    run = RunRecord("8e3a1c55aa01", 1.0, "laptop", "python flow.py", steps)
    remote.record_run(run)
    remote.record_run(RunRecord("8e3a1d000000", 3.0, "laptop", "python flow.py", ()))
    elsewhere = Remote.open(remote_url)
    assert elsewhere.fetch_run("8e3a1c") == run
    assert elsewhere.fetch_run("8e3a1c55aa01") == run
    assert elsewhere.fetch_run("ffff") is None
    with pytest.raises(AmberError, match="matches several runs"):
        elsewhere.fetch_run("8e3a1")


def test_remote_is_picklable(remote_url: str):
    import pickle

    remote = pickle.loads(pickle.dumps(Remote.open(remote_url)))
    assert remote.ls() == [] and remote.url == remote_url


def test_nothing_secret_is_written(remote_url: str, tmp_path: Path):
    lock = wheel_lock([fake_wheel(tmp_path, "x")])
    Remote.open(remote_url).push(lock, Store(tmp_path / "a"), tags=[("x", "v1")])
    fs, root = fsspec.core.url_to_fs(remote_url)
    for path in fs.find(root):
        data = fs.cat_file(path)
        assert b"testing" not in data, path  # the dummy credentials
