"""Run pipeline steps on a Ray cluster, each in its own env.

The same shape as ``amber.dask`` (``amber.pipeline._cluster``): the caller resolves
the step's lock (no env is built there) and pushes the lock and its packages to a
remote store, once per process per env; each Ray worker process hydrates the env
from the remote store into its own store (``$AMBER_HOME``), once per worker and
env, then calls the step in a subprocess inside it, as a local call does.

``submit`` returns a ``ray.ObjectRef``: ``ray.get`` gives the step's value, or
raises its exception the way Ray raises a task's (an instance of both
``ray.exceptions.RayTaskError`` and the step's own type). Workers need Amber
(``pip install 'amber-env[ray]'``, plus the fsspec backend of the store) and
access to the remote store, but no channel and no index.
"""

from __future__ import annotations

import copyreg
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import cloudpickle

from amber.errors import AmberError, RemoteTraceback
from amber.pipeline._cluster import Prepared, prepare, run_task
from amber.pipeline.steps import Step
from amber.remote import Remote

if TYPE_CHECKING:
    from ray import ObjectRef

__all__ = ["submit", "map"]

_REMOTE_FUNCTION: list[Any] = []  # ray.remote(_on_worker), made once per process
_GUARD = threading.Lock()


def submit(
    step: Step,
    *args: Any,
    remote: str | Remote | None = None,
    ray_options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> ObjectRef:
    """Run ``step(*args, **kwargs)`` as a Ray task; a ``ray.ObjectRef`` of its value.

    ``remote`` is the remote store the workers hydrate the step's env from (default
    ``$AMBER_REMOTE``); ``ray_options`` go to the task's ``.options()`` (``num_cpus``,
    ``resources``, ...). Arguments may be ``ObjectRef``s of other tasks (Ray passes
    their values). ``ray.get`` raises the step's exception as its own type.
    """
    prepared = prepare(step, remote, "amber.ray")
    return _submit(prepared, args, kwargs, ray_options)


def map(  # noqa: A001 - amber.ray.map, like amber.dask.map
    step: Step,
    *iterables: Iterable[Any],
    remote: str | Remote | None = None,
    ray_options: Mapping[str, Any] | None = None,
) -> list[ObjectRef]:
    """``step`` over ``zip(*iterables)`` as Ray tasks: one ``ObjectRef`` per call, in order."""
    prepared = prepare(step, remote, "amber.ray")
    return [_submit(prepared, args, {}, ray_options) for args in zip(*iterables, strict=False)]


# -- the caller ----------------------------------------------------------------------


def _remote_function() -> Any:
    with _GUARD:
        if not _REMOTE_FUNCTION:
            try:
                import ray  # noqa: PLC0415 - optional: amber-env[ray]
            except ImportError:
                raise AmberError("amber.ray needs Ray: pip install 'amber-env[ray]'") from None
            _REMOTE_FUNCTION.append(ray.remote(_on_worker))
        return _REMOTE_FUNCTION[0]


def _submit(
    prepared: Prepared,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    ray_options: Mapping[str, Any] | None,
) -> ObjectRef:
    # Arguments and keywords stay at the top level, where Ray hands a task the values of
    # the ObjectRefs among them; what Amber needs travels as one positional-only tuple, so
    # no keyword of the step's collides with it.
    meta = (prepared.full_id, prepared.lock_text, prepared.blob, prepared.remote_url)
    options = {"name": prepared.step.name, **(ray_options or {})}
    return _remote_function().options(**options).remote(meta, *args, **kwargs)


# -- the worker ----------------------------------------------------------------------


def _on_worker(meta: tuple[str, str, bytes, str], /, *args: Any, **kwargs: Any) -> Any:
    """A Ray task: the step's env hydrated from the remote store, then the step called."""
    full_id, lock_text, blob, remote_url = meta
    try:
        return run_task(full_id, lock_text, blob, remote_url, args, kwargs, "amber.ray")
    except Exception as exc:
        _keeps_its_class(type(exc))
        raise


def _keeps_its_class(cls: type[BaseException]) -> None:
    """Let an exception class that came by value (the caller's own code) go back as the
    caller's class. Ray's pickler would send a look-alike class (Ray's cloudpickle has never
    seen the caller's); cloudpickle, which brought it here, maps it back to the original."""
    target: Any = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        target = getattr(target, part, None)
    if target is not cls:  # not importable here, so it came by value
        copyreg.pickle(cls, _reduce_exception)


def _reduce_exception(exc: BaseException) -> tuple[Any, tuple[bytes, str | None]]:
    cause = exc.__cause__
    state = cloudpickle.dumps((type(exc), exc.args, getattr(exc, "__dict__", {})))
    return _rebuild_exception, (state, cause.tb if isinstance(cause, RemoteTraceback) else None)


def _rebuild_exception(state: bytes, tb: str | None) -> BaseException:
    """On the caller: the step's exception as its own class, the step's traceback its cause."""
    cls, args, attributes = cloudpickle.loads(state)
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(attributes)
    if tb is not None:
        exc.__cause__ = RemoteTraceback(tb)
    return exc
