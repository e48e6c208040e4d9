"""Calling the uv binary: one place that knows its flags and its environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from uv import find_uv_bin

from amber.errors import UvFailed
from amber.settings import Network

__all__ = ["uv_bin", "uv_env", "run_uv", "parallel", "UvFailed"]


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
    # The indexes are the spec's, recorded in it and in its lock (`read_spec` takes uv's
    # index variables in): uv must not add others the lock would not name.
    for key in (
        "VIRTUAL_ENV", "CONDA_PREFIX", "UV_PYTHON", "UV_SYSTEM_PYTHON",
        "UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL",
    ):  # fmt: skip
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


async def run_uv(
    args: Sequence[str],
    *,
    cache_dir: Path,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    network: Network | None = None,
    urls: Sequence[str] = (),
) -> str:
    """Run ``uv ARGS``; return stdout, raise ``UvFailed`` with uv's stderr. ``network``: the
    settings uv's requests to ``urls`` go through (``Network.uv_environment``)."""
    extra = dict(env or {})
    if network is not None:
        extra.update(network.uv_environment(urls))
    if _PARALLEL[0] > 1 and "UV_CONCURRENT_DOWNLOADS" not in os.environ:
        extra["UV_CONCURRENT_DOWNLOADS"] = str(max(2, 10 // _PARALLEL[0]))
    proc = await asyncio.create_subprocess_exec(
        uv_bin(),
        *args,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=uv_env(cache_dir, extra),
    )
    out, err = await proc.communicate(input)
    if proc.returncode != 0:
        raise UvFailed(args, proc.returncode or 1, err.decode(errors="replace"))
    return out.decode()
