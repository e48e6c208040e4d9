"""The Python API: thin compositions of spec -> resolve -> lock -> store -> hydrate -> run,
over a ``Session`` (settings, store, remote store, progress) built once at the edge.

One module per concern: ``session``, ``locking`` (specs and locks), ``envs`` (install,
find, tag, pull, remove), ``runs``, and the flows of whole commands the CLI calls:
``files`` (lock or install a file), ``show`` (list, show, verify), ``share`` (push),
``ship`` (pack, bundles), ``convert`` (export, import). The names most callers need are
re-exported here.
"""

from __future__ import annotations

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
    "resolve_ref",
    "mutable_tags",
    "find_run",
    "env_of_step",
    "DEFAULT_FILES",
    "LOCK_NAME",
]
