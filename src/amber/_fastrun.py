"""``amber run`` without click, for the common case of an env that already exists.

Anything unusual (help, --env, an env still to be built) returns ``False`` and
the full CLI takes over; this only saves imports on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["fast_run"]


def _parse(args: Sequence[str]) -> tuple[Path | None, list[str]] | None:
    file: Path | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return file, list(args[i + 1 :])
        if arg in ("-f", "--file") and i + 1 < len(args):
            file, i = Path(args[i + 1]), i + 2
        elif arg.startswith("--file="):
            file, i = Path(arg.split("=", 1)[1]), i + 1
        elif arg in ("-q", "--quiet"):
            i += 1
        elif arg.startswith("-"):
            return None  # --env, --python, --help ...: the full CLI
        else:
            return file, list(args[i:])
    return None


def fast_run(args: Sequence[str]) -> bool:
    """Exec the command if its env is known and complete; ``False`` to fall back."""
    parsed = _parse(args)
    if parsed is None or not parsed[1]:
        return False
    from amber import _hotpath
    from amber._platform import host_platform
    from amber.store import Store

    file = parsed[0] or _hotpath.default_file()
    if file is None:
        return False
    store = Store()
    try:
        env = _hotpath.recall(store, _hotpath.file_key(file, host_platform(), None))
    except OSError:
        return False
    if env is None:
        return False
    from amber.run import exec_in_env

    store.touch_env(env.full_id)
    store.close()
    exec_in_env(env, parsed[1], store.env_lock_path(env.full_id))
    return True  # not reached: exec replaced us
