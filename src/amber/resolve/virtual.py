"""Virtual packages of a target platform: defaults, overridden by the spec's system requirements.

Locks use these, never the host's detected ones, so the same spec gives the same
lock on any machine (as pixi does); they are recorded in the lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rattler import BuildString, GenericVirtualPackage, PackageName, Version

__all__ = ["virtual_packages", "to_rattler", "DEFAULTS"]

DEFAULTS = {"libc": "2.28", "linux": "4.18", "macos": "13.0"}
_ARCH = {
    "linux-64": "x86_64",
    "linux-aarch64": "aarch64",
    "osx-64": "x86_64",
    "osx-arm64": "arm64",
    "win-64": "x86_64",
}


def virtual_packages(platform: str, requirements: Mapping[str, str]) -> list[str]:
    """``name=version=build`` strings for ``platform`` (``__glibc=2.28=0`` ...), sorted."""
    req = {**DEFAULTS, **requirements}
    out = [f"__archspec=1={req.get('archspec', _ARCH[platform])}"]
    if platform.startswith("linux-"):
        out += ["__unix=0=0", f"__linux={req['linux']}=0", f"__glibc={req['libc']}=0"]
    elif platform.startswith("osx-"):
        out += ["__unix=0=0", f"__osx={req['macos']}=0"]
    else:
        out += ["__win=0=0"]
    if "cuda" in req and not platform.startswith("osx-"):
        out.append(f"__cuda={req['cuda']}=0")
    return sorted(out)


def to_rattler(packages: list[str]) -> list[Any]:
    out = []
    for text in packages:
        name, version, build = text.split("=")
        out.append(GenericVirtualPackage(PackageName(name), Version(version), BuildString(build)))
    return out
