"""One exception hierarchy: every error a user can fix is an ``AmberError``.

The CLI turns these into a one-paragraph message and exit code 2; nothing else
is expected to catch them.
"""

from __future__ import annotations

__all__ = [
    "AmberError",
    "SpecError",
    "LockFileError",
    "ResolveError",
    "SourceError",
    "HydrateError",
    "EnvNotFoundError",
    "InterpreterNotFoundError",
    "PackError",
]


class AmberError(Exception):
    """An error the user can act on; ``str()`` says what went wrong and what to do."""

    exit_code = 2


class SpecError(AmberError):
    """A spec file (environment.yml, requirements.txt) is malformed."""

    def __init__(self, message: str, path: object = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line


class LockFileError(AmberError):
    """A lock file is malformed, stale or lacks what is asked of it."""


class ResolveError(AmberError):
    """The request cannot be satisfied (unknown package, conflicting pins)."""


class SourceError(AmberError):
    """A channel, index or remote could not be reached or read."""


class HydrateError(AmberError):
    """An environment could not be built from its lock (download, hash, link)."""


class EnvNotFoundError(AmberError):
    """No environment matches the given name or id."""


class InterpreterNotFoundError(AmberError):
    """No installed Python interpreter matches the requested version."""


class PackError(AmberError):
    """An env cannot be packed (modified files) or an archive cannot be unpacked."""
