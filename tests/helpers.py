"""Helpers the tests share (fixtures live in conftest.py): files, specs, the shared data."""

from __future__ import annotations

import textwrap
from pathlib import Path

__all__ = ["SHARED", "SNAPSHOT", "PIXI", "write", "conda_spec", "env_dirs"]

# Real data made by others, beside the checkout (../shared/data); tests that need it skip
# without it, the others never do.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT = SHARED / "repodata" / "defaults-2018"
PIXI = SHARED / "channels" / "pixi"


def write(path: Path, text: str) -> Path:
    """Write a test file (dedented), creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def conda_spec(directory: Path, channel: object, *deps: str, pip: tuple[str, ...] = ()) -> Path:
    lines = ["name: demo", f"channels: ['{channel}']", "dependencies:"]
    lines += [f"  - {d}" for d in deps]
    if pip:
        lines += ["  - pip:"] + [f"    - {p}" for p in pip]
    return write(directory / "environment.yml", "\n".join(lines) + "\n")


def env_dirs(home: Path) -> list[Path]:
    envs = home / "envs"
    return sorted(p for p in envs.iterdir() if p.name != ".locks") if envs.exists() else []
