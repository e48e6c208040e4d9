"""Steps on a cluster's workers, whatever the engine (``amber.dask``, ``amber.ray``).

On the caller, ``prepare`` resolves the step's lock (no env is built there), pushes
the lock and its packages to a remote store (once per process per env) and pickles
the step. On a worker, ``run_task`` hydrates the env from the remote store into the
worker's own store (``$AMBER_HOME``; once per worker process per env, and one build
per store however many workers share it), then calls the step exactly as a local
call does: in a subprocess inside the env. Its value, or its exception, comes back
through the engine.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from amber import api
from amber.errors import AmberError
from amber.hydrate import hydrate
from amber.lock import Lock
from amber.pipeline import _pickle
from amber.pipeline.steps import (
    Step,
    StepError,
    _call,  # noqa: PLC2701 - same package
    _ship_by_value,  # noqa: PLC2701 - same package
)
from amber.remote import Remote
from amber.settings import Settings
from amber.store import Store

if TYPE_CHECKING:
    from amber.store.env import Env

__all__ = ["Prepared", "prepare", "run_task"]

# Caller: the locks of steps (by store and spec / env reference) and the envs pushed
# (by remote and full_id), each worked out once per process.
_LOCKS: dict[tuple[str, str], Lock] = {}
_PUSHED: set[tuple[str, str]] = set()
# Worker: the envs hydrated in this process (by store and full_id).
_WORKER_ENVS: dict[tuple[str, str], Env] = {}
_KEY_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_GUARD = threading.Lock()


# -- the caller ----------------------------------------------------------------------


class Prepared:
    """What every task of one step needs: the env's lock, the step and the remote's URL."""

    def __init__(self, step: Step, lock: Lock, remote_url: str, blob: bytes) -> None:
        self.step = step
        self.full_id = lock.full_id
        self.lock_text = lock.dumps()
        self.remote_url = remote_url
        self.blob = blob


def prepare(step: Step, remote: str | Remote | None, engine: str) -> Prepared:
    """The step's lock resolved and pushed to the remote store, and the step pickled;
    ``engine`` (``amber.dask``, ``amber.ray``) names the caller in errors."""

    if not isinstance(step, Step):
        raise StepError(
            f"{engine} runs amber steps (functions decorated with @amber.step), not {step!r}"
        )
    the_remote = remote if isinstance(remote, Remote) else _open_remote(remote, engine)
    store = Store(Settings.from_environ().home)  # the caller's store: this is the edge
    try:
        lock = _lock_of(step, store)
        _push_once(the_remote, lock, store)
    finally:
        store.close()
    # The worker has neither the caller's modules nor its sys.path: the function (and
    # whatever of the caller's own code it uses) travels by value, as for a local call.
    _ship_by_value(step.func)
    try:
        blob = _pickle.dumps(step)
    except Exception as exc:  # noqa: BLE001 - say which step
        raise StepError(
            f"step {step.name}: the function cannot be pickled: {exc}", step=step.name
        ) from None
    return Prepared(step, lock, the_remote.url, blob)


def _open_remote(url: str | None, engine: str) -> Remote:

    if not (url or Settings.from_environ().remote_url):
        raise AmberError(
            f"{engine} needs a remote store that the workers can reach, to hydrate step "
            "envs from: pass remote='s3://bucket/prefix' (or gs://, az://, file:// on a "
            "shared filesystem) or set AMBER_REMOTE"
        )
    return Remote.open(url)


def _lock_of(step: Step, store: Store) -> Lock:
    """The lock of the step's env (resolved if need be, never hydrated), once per process."""

    if step.spec is not None:
        key = (str(store.home), f"spec:{step.spec.req_id}")
    else:
        key = (str(store.home), f"env:{step._env_ref}")
    with _key_lock(key):
        lock = _LOCKS.get(key)
        if lock is None:
            if step.spec is not None:
                lock = api.ensure_lock(step.spec, store)
            else:
                lock = api.lock_for_ref(step._env_ref or "", store)
            _LOCKS[key] = lock
        return lock


def _push_once(remote: Remote, lock: Lock, store: Store) -> None:
    """Put the env's lock and packages into the remote store, once per process."""
    key = (remote.url, lock.full_id)
    with _key_lock(key):
        if key not in _PUSHED:
            remote.push(lock, store)
            _PUSHED.add(key)


# -- the worker ----------------------------------------------------------------------


def run_task(
    full_id: str,
    lock_text: str,
    blob: bytes,
    remote_url: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    engine: str = "amber.dask",
) -> Any:
    """A task: the step's env hydrated from the remote store, then the step called in it."""

    step = _pickle.loads(blob)
    store = api.Session.open(quiet=True).store  # the worker's: its sqlite is this thread's
    try:
        env = _worker_env(full_id, lock_text, remote_url, store, engine)
        return _call(step, env, args, kwargs, store)
    finally:
        store.close()


def _worker_env(full_id: str, lock_text: str, remote_url: str, store: Store, engine: str) -> Env:
    """The env for ``full_id`` in this worker's store, hydrated from the remote store once
    per process (concurrent tasks wait for one hydrate; the store's file lock makes it one
    build for every process sharing the store)."""

    key = (str(store.home), full_id)
    with _key_lock(key):
        env = _WORKER_ENVS.get(key)
        if env is not None and env.is_complete():
            return env
        lock = Lock.loads(lock_text, f"the lock of env {full_id[:12]} (from the {engine} caller)")
        if lock.full_id != full_id:
            raise AmberError(f"the lock sent for env {full_id[:12]} is another env's")
        # Kept in the worker's store too: the runs recorded there can be re-created later.
        if store.find_lock(full_id) is None:
            store.save_lock(lock_text, lock.req_id, full_id)
        remote = Remote.open(remote_url)
        env = hydrate(lock, store, fetch=remote.fetch_into(store))
        _WORKER_ENVS[key] = env
        return env


# -- plumbing ------------------------------------------------------------------------


def _key_lock(key: tuple[str, str]) -> threading.Lock:
    with _GUARD:
        return _KEY_LOCKS.setdefault(key, threading.Lock())
