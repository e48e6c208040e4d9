"""The Python API: thin compositions of spec -> resolve -> lock -> store -> hydrate -> run,
over a ``Session`` (settings, store, remote store, progress) built once at the edge.

One module per concern: ``session``, ``locking`` (specs and locks), ``envs`` (install,
find, tag, pull, remove) and ``runs``; every public name is re-exported here.
"""

from __future__ import annotations

from typing import Any

from amber.api.envs import (
    configured_remote,
    env_for_file,
    fetch_hook,
    find_env,
    install,
    install_bundle,
    lock_for_ref,
    lock_of,
    mutable_tags,
    pull,
    remove_env,
    resolve_ref,
    tag_env,
)
from amber.api.locking import add, beside_lock, ensure_lock, load, lock, merge_driver, merge_lock
from amber.api.runs import env_of_step, find_run
from amber.api.session import Session
from amber.run._hotpath import DEFAULT_FILES, LOCK_NAME
from amber.store.refs import parse_tag

__all__ = [
    "Session",
    "lock",
    "ensure_lock",
    "install",
    "install_bundle",
    "find_env",
    "remove_env",
    "env_for_file",
    "load",
    "add",
    "lock_of",
    "beside_lock",
    "check_lock",
    "as_locked",
    "merge_lock",
    "split_conflict",
    "merge_driver",
    "LockCheckFailed",
    "configured_remote",
    "fetch_hook",
    "lock_for_ref",
    "pull",
    "parse_tag",
    "tag_env",
    "resolve_ref",
    "mutable_tags",
    "find_run",
    "env_of_step",
    "DEFAULT_FILES",
    "LOCK_NAME",
]

# Re-exported on first use: they live in amber.resolve, which loads the solver, and
# `amber install` on a known file (the fast path) imports this package.
_FROM_RESOLVE = {
    "check_lock": "amber.resolve.check",
    "as_locked": "amber.resolve.check",
    "LockCheckFailed": "amber.resolve.check",
    "split_conflict": "amber.resolve.merge",
}


def __getattr__(name: str) -> Any:
    module = _FROM_RESOLVE.get(name)
    if module is None:
        raise AttributeError(f"module 'amber.api' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
