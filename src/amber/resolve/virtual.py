"""Virtual packages of a target platform: defaults, overridden by the spec's system requirements.

Locks use these, never the host's detected ones, so the same spec gives the same
lock on any machine (as pixi does); they are recorded in the lock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["virtual_packages", "missing_virtual_hint", "DEFAULTS"]

DEFAULTS = {"libc": "2.28", "linux": "4.18", "macos": "13.0"}
_ARCH = {
    "linux-64": "x86_64",
    "linux-32": "x86",
    "linux-aarch64": "aarch64",
    "linux-armv6l": "armv6l",
    "linux-armv7l": "armv7l",
    "linux-ppc64le": "ppc64le",
    "linux-ppc64": "ppc64",
    "linux-s390x": "s390x",
    "linux-riscv64": "riscv64",
    "osx-64": "x86_64",
    "osx-arm64": "arm64",
    "win-64": "x86_64",
    "win-32": "x86",
    "win-arm64": "arm64",
}
# A virtual package -> (conda's override variable, the spec's system requirement).
_DECLARABLE = {
    "__cuda": ("CONDA_OVERRIDE_CUDA", "cuda"),
    "__glibc": ("CONDA_OVERRIDE_GLIBC", "libc"),
    "__osx": ("CONDA_OVERRIDE_OSX", "macos"),
    "__linux": ("CONDA_OVERRIDE_LINUX", "linux"),
    "__archspec": ("CONDA_OVERRIDE_ARCHSPEC", "archspec"),
}
_WANTED = re.compile(r"(__[a-z0-9_]+)(?: ([^,\s]+(?:,[^,\s]+)*))?, for which no candidates")


def virtual_packages(platform: str, requirements: Mapping[str, str]) -> list[str]:
    """``name=version=build`` strings for ``platform`` (``__glibc=2.28=0`` ...), sorted."""
    req = {**DEFAULTS, **requirements}
    arch = _ARCH.get(platform, platform.rsplit("-", 1)[-1])
    out = [f"__archspec=1={req.get('archspec', arch)}"]
    if platform.startswith("linux-"):
        out += ["__unix=0=0", f"__linux={req['linux']}=0", f"__glibc={req['libc']}=0"]
    elif platform.startswith("osx-"):
        out += ["__unix=0=0", f"__osx={req['macos']}=0"]
    else:
        out += ["__win=0=0"]
    if "cuda" in req and not platform.startswith("osx-"):
        out.append(f"__cuda={req['cuda']}=0")
    return sorted(out)


def missing_virtual_hint(solver_message: str, platform: str) -> str:
    """How to declare the virtual packages a solver error says are missing ("" if none)."""
    hints = []
    for name, wanted in dict.fromkeys(_WANTED.findall(solver_message)):
        if name not in _DECLARABLE:
            hints.append(f"{name} is not a virtual package of {platform}")
            continue
        variable, key = _DECLARABLE[name]
        version = re.sub(r"^[<>=!~]+", "", (wanted or "").split(",")[0]) or "VERSION"
        hints.append(
            f"{name}{' ' + wanted if wanted else ''} is not among the virtual packages the lock "
            "assumes of the target machines: "
            f"declare it in the spec (environment.yml `system-requirements: {{{key}: "
            f'"{version}"}}`, pyproject.toml `[tool.amber.system-requirements]`) or, as with '
            f"conda, set {variable}={version} when locking"
        )
    return "\n".join(f"hint: {h}" for h in hints)
