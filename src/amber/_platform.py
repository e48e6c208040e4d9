"""The host's conda platform, without heavy imports (used on the hot path)."""

from __future__ import annotations

import platform
from functools import lru_cache

from amber.errors import AmberError

__all__ = ["host_platform"]


@lru_cache(maxsize=1)
def host_platform() -> str:
    """The conda subdir of this machine (``linux-64``, ``osx-arm64`` ...)."""
    system, machine = platform.system(), platform.machine().lower()
    arch = {"x86_64": "64", "amd64": "64", "aarch64": "aarch64", "arm64": "arm64"}.get(machine)
    name = {"Linux": "linux", "Darwin": "osx", "Windows": "win"}.get(system)
    if arch is None or name is None:
        raise AmberError(f"unsupported host platform {system}/{machine}")
    if name == "linux" and arch == "arm64":
        arch = "aarch64"
    if name == "osx" and arch == "aarch64":
        arch = "arm64"
    return f"{name}-{arch}"
