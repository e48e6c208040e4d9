"""Calling the uv binary: one place that knows its flags and its environment.

``call_uv`` blocks (a PyPI-only `amber lock` needs nothing more, and so never loads
asyncio); ``start_uv`` starts a call and returns at once, for a caller that waits for two
calls together or starts one before it has loaded what it needs afterwards; ``run_uv`` is
the coroutine twin for the callers that run several things at once.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Required, TypedDict, Unpack

from uv import find_uv_bin

from amber.errors import UvFailed
from amber.settings import Network

__all__ = [
    "uv_bin", "uv_env", "run_uv", "call_uv", "start_uv", "UvProcess", "parallel", "UvFailed",
    "env_change",
]  # fmt: skip


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
    # Only a caller inside an event loop gets here, so asyncio is loaded already.
    import asyncio  # noqa: PLC0415 - `call_uv`'s callers (a warm hydrate) never load it

    proc = await asyncio.create_subprocess_exec(
        uv_bin(),
        *args,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env_of(cache_dir, env, network, urls),
    )
    out, err = await proc.communicate(input)
    if proc.returncode != 0:
        raise UvFailed(args, proc.returncode or 1, err.decode(errors="replace"))
    return out.decode()


class UvCall(TypedDict, total=False):
    """How a uv call runs (``start_uv``'s keywords)."""

    cache_dir: Required[Path]
    input: bytes | None
    env: Mapping[str, str] | None
    network: Network | None
    urls: Sequence[str]


def call_uv(args: Sequence[str], **how: Unpack[UvCall]) -> str:
    """``run_uv`` for a caller with one uv call at a time and no event loop (a hydrate)."""
    return start_uv(args, **how).result()


class UvProcess:
    """A uv call under way (``start_uv``): ``result`` waits for it, ``cancel`` ends it."""

    def __init__(self, args: Sequence[str], popen: subprocess.Popen[bytes], input: bytes | None):
        self.args = list(args)
        self.popen = popen
        self._input = input

    def result(self) -> str:
        """uv's stdout once it has finished; ``UvFailed`` with its stderr."""
        out, err = self.popen.communicate(self._input)
        if self.popen.returncode != 0:
            raise UvFailed(self.args, self.popen.returncode or 1, err.decode(errors="replace"))
        return out.decode()

    def cancel(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.communicate()


def start_uv(
    args: Sequence[str],
    *,
    cache_dir: Path,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    network: Network | None = None,
    urls: Sequence[str] = (),
) -> UvProcess:
    """Start ``uv ARGS`` (as ``call_uv`` runs it) and return without waiting."""
    popen = subprocess.Popen(
        [uv_bin(), *args],
        stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env_of(cache_dir, env, network, urls),
    )
    return UvProcess(args, popen, input)


def env_change(
    cache_dir: Path,
    env: Mapping[str, str] | None = None,
    network: Network | None = None,
    urls: Sequence[str] = (),
) -> dict[str, object]:
    """What a uv call changes in this process's environment: ``{"set": {...}, "unset":
    [...]}`` (``amber._early`` keeps it to start the same call in another process)."""
    full = _env_of(cache_dir, env, network, urls)
    return {
        "set": {k: v for k, v in sorted(full.items()) if os.environ.get(k) != v},
        "unset": sorted(k for k in os.environ if k not in full),
    }


def _env_of(
    cache_dir: Path,
    env: Mapping[str, str] | None,
    network: Network | None = None,
    urls: Sequence[str] = (),
) -> dict[str, str]:
    extra = dict(env or {})
    if network is not None:
        extra.update(network.uv_environment(urls))
    if _PARALLEL[0] > 1 and "UV_CONCURRENT_DOWNLOADS" not in os.environ:
        extra["UV_CONCURRENT_DOWNLOADS"] = str(max(2, 10 // _PARALLEL[0]))
    return uv_env(cache_dir, extra)
