"""The digest lookup behind ``amber run -f FILE``: file bytes -> env, no parsing.

A spec file seen before with the same bytes (and the same ``amber.lock``
beside it, included files, host and default Python) maps to the env it gave.
Light imports only: this runs before every command.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from amber.store import Store
from amber.store.env import Env

__all__ = ["digest", "file_key", "recall", "is_bundle", "LOCK_NAME", "DEFAULT_FILES"]

LOCK_NAME = "amber.lock"
DEFAULT_FILES = (
    "environment.yml", "environment.yaml", "requirements.txt", "pyproject.toml", LOCK_NAME,
)  # fmt: skip


BUNDLE_MANIFEST = "amber-bundle.json"  # the first member of every bundle (see bundle.py)


def is_bundle(path: Path) -> bool:
    """Whether ``path`` is a bundle (``amber pack --packages``): a tar whose first member is
    the bundle manifest. Reads 512 bytes; cheap enough for the hot path."""
    try:
        with open(path, "rb") as f:
            header = f.read(512)
    except OSError:
        return False
    return header[:100].rstrip(b"\0") == BUNDLE_MANIFEST.encode() and header[257:262] == b"ustar"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_file() -> Path | None:
    return next((Path(n) for n in DEFAULT_FILES if Path(n).is_file()), None)


def file_key(path: Path, platform: str, python: str | None) -> str:
    beside = path.parent / LOCK_NAME
    parts = [
        "amber-run-1",
        str(path.resolve()),
        digest(path),
        digest(beside) if beside.is_file() and beside != path else "-",
        platform,
        python or f"{sys.version_info[0]}.{sys.version_info[1]}",
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def recall(store: Store, key: str) -> Env | None:
    """The complete env remembered for ``key`` whose included files are unchanged."""
    remembered = store.recall_spec_file(key)
    if remembered is None:
        return None
    full_id, files = remembered
    env = Env(full_id, store.env_path(full_id))
    if not env.is_complete():
        return None
    for name, expected in files.items():
        try:
            if digest(Path(name)) != expected:
                return None
        except OSError:
            return None
    return env
