"""The host's conda platform, on ``os`` and ``sys`` alone (the hot path of ``amber run``)."""

from __future__ import annotations

import os
import sys

__all__ = ["host_platform"]

_HOST: list[str] = []


def host_platform() -> str:
    """The conda subdir of this machine (``linux-64``, ``osx-arm64`` ...)."""
    if _HOST:
        return _HOST[0]
    if sys.platform == "win32":
        machine = os.environ.get("PROCESSOR_ARCHITECTURE", "").lower()
        system = "Windows"
    else:
        uname = os.uname()
        machine, system = uname.machine.lower(), uname.sysname
    arch = {"x86_64": "64", "amd64": "64", "aarch64": "aarch64", "arm64": "arm64"}.get(machine)
    name = {"Linux": "linux", "Darwin": "osx", "Windows": "win"}.get(system)
    if arch is None or name is None:
        from amber.errors import AmberError  # noqa: PLC0415 - on the hot path of `amber run`

        raise AmberError(f"unsupported host platform {system}/{machine}")
    if name == "linux" and arch == "arm64":
        arch = "aarch64"
    if name == "osx" and arch == "aarch64":
        arch = "arm64"
    _HOST.append(f"{name}-{arch}")
    return _HOST[0]
