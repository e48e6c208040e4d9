"""Steps on a local Ray cluster: workers hydrate step envs from the remote store, not PyPI.

One Ray instance for the session (``ray.init`` is per process): its workers have their
own ``AMBER_HOME`` and every connection except to 127.0.0.1 sent to a dead proxy, so an
env can only reach them through the remote store (a ``file://`` directory). A setup hook
in every worker process counts the hydrates Amber starts there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import pytest
from helpers import env_dirs

import amber
import amber.ray
from amber import api
from amber.errors import AmberError, RemoteTraceback
from amber.store import Store

ray = pytest.importorskip("ray")

DEAD_PROXY = "http://127.0.0.1:9"

# The helpers below run on the workers: they travel by value, like the steps.
cloudpickle.register_pickle_by_value(sys.modules[__name__])
pytest.importorskip("ray.cloudpickle").register_pickle_by_value(sys.modules[__name__])  # its hooks


class RayBoom(Exception):
    """Raised inside a step on a worker: it must come back to the caller as itself."""


@amber.step(pypi=["six==1.15.0"])
def extract(x: int) -> dict[str, object]:
    import six

    return {"x": x, "six": six.__version__, "prefix": sys.prefix, "worker": os.getppid()}


@amber.step(pypi=["six==1.16.0"])
def transform(row: dict[str, object], scale: int = 1) -> dict[str, object]:
    import six

    return {**row, "y": int(row["x"]) * scale, "six_after": six.__version__}  # type: ignore[call-overload]


@amber.step(pypi=["six==1.16.0"])
def fails(x: int) -> None:
    raise RayBoom("bad", x)


def _count_hydrates() -> None:
    """Ray's worker_process_setup_hook: each worker process logs the hydrates it starts."""
    import amber.hydrate

    real = amber.hydrate.hydrate
    log = Path(os.environ["AMBER_HOME"]).parent / "hydrates" / str(os.getpid())

    def counting(lock, store, **kwargs):  # type: ignore[no-untyped-def]
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as f:
            f.write(lock.full_id + "\n")
        return real(lock, store, **kwargs)

    amber.hydrate.hydrate = counting


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A local Ray instance whose workers keep their store in the returned directory."""
    worker_home = tmp_path_factory.mktemp("ray-workers") / "amber-home"
    offline = {
        name: DEAD_PROXY for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
    }
    env_vars = {"AMBER_HOME": str(worker_home), **offline, "NO_PROXY": "127.0.0.1,localhost"}
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=100 * 1024 * 1024,
        runtime_env={"env_vars": env_vars, "worker_process_setup_hook": _count_hydrates},
        log_to_driver=False,
    )
    try:
        yield worker_home
    finally:
        ray.shutdown()


def _reaches_pypi() -> bool:
    import urllib.request

    try:
        urllib.request.urlopen("https://pypi.org/simple/six/", timeout=10).close()
    except OSError:
        return False
    return True


def test_steps_with_conflicting_pins_run_on_ray_workers_from_the_remote_store(
    amber_home: Path, ray_cluster: Path, tmp_path: Path
) -> None:
    remote = (tmp_path / "remote").as_uri()
    # Two steps whose envs pin six differently; a value passes from one to the other as
    # an ObjectRef, and Ray hands the second its value.
    rows = amber.ray.map(extract, range(6), remote=remote)
    out = ray.get([amber.ray.submit(transform, r, scale=10, remote=remote) for r in rows])
    assert [(o["x"], o["y"], o["six"], o["six_after"]) for o in out] == [
        (i, 10 * i, "1.15.0", "1.16.0") for i in range(6)
    ]
    assert ray.get(ray.remote(_reaches_pypi).remote()) is False

    with pytest.raises(RayBoom) as boom:
        ray.get(amber.ray.submit(fails, 7, remote=remote))
    raised = boom.value.cause if isinstance(boom.value, ray.exceptions.RayTaskError) else boom.value
    assert type(raised) is RayBoom and raised.args == ("bad", 7)
    assert isinstance(raised.__cause__, RemoteTraceback)
    assert 'raise RayBoom("bad", x)' in raised.__cause__.tb

    # Two envs, built in the workers' store, never the caller's; each worker process
    # hydrated each env at most once, whatever the number of tasks it ran.
    ids = {api.ensure_lock(s.spec).full_id for s in (extract, transform)}
    envs = env_dirs(ray_cluster)
    assert {Path(o["prefix"]) for o in out} <= set(envs)
    assert {e.name for e in envs} == {i[: len(envs[0].name)] for i in ids}
    assert env_dirs(amber_home) == []
    logs = list((ray_cluster.parent / "hydrates").iterdir())
    assert logs
    for log in logs:
        calls = log.read_text().split()
        assert len(calls) == len(set(calls)) and set(calls) <= ids, calls
    workers = Store(ray_cluster)
    assert {s.full_id for r in workers.runs() for s in r.steps} == ids


def test_a_remote_store_and_a_step_are_required(
    amber_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AMBER_REMOTE", raising=False)
    with pytest.raises(AmberError, match="amber.ray needs a remote store.*or set AMBER_REMOTE"):
        amber.ray.submit(extract, 1)
    with pytest.raises(AmberError, match="amber.ray runs amber steps"):
        amber.ray.submit(len, 1, remote="file:///nowhere")  # type: ignore[arg-type]
