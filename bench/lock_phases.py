"""Where one `amber lock` spends its time, measured from inside its process (benchmark 14).

    python bench/lock_phases.py SPEC OUTPUT

Runs Amber's own CLI entry (as the `amber` script does) with ``subprocess.run`` wrapped, so
that every uv call (``amber._uv.call_uv``) is timed with its arguments; prints one JSON line:
the imports the command needs (ms), every uv call (ms and its arguments), the command after
its imports (ms) and the heavy modules it loaded (rattler, asyncio, rich, fsspec, click).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

START = time.perf_counter()
import amber.cli.lock  # noqa: E402, F401  (what `amber lock` imports, timed)
import amber.cli.main  # noqa: E402, F401

IMPORTED = time.perf_counter()
CALLS: list[tuple[float, list[str]]] = []
_run = subprocess.run


def _timed_run(args, *rest, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    try:
        return _run(args, *rest, **kwargs)
    finally:
        if str(args[0]).endswith(("/uv", "\\uv.exe")):
            CALLS.append((time.perf_counter() - started, [str(a) for a in args[1:]]))


def main() -> None:
    from amber.cli.main import main as cli_main

    subprocess.run = _timed_run  # type: ignore[assignment]
    spec, output = sys.argv[1:3]
    code = cli_main(["lock", "-q", "-f", spec, "-o", output])
    done = time.perf_counter()
    heavy = ("rattler", "asyncio", "rich", "fsspec", "click")
    print(json.dumps({
        "code": code,
        "imports_ms": (IMPORTED - START) * 1000,
        "command_ms": (done - IMPORTED) * 1000,
        "uv": [[ms * 1000, args] for ms, args in CALLS],
        "loaded": sorted(m for m in heavy if m in sys.modules),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
