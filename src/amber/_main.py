"""The ``amber`` executable: the click-free fast path for ``run``, then the full CLI."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        from amber import _hot

        _hot.try_run(argv[1:])  # execs when the memo names a complete env; else returns
    if argv[:1] in (["run"], ["install"]):
        if argv[0] == "install":
            # uv starts building a missing env while Amber loads (amber._early's memo).
            from amber import _early

            _early.begin_install(argv[1:])
        from amber.cli import _fast
        from amber.errors import AmberError, print_spec_warnings

        print_spec_warnings()

        try:
            if argv[0] == "run":
                _fast.fast_run(argv[1:])  # execs when the env exists, else the full CLI
            elif _fast.fast_install(argv[1:]):
                return 0
        except AmberError as exc:
            from amber._input import clip_lines

            print(clip_lines(f"error: {exc}"), file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            return 130
        except Exception as exc:
            from amber.errors import DiskFullError
            from amber.settings import default_home

            full = DiskFullError.of(exc, default_home())
            if full is None:
                raise
            print(f"error: {full}", file=sys.stderr)
            return full.exit_code
        finally:
            if argv[0] == "install":
                _early.finish_install()
    if argv[:1] == ["lock"]:
        # uv starts resolving while the CLI loads: the calls this command made last time
        # (amber._early's memo), else the ones it plans now.
        from amber import _early

        _early.begin(argv[1:])
        try:
            from amber.api.prelock import prestart

            prestart(argv[1:])
            from amber.cli.main import main as cli_main

            return cli_main(argv)
        finally:
            _early.finish()
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
