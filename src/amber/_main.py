"""The ``amber`` executable: the click-free fast path for ``run``, then the full CLI."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        from amber._fastrun import fast_run
        from amber.errors import AmberError

        try:
            fast_run(argv[1:])  # execs when the env exists; otherwise the full CLI below
        except AmberError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
    from amber.cli import main as cli_main

    return cli_main(argv)
