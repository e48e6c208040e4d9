"""Run a command inside a complete env: apply its activation and exec.

Imports nothing heavy: this is the hot path of ``amber run``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from amber.errors import AmberError, CommandNotFoundError, EnvNotFoundError
from amber.store.env import Env, run_activation_scripts
from amber.store.inuse import hold_shared

__all__ = ["exec_in_env", "enter_env", "env_environ", "CommandNotFoundError"]


def env_environ(
    env: Env,
    base: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The process environment of ``env``: its activation over ``base`` (default: ours).

    ``variables`` (the env's own, e.g. an environment.yml's ``variables:``) are set before
    the ``activate.d`` scripts run, as conda does. An env with such scripts runs them now,
    in bash, over this environment, like ``conda run``; one without spawns nothing."""
    activation = env.activation()
    environ = activation.apply(os.environ if base is None else base)
    if variables:
        environ.update(variables)
    if not activation.scripts:
        return environ
    return run_activation_scripts(env.path, activation.scripts, environ)


def enter_env(env: Env, in_use_lock: Path) -> int | None:
    """Hold ``env`` in use: a shared lock on ``in_use_lock`` (waiting out a build or a
    removal), then ``env`` confirmed complete under it. The descriptor holding the lock, or
    ``None`` (nothing held) when the env was removed between its lookup and the lock."""
    fd = hold_shared(in_use_lock)
    if env.is_complete():
        return fd
    os.close(fd)
    return None


def exec_in_env(env: Env, argv: Sequence[str], in_use_lock: Path) -> NoReturn:
    """Replace this process with ``argv`` run in ``env``; exit code and signals are its own.

    A shared lock on ``in_use_lock`` is taken before anything of the env is trusted and
    held across the exec (the descriptor is inherited), so the env is known to be in use
    until the command ends and cannot be removed under it. ``EnvNotFoundError`` when the
    env was removed (``amber gc``, ``amber env rm``) between its lookup and the lock: the
    caller may rebuild it; the command never runs elsewhere. The command is found on the
    env's own PATH (its activation's), never the caller's.
    """
    if not argv:
        raise AmberError("no command given: put it after `--`, e.g. `amber run -- python app.py`")
    fd = enter_env(env, in_use_lock)
    if fd is None:
        raise EnvNotFoundError(
            f"the env {env.full_id[:12]} ({env.path}) was removed (by `amber gc` or "
            "`amber env rm`) just before the command could start in it; run it again "
            "(amber run -f FILE builds it anew)",
            ref=env.full_id,
        )
    try:
        environ = env_environ(env)
        _backfill(env)
        try:
            executable = _find_command(argv[0], environ)
            os.set_inheritable(fd, True)
            os.execve(executable, list(argv), environ)
        except FileNotFoundError:
            raise CommandNotFoundError(
                f"command not found in the env {env.path.name}: {argv[0]}", command=argv[0]
            ) from None
        except PermissionError:
            err = CommandNotFoundError(f"command is not executable: {argv[0]}", command=argv[0])
            err.exit_code = 126
            raise err from None
    finally:
        os.close(fd)  # reached only when the exec failed


def _backfill(env: Env) -> None:
    """An env hydrated before the hot path of `amber run` existed gets its run activation
    (``amber._hot``) from its first run on the slow path."""
    if env.has_run_activation():
        return
    try:
        env.write_run_activation(env.activation())
    except OSError:
        pass  # a read-only env (unpacked elsewhere): the slow path keeps working


def _find_command(command: str, environ: dict[str, str]) -> str:
    """``command``'s file on the PATH of ``environ`` (the env's, activated), the way
    ``execvp`` searches; FileNotFoundError or PermissionError when there is none to run."""
    if os.sep in command or (os.altsep and os.altsep in command):
        return command
    denied = False
    for directory in os.get_exec_path(environ):
        candidate = os.path.join(directory, command)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            denied = True
    raise PermissionError(command) if denied else FileNotFoundError(command)
