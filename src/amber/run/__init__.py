"""Run a command inside a complete env: apply its activation and exec.

Imports nothing heavy: this is the hot path of ``amber run``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from amber.errors import AmberError, CommandNotFoundError
from amber.store.env import Env
from amber.store.inuse import hold_shared

__all__ = ["exec_in_env", "env_environ", "CommandNotFoundError"]


def env_environ(env: Env, base: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment of ``env``: its activation over ``base`` (default: ours)."""
    return env.activation().apply(os.environ if base is None else base)


def exec_in_env(env: Env, argv: Sequence[str], in_use_lock: Path) -> NoReturn:
    """Replace this process with ``argv`` run in ``env``; exit code and signals are its own.

    A shared lock on ``in_use_lock`` is held across the exec (the descriptor is
    inherited), so the env is known to be in use until the command ends.
    """
    if not argv:
        raise AmberError("no command given: put it after `--`, e.g. `amber run -- python app.py`")
    environ = env_environ(env)
    fd = hold_shared(in_use_lock)
    os.set_inheritable(fd, True)
    try:
        os.execvpe(argv[0], list(argv), environ)
    except FileNotFoundError:
        raise CommandNotFoundError(
            f"command not found in the env {env.path.name}: {argv[0]}", command=argv[0]
        ) from None
    except PermissionError:
        err = CommandNotFoundError(f"command is not executable: {argv[0]}", command=argv[0])
        err.exit_code = 126
        raise err from None
