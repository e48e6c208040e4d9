"""Run pipeline steps on a ``dask.distributed`` cluster, each in its own env.

On the caller, ``submit``/``map`` resolve the step's lock (no env is built there),
push the lock and its packages to a remote store (once per process per env), and
submit a task. On a worker, the task hydrates the env from the remote store into
the worker's own store (``$AMBER_HOME``; once per worker process per env, and one
build per store however many workers share it), then calls the step exactly as a
local call does: in a subprocess inside the env. Its value, or its exception,
comes back through dask.

Workers need Amber (``pip install 'amber-env[dask]'``, plus ``[remote]`` or the
fsspec backend of the store) and access to the remote store (for S3, the usual
AWS credential chain and ``AWS_ENDPOINT_URL``), but no channel and no index.
Each worker machine keeps its store in ``$AMBER_HOME`` or the default user data
directory; workers on one machine may share it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from amber.errors import AmberError
from amber.pipeline._cluster import Prepared, prepare, run_task
from amber.pipeline.steps import Step
from amber.remote import Remote

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["submit", "map"]


def submit(
    client: Client | None,
    step: Step,
    *args: Any,
    remote: str | Remote | None = None,
    **kwargs: Any,
) -> Future:
    """Run ``step(*args, **kwargs)`` on the cluster; a ``distributed.Future`` of its value.

    ``remote`` is the remote store the workers hydrate the step's env from (default
    ``$AMBER_REMOTE``). Arguments may be futures of other tasks (dask passes their
    values). The step's exception, if it raises, is raised by ``future.result()``.
    """
    client = _client(client)
    prepared = prepare(step, remote, "amber.dask")
    return _submit(client, prepared, args, kwargs)


def map(  # noqa: A001 - amber.dask.map, like Client.map
    client: Client | None,
    step: Step,
    *iterables: Iterable[Any],
    remote: str | Remote | None = None,
) -> list[Future]:
    """``step`` over ``zip(*iterables)`` on the cluster: one future per call, in order."""
    client = _client(client)
    prepared = prepare(step, remote, "amber.dask")
    return [_submit(client, prepared, args, {}) for args in zip(*iterables, strict=False)]


# -- the caller ----------------------------------------------------------------------


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    try:
        from distributed import get_client  # noqa: PLC0415 - optional: amber-env[dask]
    except ImportError:
        raise AmberError(
            "amber.dask needs dask.distributed: pip install 'amber-env[dask]'"
        ) from None
    try:
        return get_client()
    except ValueError:
        raise AmberError(
            "amber.dask needs a dask client: pass one, or create a distributed.Client first"
        ) from None


def _submit(
    client: Client, prepared: Prepared, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Future:
    # Arguments stay dask arguments (futures among them resolve to their values); user
    # kwargs travel as one dict so that they never collide with submit's own options.
    return client.submit(
        _run_on_worker,
        prepared.full_id,
        prepared.lock_text,
        prepared.blob,
        prepared.remote_url,
        tuple(args),
        dict(kwargs),
        key=f"{prepared.step.name}-{uuid.uuid4().hex}",
        pure=False,
    )


# -- the worker ----------------------------------------------------------------------


def _run_on_worker(
    full_id: str,
    lock_text: str,
    blob: bytes,
    remote_url: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """A dask task: the step's env hydrated from the remote store, then the step called."""
    return run_task(full_id, lock_text, blob, remote_url, args, kwargs, "amber.dask")
