"""The digest lookup behind ``amber run -f FILE``: file bytes -> env, no parsing.

A spec file seen before with the same bytes (and the same ``amber.lock``
beside it, included files, host and default Python) maps to the env it gave.
Light imports only: this runs before every command.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import sys
from pathlib import Path

from amber import _hot
from amber._hot import DEFAULT_FILES, LOCK_NAME, POLICY_NAME
from amber.store import Store
from amber.store.env import Env

__all__ = [
    "digest", "file_key", "recall", "is_bundle", "LOCK_NAME", "DEFAULT_FILES", "before_reading",
    "remember_hot", "default_file", "spec_file",
]  # fmt: skip


BUNDLE_MANIFEST = "amber-bundle.json"  # the first member of every bundle (see bundle.py)


def _open_regular(path: Path) -> io.BufferedReader:
    """``path`` opened for reading if it is a regular file; ``OSError`` for anything else
    (a FIFO, a device, a directory), without waiting on it or reading it."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file ignores it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return os.fdopen(fd, "rb")


def is_bundle(path: Path) -> bool:
    """Whether ``path`` is a bundle (``amber pack --packages``): a tar whose first member is
    the bundle manifest. Reads 512 bytes; cheap enough for the hot path."""
    try:
        with _open_regular(path) as f:
            header = f.read(512)
    except (OSError, ValueError):
        return False
    return header[:100].rstrip(b"\0") == BUNDLE_MANIFEST.encode() and header[257:262] == b"ustar"


def digest(path: Path) -> str:
    """The sha256 of a regular file's bytes; ``OSError`` for anything else."""
    try:
        with _open_regular(path) as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except ValueError as exc:  # a NUL in the name
        raise OSError(errno.EINVAL, str(exc), str(path)) from None


def default_file() -> Path | None:
    return next((Path(n) for n in DEFAULT_FILES if Path(n).is_file()), None)


def spec_file(given: Path | None) -> Path:
    """The file a command was given, else the spec file in the current directory."""
    if given is not None:
        return given
    found = default_file()
    if found is not None:
        return found
    from amber.errors import AmberError  # noqa: PLC0415 - only to say there is none

    raise AmberError(
        f"no spec file given and none found here ({', '.join(DEFAULT_FILES)}): pass -f FILE"
    )


def file_key(path: Path, platform: str, python: str | None, environment: str | None = None) -> str:
    beside = path.parent / LOCK_NAME
    policy = path.parent / POLICY_NAME  # a new or changed policy is checked before a run
    own = digest(path)  # first: refuses a FIFO, a device, a loop before resolve() sees them
    parts = [
        "amber-run-1",
        str(path.resolve()),
        own,
        digest(beside) if beside.is_file() and beside != path else "-",
        platform,
        python or f"{sys.version_info[0]}.{sys.version_info[1]}",
        # uv's index variables and conda's overrides are part of the spec read from the file
        # (its req_id).
        _hot.spec_environment(),
        # .condarc, Amber's settings files and the variables naming them (or a policy): a
        # change there may change what the spec means, or what the policy allows.
        _hot.settings_key(),
    ]
    if environment is not None:  # a pixi file's --environment: another env of the same file
        parts.append(f"environment={environment}")
    if policy.is_file():
        parts.append(digest(policy))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def before_reading(path: Path) -> list[tuple[str, str]]:
    """The fingerprints of a spec file and of the ``amber.lock`` beside it, taken before they
    are read, for ``remember_hot``."""
    return _hot.fingerprints(
        [str(path), str(path.parent / LOCK_NAME), str(path.parent / POLICY_NAME)]
    )


def remember_hot(
    store: Store, path: Path, python: str | None, env: Env, files: list[tuple[str, str]]
) -> None:
    """Let the next ``amber run -f PATH`` exec without reading anything (``amber._hot``)."""
    from amber._platform import host_platform

    key = _hot.file_key(str(path), host_platform(), python)
    lock = store.in_use_lock(env.path, env.full_id)
    _hot.remember(str(store.home), key, env.full_id, str(env.path), str(lock), files=files)


def recall(store: Store, key: str, fingerprints: list[tuple[str, str]] | None = None) -> Env | None:
    """The complete env remembered for ``key`` whose included files are unchanged; their
    fingerprints, taken before their digests are checked, are added to ``fingerprints``."""
    remembered = store.recall_spec_file(key)
    if remembered is None:
        return None
    full_id, files = remembered
    env = Env(full_id, store.env_path(full_id))
    if not env.is_complete():
        return None
    if fingerprints is not None:
        fingerprints += _hot.fingerprints(list(files))
    for name, expected in files.items():
        try:
            if digest(Path(name)) != expected:
                return None
        except OSError:
            return None
    return env
