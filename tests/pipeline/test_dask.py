"""Steps on a dask cluster: workers hydrate step envs from the remote store, not from PyPI.

The workers are processes of a ``LocalCluster`` on 127.0.0.1 with their own
``AMBER_HOME`` and every connection except to 127.0.0.1 sent to a dead proxy:
an env can only reach them through the remote store (S3 on moto, or a directory).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cloudpickle
import pytest
from helpers import env_dirs

import amber
import amber.dask
from amber import api
from amber._platform import host_platform
from amber.errors import AmberError
from amber.lock import Lock
from amber.pipeline.steps import RemoteTraceback
from amber.store import Store

distributed = pytest.importorskip("distributed")

DEAD_PROXY = "http://127.0.0.1:9"
SIX = amber.Env(pypi=["six==1.16.0"])

# The helpers below run on the workers: they travel by value, like the steps.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class DaskBoom(Exception):
    """Raised inside a step on a worker: it must come back to the caller as itself."""


@amber.step(SIX)
def six_version(x: int) -> tuple[str, int, str]:
    import six

    return six.__version__, x * 2, sys.prefix


@amber.step(SIX)
def add_one(x: int) -> int:
    return x + 1


@amber.step(SIX)
def fails(x: int) -> None:
    raise DaskBoom("bad", x)


@contextmanager
def cluster(worker_home: Path) -> Iterator[distributed.Client]:
    """Two worker processes with their own store and no way out but to 127.0.0.1."""
    offline = {
        name: DEAD_PROXY for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
    }
    env = {"AMBER_HOME": str(worker_home), **offline, "NO_PROXY": "127.0.0.1,localhost"}
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # no fixed port: tests run in parallel
            env=env,
        ) as local,
        distributed.Client(local) as client,
    ):
        client.run(_count_hydrates)
        yield client


def _count_hydrates() -> None:
    """On a worker: count the hydrates amber.dask starts there."""
    import amber.hydrate

    real = getattr(amber.hydrate.hydrate, "real", amber.hydrate.hydrate)

    def counting(lock, store, **kwargs):  # type: ignore[no-untyped-def]
        counting.calls.append(lock.full_id)  # type: ignore[attr-defined]
        return real(lock, store, **kwargs)

    counting.calls = []  # type: ignore[attr-defined]
    counting.real = real  # type: ignore[attr-defined]
    amber.hydrate.hydrate = counting


def _hydrates() -> list[str]:
    import amber.hydrate

    return list(amber.hydrate.hydrate.calls)  # type: ignore[attr-defined]


def _reaches_pypi() -> bool:
    import urllib.request

    try:
        urllib.request.urlopen("https://pypi.org/simple/six/", timeout=10).close()
    except OSError:
        return False
    return True


def test_steps_run_on_workers_from_the_remote_store(
    amber_home: Path, remote_url: str, tmp_path: Path
) -> None:
    worker_home = tmp_path / "worker-home"
    with cluster(worker_home) as client:
        one = amber.dask.submit(client, six_version, 21, remote=remote_url)
        version, doubled, prefix = one.result(timeout=60)
        assert (version, doubled) == ("1.16.0", 42)
        many = amber.dask.map(client, six_version, range(8), remote=remote_url)
        results = client.gather(many)
        assert [r[:2] for r in results] == [("1.16.0", 2 * i) for i in range(8)]
        # A future as an argument: dask hands the step its value.
        chained = amber.dask.submit(
            client, add_one, amber.dask.submit(client, add_one, 1, remote=remote_url),
            remote=remote_url,
        )  # fmt: skip
        assert chained.result(timeout=60) == 3
        keyword = amber.dask.submit(client, add_one, x=chained, remote=remote_url)
        assert keyword.result(timeout=60) == 4
        per_worker = client.run(_hydrates)
        assert set(client.run(_reaches_pypi).values()) == {False}

    # Every step shares one spec: one env, built in the workers' store, never the caller's.
    [env] = env_dirs(worker_home)
    assert (env / ".amber" / "complete").is_file()
    assert {Path(p) for _, _, p in [*results, (version, doubled, prefix)]} == {env}
    assert env_dirs(amber_home) == []
    full_id = api.ensure_lock(six_version.spec).full_id
    assert env.name == full_id[: len(env.name)]
    # Each worker hydrated it at most once, whatever the number of tasks it ran.
    assert all(calls in ([], [full_id]) for calls in per_worker.values()), per_worker
    assert any(per_worker.values())
    # The worker's store keeps the lock and the archives (from the remote) and the runs.
    workers = Store(worker_home)
    lock = Lock.read(workers.find_lock(full_id))
    assert all(workers.find_archive(p.sha256) for p in lock.for_platform(host_platform()).pypi)
    assert {s.full_id for r in workers.runs() for s in r.steps} == {full_id}


def test_env_steps_errors_and_amber_remote(
    amber_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = (tmp_path / "remote").as_uri()
    monkeypatch.setenv("AMBER_REMOTE", remote)  # the caller's and the workers' remote store
    here = api.install(add_one.spec)  # a step's spec: the env has cloudpickle
    api.tag_env(here, "sixer:v1")

    @amber.step(env="sixer:v1")
    def tagged(x: int) -> str:
        import six

        return f"{six.__version__}:{x}"

    worker_home = tmp_path / "worker-home"
    with cluster(worker_home) as client:
        assert amber.dask.submit(client, tagged, 5).result(timeout=60) == "1.16.0:5"
        with pytest.raises(DaskBoom) as boom:
            amber.dask.submit(client, fails, 7).result(timeout=60)
        assert boom.value.args == ("bad", 7)
        cause = boom.value.__cause__
        assert isinstance(cause, RemoteTraceback) and "raise DaskBoom" in cause.tb
        # The caller's file, line and source line, though the function travelled by value
        # (twice: to the dask worker, then into the step's env).
        lines = Path(__file__).read_text().splitlines()
        line = lines.index('    raise DaskBoom("bad", x)') + 1
        assert f'File "{__file__}", line {line}, in fails' in cause.tb, cause.tb
        assert 'raise DaskBoom("bad", x)' in cause.tb, cause.tb
    [env] = env_dirs(worker_home)
    assert env.name == here.full_id[: len(env.name)]


def test_a_remote_store_is_required(amber_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMBER_REMOTE", raising=False)
    with pytest.raises(AmberError, match="pass remote=.*or set AMBER_REMOTE"):
        amber.dask.submit(object(), add_one, 1)  # type: ignore[arg-type]
    with pytest.raises(AmberError, match="@amber.step"):
        amber.dask.submit(object(), len, 1, remote="file:///nowhere")  # type: ignore[arg-type]
