"""The ``amber`` executable: the click-free fast path for ``run``, then the full CLI."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else ""
    if command == "run":
        from amber import _hot

        _hot.try_run(argv[1:])  # execs when the memo names a complete env; else returns
    if command not in ("run", "install", "lock"):
        return _cli(argv)
    # uv starts while Amber loads (amber._early's memos): `install` builds a missing env
    # with the calls its last build made; `lock` resolves with the calls the same command
    # made last time, else (``prestart``) with the ones it plans once the spec is read.
    from amber import _early

    if command == "install":
        _early.begin_install(argv[1:])
    elif command == "lock":
        _early.begin(argv[1:])
    try:
        if command == "lock":
            from amber.api.prelock import prestart

            prestart(argv[1:])
        done = _fast(command, argv[1:])
        return _cli(argv) if done is None else done
    finally:
        if command == "install":
            _early.finish_install()
        elif command == "lock":
            _early.finish()


def _fast(command: str, args: list[str]) -> int | None:
    """The click-free path of ``run``, ``install`` and ``lock`` (``amber.cli._fast``): its
    exit code, or None for the full CLI to take the command."""
    from amber.cli import _fast
    from amber.errors import print_spec_warnings

    print_spec_warnings()
    try:
        if command == "run":
            _fast.fast_run(args)  # execs when the env exists, else the full CLI
            return None
        fast = _fast.fast_install if command == "install" else _fast.fast_lock
        return 0 if fast(args) else None
    except (Exception, KeyboardInterrupt) as exc:
        said = reported(exc)
        if said is None:
            raise
        if said[0]:
            print(said[0], file=sys.stderr)
        return said[1]


def reported(exc: BaseException) -> tuple[str, int] | None:
    """How a command ends on ``exc``: the line it says on stderr ("" for none) and its exit
    code; None for a bug, to raise. The click-free path and the full CLI both end so."""
    from amber.errors import AmberError, DiskFullError

    if isinstance(exc, AmberError):
        from amber._input import clip_lines

        return clip_lines(f"error: {exc}"), exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "", 130
    from amber.settings import default_home

    full = DiskFullError.of(exc, default_home()) if isinstance(exc, Exception) else None
    return (f"error: {full}", full.exit_code) if full is not None else None


def _cli(argv: list[str]) -> int:
    from amber.cli.main import main as cli_main

    return cli_main(argv)


def entry() -> None:
    """Console-script entry: run ``main`` and leave without interpreter finalization.

    py-rattler's runtime can still have tasks in flight after an error (the solver
    returned while repodata fetches go on); if they finish while Python finalizes, the
    process dies with SIGSEGV/SIGABRT instead of our exit code. Everything we write is
    flushed or committed by then, so ending the process directly is safe.
    """
    import os

    try:
        code = main()
    except SystemExit as exc:  # click's --help / --version
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
