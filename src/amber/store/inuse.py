"""The in-use lock of an env: shared while a process runs in it, exclusive to build or remove it.

One lock file per env (``Store.env_lock_path``). `amber run` and steps hold it shared
(across exec, through an inherited descriptor), hydrate holds it exclusive while it
builds, and removal (`amber env rm`, `amber gc`) takes it exclusive without waiting,
so an env in use is never removed. ``flock`` where the OS has it; elsewhere (Windows)
byte-range locks: a shared holder locks a byte of its own, an exclusive one them all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from amber._fs import remove_tree
from amber.errors import AmberError
from amber.store.env import Env

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from amber.store import Store

__all__ = ["hold_shared", "exclusive", "in_use", "remove_env", "remove_unheld"]

_ALL = 2**31 - 1  # the byte range an exclusive holder locks where there is no flock
_POLL = 0.05


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _try_lock(fd: int, shared: bool) -> bool:
    """One attempt at the lock, without waiting."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # only where there is no fcntl

    # A shared holder's byte is its pid's (they never overlap); an exclusive one takes all.
    start, length = (1 + os.getpid() % (_ALL - 1), 1) if shared else (0, _ALL)
    os.lseek(fd, start, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, length)
    except OSError:
        return False
    return True


def _lock(fd: int, shared: bool) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        return
    while not _try_lock(fd, shared):
        time.sleep(_POLL)


def _still_there(fd: int, path: Path) -> bool:
    """Whether the locked descriptor is still the file at ``path``: `amber gc` removes lock
    files nobody holds, and a lock taken on a removed file guards nothing."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _locked(path: Path, shared: bool) -> int:
    """A descriptor holding ``path`` (waiting for the lock), on the file that is there."""
    while True:
        fd = _open(path)
        try:
            _lock(fd, shared)
        except BaseException:
            os.close(fd)
            raise
        if _still_there(fd, path):
            return fd
        os.close(fd)  # removed while we waited: lock the new one


def hold_shared(path: Path) -> int:
    """A descriptor holding ``path`` shared (waits for an exclusive holder); closing it
    releases the lock. Make it inheritable to keep the lock across exec."""
    return _locked(path, shared=True)


@contextmanager
def exclusive(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold ``path`` exclusively; yields False (holding nothing) when ``wait`` is False and
    another process holds it."""
    fd = _locked(path, shared=False) if wait else _open(path)
    try:
        if wait:
            yield True
        else:
            yield _try_lock(fd, shared=False) and _still_there(fd, path)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def adopted(fd: int) -> Iterator[bool]:
    """A lock this process took already on ``fd`` (``amber._early``'s), released at the end."""
    try:
        yield True
    finally:
        os.close(fd)


def remove_unheld(path: Path) -> bool:
    """Remove the lock file ``path`` if nobody holds it (whoever waits for it then locks
    the file made anew: ``_locked``)."""
    with exclusive(path, wait=False) as got:
        if got:
            path.unlink(missing_ok=True)
        return got


def in_use(path: Path) -> bool:
    """Whether another process holds ``path`` (shared or exclusive) right now."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False  # never run nor built under this store's locking: nobody holds it
    try:
        return not _try_lock(fd, shared=False)
    finally:
        os.close(fd)  # closing drops the lock


def remove_env(env: Env, store: Store) -> None:
    """Delete an env's directory and its index entry; refused while a process uses it."""
    with exclusive(store.in_use_lock(env.path, env.full_id), wait=False) as got:
        if not got:
            raise AmberError(
                f"the env {env.full_id[:12]} is in use by a running process; try again later"
            )
        # Unmark first: a crash halfway leaves an incomplete env, never a broken "complete" one.
        env.marker.unlink(missing_ok=True)
        remove_tree(env.path)
    if env.path == store.env_path(env.full_id):  # not an unpacked copy of a stored env
        store.freeing()  # on a full disk, the index write may need the store's reserve
        store.forget_env(env.full_id)
        store.keep_reserve()
    else:  # an env at a chosen path (`--prefix`): no longer tracked
        store.forget_prefix(env.path)
