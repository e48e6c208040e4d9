"""``amber run``, ``amber install`` and ``amber lock`` without click, for their plain forms.

``run -f FILE -- CMD`` on an env that exists, ``install -f FILE`` and ``lock`` with only
``-q``, ``-f``, ``-o``, ``-p`` and ``--python`` are on the hot paths that the benchmarks
hold to targets; click alone costs ~25 ms to import (``lock`` loads it to report, unless
``-q``). Anything unusual (help, --env, --update, an env ``run`` must build) returns
``False`` and the full CLI takes over.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["fast_run", "fast_install", "fast_lock"]


def _parse(
    args: Sequence[str], *, command: bool = True
) -> tuple[Path | None, bool, list[str]] | None:
    file: Path | None = None
    quiet = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" and command:
            return file, quiet, list(args[i + 1 :])
        if arg in ("-f", "--file") and i + 1 < len(args):
            file, i = Path(args[i + 1]), i + 2
        elif arg.startswith("--file="):
            file, i = Path(arg.split("=", 1)[1]), i + 1
        elif arg in ("-q", "--quiet"):
            quiet, i = True, i + 1
        elif arg.startswith("-") or not command:
            return None  # --env, --python, --help ...: the full CLI
        else:
            return file, quiet, list(args[i:])
    return None if command else (file, quiet, [])


def fast_run(args: Sequence[str]) -> bool:
    """Exec the command if its env is known and complete; ``False`` to fall back."""
    parsed = _parse(args)
    if parsed is None or not parsed[2]:
        return False
    from amber._platform import host_platform
    from amber.run import _hotpath
    from amber.store import Store

    file = parsed[0] or _hotpath.default_file()
    if file is None:
        return False
    store = Store()
    seen = _hotpath.before_reading(file)
    try:
        env = _hotpath.recall(store, _hotpath.file_key(file, host_platform(), None), seen)
    except OSError:
        return False
    if env is None:
        return False
    _hotpath.remember_hot(store, file, None, env, seen)  # the next run: amber._hot
    from amber.errors import EnvNotFoundError
    from amber.run import exec_in_env

    store.touch_env(env.full_id)
    store.close()
    try:
        exec_in_env(env, parsed[2], store.env_lock_path(env.full_id))
    except EnvNotFoundError:
        return False  # removed since the lookup: the full CLI builds it anew
    return True  # not reached: exec replaced us


def fast_install(args: Sequence[str]) -> bool:
    """``amber install [-f FILE] [-q]``: hydrate (or reuse) and print the env's path."""
    parsed = _parse(args, command=False)
    if parsed is None:
        return False
    from amber.run import _hotpath

    file = parsed[0] or _hotpath.default_file()
    if file is None or _hotpath.is_bundle(file) or _names_a_prefix(file):
        # A bundle may hold several envs: the full CLI prints them all. An environment.yml
        # with `prefix:` is built there: the full CLI reads it.
        return False
    from amber._platform import host_platform
    from amber.settings import Settings
    from amber.store import Store

    settings = Settings.from_environ()  # no settings file: those wait for a download
    store = Store(settings.home, settings.link_mode, link_scripts=settings.link_scripts)
    try:
        env = _hotpath.recall(store, _hotpath.file_key(file, host_platform(), None))
    except OSError:
        env = None  # unreadable: the API says so, naming the file
    if env is None:
        # Something to build: only now is the API (the solver, hydrate) worth importing.
        from amber.api import Session, env_for_file

        # The full session: the settings files are read when its downloads need them.
        env = env_for_file(file, session=Session.open(quiet=parsed[1], settings=settings))
    print(env.path, flush=True)
    return True


def _names_a_prefix(file: Path) -> bool:
    """Whether an environment.yml may say ``prefix:`` (a top-level key; a false positive
    only costs the full CLI)."""
    if file.suffix.lower() not in (".yml", ".yaml") or not file.is_file():
        return False  # a FIFO or a device is never read here: the API refuses it
    try:
        data = file.read_bytes()
    except OSError:
        return False  # the API says so, naming the file
    return data.startswith(b"prefix:") or b"\nprefix:" in data


def fast_lock(args: Sequence[str]) -> bool:
    """``amber lock`` with only ``-q``, ``-f``, ``-o``, ``-p`` and ``--python``: lock the
    spec, and report it as the full CLI does (``render``, loaded then) unless ``-q``."""
    from amber._early import lock_options

    options = lock_options(args)
    if options is None or any("\x00" in v for vs in options.values() for v in vs):
        return False  # the full CLI refuses a NUL as click's usage error
    from amber.api.files import lock_file
    from amber.api.prelock import request_of
    from amber.api.session import Session
    from amber.run._hotpath import spec_file

    quiet = any(a in ("-q", "--quiet") for a in args)
    file = options.get("file", [None])[-1]
    session = Session.open(quiet=quiet)
    path = spec_file(Path(file) if file is not None else None)
    result = lock_file(path, request_of(options), session.store, session.progress, session=session)
    if not quiet:
        from amber.cli import render

        render.locked(result)
    return True
