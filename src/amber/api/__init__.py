"""The Python API: thin compositions of spec -> resolve -> lock -> store -> hydrate -> run,
over a ``Session`` (settings, store, remote store, progress) built once at the edge.

One module per concern: ``session``, ``locking`` (specs and locks), ``envs`` (install,
find, tag, pull, remove), ``runs``, and the flows of whole commands the CLI calls:
``files`` (lock or install a file), ``show`` (list, show, verify), ``share`` (push),
``ship`` (pack, bundles), ``convert`` (export, import). The names most callers need are
re-exported here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Re-exported on first use (PEP 562): each CLI command imports only the api module it
# needs (`amber unpack` must not load the solver), yet `api.install(...)` works as always.
_EXPORTS = {
    "Session": "amber.api.session",
    "configured_remote": "amber.api.envs",
    "env_for_file": "amber.api.envs",
    "fetch_hook": "amber.api.envs",
    "find_env": "amber.api.envs",
    "install": "amber.api.envs",
    "install_bundle": "amber.api.envs",
    "lock_for_ref": "amber.api.envs",
    "lock_of": "amber.api.envs",
    "mutable_tags": "amber.api.envs",
    "pull": "amber.api.envs",
    "remove_env": "amber.api.envs",
    "resolve_ref": "amber.api.envs",
    "tag_env": "amber.api.envs",
    "tag_lock": "amber.api.envs",
    "lock_for_name": "amber.api.envs",
    "add": "amber.api.locking",
    "beside_lock": "amber.api.locking",
    "ensure_lock": "amber.api.locking",
    "load": "amber.api.locking",
    "lock": "amber.api.locking",
    "merge_driver": "amber.api.locking",
    "merge_lock": "amber.api.locking",
    "env_of_step": "amber.api.runs",
    "find_run": "amber.api.runs",
    "LockCheckFailed": "amber.resolve.check",
    "as_locked": "amber.resolve.check",
    "check_lock": "amber.resolve.check",
    "split_conflict": "amber.resolve.merge",
    "DEFAULT_FILES": "amber.run._hotpath",
    "LOCK_NAME": "amber.run._hotpath",
    "parse_tag": "amber.store.refs",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'amber.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    from amber.api.envs import (
        configured_remote,
        env_for_file,
        fetch_hook,
        find_env,
        install,
        install_bundle,
        lock_for_name,
        lock_for_ref,
        lock_of,
        mutable_tags,
        pull,
        remove_env,
        resolve_ref,
        tag_env,
        tag_lock,
    )
    from amber.api.locking import (
        add,
        beside_lock,
        ensure_lock,
        load,
        lock,
        merge_driver,
        merge_lock,
    )
    from amber.api.runs import env_of_step, find_run
    from amber.api.session import Session
    from amber.resolve.check import LockCheckFailed, as_locked, check_lock
    from amber.resolve.merge import split_conflict
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
    "tag_lock",
    "lock_for_name",
    "resolve_ref",
    "mutable_tags",
    "find_run",
    "env_of_step",
    "DEFAULT_FILES",
    "LOCK_NAME",
]
