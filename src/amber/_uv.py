"""Calling the uv binary: one place that knows its flags and its environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

__all__ = ["uv_bin", "uv_env", "run_uv", "UvFailed"]


class UvFailed(Exception):
    """uv exited non-zero; ``stderr`` holds its explanation."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(stderr.strip() or f"uv exited with {returncode}")
        self.args_ = list(args)
        self.returncode = returncode
        self.stderr = stderr


_BIN_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _find_uv_bin() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def uv_bin() -> str:
    # sysconfig's first use (inside find_uv_bin) is not thread-safe: steps resolve in threads.
    with _BIN_LOCK:
        return _find_uv_bin()


def uv_env(cache_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """uv's environment: our cache, no interpreter downloads, no user config files."""
    env = dict(os.environ)
    for key in ("VIRTUAL_ENV", "CONDA_PREFIX", "UV_PYTHON", "UV_SYSTEM_PYTHON"):
        env.pop(key, None)
    env.update(
        {
            "UV_CACHE_DIR": str(cache_dir),
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_CONFIG": "1",
            "UV_NO_PROGRESS": "1",
        }
    )
    env.update(extra or {})
    return env


_ACTIVE = [0]
_ACTIVE_LOCK = threading.Lock()


async def run_uv(
    args: Sequence[str], *, cache_dir: Path, input: bytes | None = None, quiet: bool = True
) -> str:
    """Run ``uv ARGS``; return stdout, raise ``UvFailed`` with uv's stderr."""
    with _ACTIVE_LOCK:
        _ACTIVE[0] += 1
        active = _ACTIVE[0]
    extra = {}
    if active > 1 and "UV_CONCURRENT_DOWNLOADS" not in os.environ:
        # Several uv processes at once (amber.prepare): share uv's connection budget
        # between them rather than opening dozens of connections (and DNS lookups) each.
        extra["UV_CONCURRENT_DOWNLOADS"] = str(max(2, 10 // active))
    try:
        proc = await asyncio.create_subprocess_exec(
            uv_bin(),
            *args,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=uv_env(cache_dir, extra),
        )
        out, err = await proc.communicate(input)
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE[0] -= 1
    if proc.returncode != 0:
        raise UvFailed(args, proc.returncode or 1, err.decode(errors="replace"))
    return out.decode()
