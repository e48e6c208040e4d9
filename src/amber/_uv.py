"""Calling the uv binary: one place that knows its flags and its environment.

``call_uv`` blocks (a PyPI-only `amber lock` needs nothing more, and so never loads
asyncio); ``run_uv`` is its coroutine twin for the callers that run several things at once.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from uv import find_uv_bin

from amber.errors import UvFailed

__all__ = ["uv_bin", "uv_env", "call_uv", "run_uv", "parallel", "UvFailed"]


_BIN_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _find_uv_bin() -> str:
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


# How many uv processes run at once: process-wide on purpose, since the threads of
# ``amber.prepare`` do not inherit contextvars; ``parallel`` restores it when its block ends.
_PARALLEL = [1]


@contextmanager
def parallel(n: int) -> Iterator[None]:
    """Within this block, ``n`` uv processes may run at once (``amber.prepare``): they share
    uv's connection budget instead of opening dozens of connections (and DNS lookups) each."""
    previous, _PARALLEL[0] = _PARALLEL[0], max(1, n)
    try:
        yield
    finally:
        _PARALLEL[0] = previous


def _extra(env: Mapping[str, str] | None) -> dict[str, str]:
    extra = dict(env or {})
    if _PARALLEL[0] > 1 and "UV_CONCURRENT_DOWNLOADS" not in os.environ:
        extra["UV_CONCURRENT_DOWNLOADS"] = str(max(2, 10 // _PARALLEL[0]))
    return extra


def call_uv(
    args: Sequence[str],
    *,
    cache_dir: Path,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run ``uv ARGS`` and wait; return stdout, raise ``UvFailed`` with uv's stderr."""
    proc = subprocess.run(
        [uv_bin(), *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        env=uv_env(cache_dir, _extra(env)),
    )
    if proc.returncode != 0:
        raise UvFailed(args, proc.returncode or 1, proc.stderr.decode(errors="replace"))
    return proc.stdout.decode()


async def run_uv(
    args: Sequence[str],
    *,
    cache_dir: Path,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run ``uv ARGS``; return stdout, raise ``UvFailed`` with uv's stderr."""
    import asyncio  # only a coroutine's caller has loaded it already

    proc = await asyncio.create_subprocess_exec(
        uv_bin(),
        *args,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=uv_env(cache_dir, _extra(env)),
    )
    out, err = await proc.communicate(input)
    if proc.returncode != 0:
        raise UvFailed(args, proc.returncode or 1, err.decode(errors="replace"))
    return out.decode()
