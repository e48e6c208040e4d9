"""Installed Python interpreters, for PyPI-only envs (uv never downloads one for us)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from amber.errors import InterpreterNotFoundError

__all__ = ["find_interpreter", "installed_interpreters", "version_key"]

_VERSION_DIR = re.compile(r"(?:^|cpython-)(\d+\.\d+\.\d+)(?:$|-)")


def installed_interpreters() -> dict[str, Path]:
    """{version: executable} for the interpreters found here, the running one first."""
    found: dict[str, Path] = {}
    base = Path(getattr(sys, "_base_executable", sys.executable))
    found[".".join(map(str, sys.version_info[:3]))] = base
    roots = []
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    roots.append(Path(pyenv) / "versions")
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    roots.append(Path(os.environ.get("UV_PYTHON_INSTALL_DIR") or Path(data) / "uv" / "python"))
    for root in roots:
        if not root.is_dir():
            continue
        for entry in sorted(root.iterdir()):
            match = _VERSION_DIR.search(entry.name)
            exe = entry / "bin" / "python3"
            if match and exe.exists():
                found.setdefault(match.group(1), exe)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or "shims" in directory:
            continue  # pyenv shims only answer for the selected version
        for exe in Path(directory).glob("python3.[0-9]*"):
            if re.fullmatch(r"python3\.\d+", exe.name) and os.access(exe, os.X_OK):
                minor = exe.name.removeprefix("python")
                if not any(v.startswith(minor + ".") for v in found):
                    found[minor] = exe
    return found


def find_interpreter(version: str) -> Path:
    """An installed interpreter of ``version`` (X.Y or X.Y.Z); a helpful error otherwise."""
    available = installed_interpreters()
    for found, exe in available.items():
        if found == version or found.startswith(version + "."):
            return exe
    listing = ", ".join(sorted(available, key=version_key)) or "none"
    raise InterpreterNotFoundError(
        f"no Python {version} interpreter is installed on this machine (found: {listing}). "
        f"Install one (`uv python install {version}`, `pyenv install {version}` or your OS "
        f"packages), or ask for one of the versions found.",
        version=version,
    )


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))
