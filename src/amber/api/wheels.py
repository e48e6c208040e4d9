"""Where the wheels of a lock are unpacked, for what only their ``METADATA`` says (licenses):
``amber export --format cyclonedx`` and ``amber audit``."""

from __future__ import annotations

from pathlib import Path

from amber.lock import Lock
from amber.store import Store
from amber.store.env import Env

__all__ = ["metadata_dirs"]


def metadata_dirs(lock: Lock, store: Store) -> tuple[Path, ...]:
    """Where the wheels of ``lock`` are unpacked: its env's site-packages when the env
    exists here, then uv's cache of unpacked wheels."""
    env = Env(lock.full_id, store.env_path(lock.full_id))
    dirs = []
    if env.is_complete():
        dirs += sorted(env.path.glob("lib/python*/site-packages"))
        dirs += [d for d in (env.path / "Lib" / "site-packages",) if d.is_dir()]
    archives = store.uv_cache / "archive-v0"
    return (*dirs, archives) if archives.is_dir() else tuple(dirs)
