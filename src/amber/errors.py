"""One exception hierarchy: every error a user can fix is an ``AmberError``.

The CLI turns these into a one-paragraph message and exit code 2; nothing else
is expected to catch them. Beside its message, each error carries what the user
must fix as fields (``path``, ``line``, ``ref``, ``url``, ...): data, not text.
"""

from __future__ import annotations

import errno
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from amber._urls import redact

__all__ = [
    "AmberError",
    "MalformedYaml",
    "SpecError",
    "SpecWarning",
    "print_spec_warnings",
    "LockFileError",
    "ConfigError",
    "LockCheckFailed",
    "PolicyError",
    "PolicyViolation",
    "ResolveError",
    "SourceError",
    "RemoteError",
    "RemoteObjectAbsent",
    "InvalidNameError",
    "TagConflictError",
    "HydrateError",
    "EnvNotFoundError",
    "InterpreterNotFoundError",
    "CommandNotFoundError",
    "PackError",
    "OutputError",
    "DiskFullError",
    "AdoptError",
    "VerifyFailed",
    "AuditError",
    "AuditFailed",
    "StepError",
    "StepCrashedError",
    "RemoteTraceback",
    "UvFailed",
]

PathLike = str | os.PathLike[str]


def _safe_url(url: str | None) -> str | None:
    """``url`` without credentials: no user, password, ``/t/<token>/``, query or fragment."""
    if url is None:
        return None
    # A query may hold a token (``?token=``) in any spelling: drop it whole.
    parts = urlsplit(redact(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class MalformedYaml(ValueError):
    """YAML that does not parse (``amber._yaml``): ``what`` is wrong (one short line), on
    ``line`` (1-based, or None). Each reader turns it into its own error naming the file."""

    def __init__(self, what: str, line: int | None) -> None:
        super().__init__(what)
        self.what, self.line = what, line


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


class ConfigError(AmberError):
    """A setting (``.condarc``, Amber's settings file, ``$CONDA_*``) is malformed, or a
    channel is refused by one (``allowlist_channels``/``denylist_channels``).

    ``path`` names the file, ``key`` the setting or variable, ``channel`` the refused
    channel (without credentials).
    """

    def __init__(
        self,
        message: str,
        *,
        path: PathLike | None = None,
        key: str | None = None,
        channel: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.key = key
        self.channel = _safe_url(channel) if channel and "://" in channel else channel


class SpecWarning(UserWarning):
    """A spec file holds something conda would ignore (an unknown key): it is ignored too,
    and the CLI shows this warning naming the file and line."""

    def __init__(self, message: str, path: object = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line


def print_spec_warnings() -> None:
    """From now on, a ``SpecWarning`` is one line on stderr, ``warning: FILE:LINE: ...``
    (the CLI's form); other warnings keep Python's."""
    python_show = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, SpecWarning):
            print(f"warning: {message}", file=sys.stderr, flush=True)
        else:
            python_show(message, category, filename, lineno, file, line)

    warnings.showwarning = show


class LockFileError(AmberError):
    """A lock file is malformed, stale or lacks what is asked of it."""

    def __init__(
        self,
        message: str,
        *,
        path: PathLike | None = None,
        line: int | None = None,
        package: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.package = package


class LockCheckFailed(AmberError):
    """`amber lock --check` found the lock stale or inconsistent (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, *, path: PathLike | None = None) -> None:
        super().__init__(message)
        self.path = path


class PolicyError(AmberError):
    """An ``amber-policy.toml`` is malformed (``path`` and ``line`` name the entry), or one
    it extends cannot be had."""

    def __init__(self, message: str, *, path: object = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line


class PolicyViolation(AmberError):
    """A lock breaks the policy: ``findings`` are the blocking ones (install and run refuse
    it, exit 2; ``amber lock --check`` and ``amber policy check`` exit 1)."""

    def __init__(self, message: str, *, findings: Sequence[object] = (), exit_code: int = 2):
        super().__init__(message)
        self.findings = tuple(findings)
        self.exit_code = exit_code


class ResolveError(AmberError):
    """The request cannot be satisfied (unknown package, conflicting pins)."""

    def __init__(
        self, message: str, *, platform: str | None = None, package: str | None = None
    ) -> None:
        super().__init__(message)
        self.platform = platform
        self.package = package


class SourceError(AmberError):
    """A channel, index or remote could not be reached or read.

    ``url`` names it, always without credentials, whatever was passed.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = _safe_url(url)


class RemoteError(SourceError):
    """The remote store could not be reached, read or written."""


class RemoteObjectAbsent(AmberError):
    """The remote has no such object (an AmberError, so the remote's wrapper passes it on).

    Caught inside ``amber.remote``: a missing archive is fetched from its own URL.
    """

    def __init__(self, message: str = "", *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class InvalidNameError(AmberError):
    """An env name or tag (``team/project/env:tag``) that breaks a naming rule."""

    def __init__(self, message: str, *, ref: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref
        self.rule = rule


class TagConflictError(AmberError):
    """An immutable tag already names another env."""

    def __init__(self, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref


class HydrateError(AmberError):
    """An environment could not be built from its lock (download, hash, link)."""

    def __init__(
        self, message: str, *, prefix: PathLike | None = None, package: str | None = None
    ) -> None:
        super().__init__(message)
        self.prefix = prefix
        self.package = package


class EnvNotFoundError(AmberError):
    """No environment matches the given name or id."""

    def __init__(self, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref


class InterpreterNotFoundError(AmberError):
    """No installed Python interpreter matches the requested version."""

    def __init__(self, message: str, *, version: str | None = None) -> None:
        super().__init__(message)
        self.version = version


class CommandNotFoundError(AmberError):
    """The command to run does not exist in the env or on PATH."""

    exit_code = 127

    def __init__(self, message: str, *, command: str | None = None) -> None:
        super().__init__(message)
        self.command = command


class PackError(AmberError):
    """An env cannot be packed (modified files) or an archive cannot be unpacked."""

    def __init__(self, message: str, *, path: PathLike | None = None) -> None:
        super().__init__(message)
        self.path = path


class OutputError(AmberError):
    """An output (``-o FILE``, an exported or adopted file) cannot be written there: a
    directory, a path under a file, a read-only place."""

    def __init__(self, message: str, *, path: PathLike | None = None) -> None:
        super().__init__(message)
        self.path = path


class DiskFullError(AmberError):
    """The filesystem (or the user's quota) is full: nothing more can be written at ``path``."""

    _SAID = ("no space left on device", "os error 28", "database or disk is full", "quota exceeded")

    def __init__(self, path: PathLike) -> None:
        super().__init__(
            f"no space left on device: cannot write {path}. Free some space and try again "
            "(`amber du` shows what takes it; `amber gc` and `amber env rm ENV` free it, and "
            "work on a full disk)"
        )
        self.path = path

    @classmethod
    def of(cls, exc: BaseException, home: PathLike) -> DiskFullError | None:
        """``exc`` (an OSError, SQLite's or rattler's error) as a full disk, else ``None``;
        the path it names, else the store's index or the store ``home``."""
        if isinstance(exc, DiskFullError):
            return exc
        said = str(exc).lower()
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return cls(exc.filename or home)
        if "database or disk is full" in said:
            return cls(os.path.join(home, "index.db"))
        if "disk i/o error" in said and _no_room(home):
            return cls(os.path.join(home, "index.db"))  # SQLite could not grow its -shm/-wal
        if any(s in said for s in cls._SAID):
            return cls(home)
        return None


def _no_room(path: PathLike) -> bool:
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):  # gone, or no statvfs (Windows)
        return False
    return st.f_bavail == 0


class AdoptError(AmberError):
    """A directory cannot be adopted: not a conda environment, or records Amber cannot read."""

    def __init__(
        self, message: str, *, prefix: PathLike | None = None, path: PathLike | None = None
    ) -> None:
        super().__init__(message)
        self.prefix = prefix
        self.path = path


class VerifyFailed(AmberError):
    """`amber verify` found differences (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, *, prefix: PathLike | None = None) -> None:
        super().__init__(message)
        self.prefix = prefix


class AuditError(AmberError):
    """An advisory source (OSV directory, zip, file or API) is unreadable or malformed, or
    an audit option is invalid; ``path`` names the record (or URL) at fault."""

    def __init__(self, message: str, *, path: PathLike | None = None) -> None:
        super().__init__(message)
        self.path = path


class AuditFailed(AmberError):
    """`amber audit` found a finding at or above ``--fail-on`` (exit 1)."""

    exit_code = 1


class StepError(AmberError):
    """A step could not be called (arguments, env, result)."""

    def __init__(self, message: str, *, step: str | None = None) -> None:
        super().__init__(message)
        self.step = step


class StepCrashedError(StepError):
    """The step's process died without returning (crash, ``os._exit``, signal)."""

    def __init__(
        self, message: str, *, step: str | None = None, prefix: PathLike | None = None
    ) -> None:
        super().__init__(message, step=step)
        self.prefix = prefix


class RemoteTraceback(Exception):
    """The traceback of an exception raised inside a step, attached as ``__cause__``."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb}"""'


_NETWORK_HINTS = ("error sending request", "dns error", "connection refused", "failed to fetch")


class UvFailed(Exception):
    """uv exited non-zero; ``stderr`` holds its explanation."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(stderr.strip() or f"uv exited with {returncode}")
        self.args_ = list(args)
        self.returncode = returncode
        self.stderr = stderr

    @property
    def is_network(self) -> bool:
        """True when uv could not reach an index (rather than found no solution)."""
        lowered = self.stderr.lower()
        return any(hint in lowered for hint in _NETWORK_HINTS)
