"""Where one `amber lock` spends its time, measured from inside its process (benchmark 14).

    python bench/lock_phases.py SPEC OUTPUT

Runs Amber's own entry point (as the `amber` script does) with `asyncio`'s subprocess start
wrapped, so that every uv call is timed with its arguments; prints one JSON line: the imports
the command needs (ms), every uv call (ms and its arguments), the command after its imports
(ms) and the modules loaded (to tell whether rattler, rich or fsspec came along).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

START = time.perf_counter()
import amber.cli.lock  # noqa: E402, F401
import amber.cli.main  # noqa: E402, F401

IMPORTED = time.perf_counter()
CALLS: list[tuple[float, list[str]]] = []
_spawn = asyncio.create_subprocess_exec


async def _timed_spawn(*args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    proc = await _spawn(*args, **kwargs)
    communicate = proc.communicate

    async def finished(input=None):  # type: ignore[no-untyped-def]
        result = await communicate(input)
        CALLS.append((time.perf_counter() - started, [str(a) for a in args[1:]]))
        return result

    proc.communicate = finished  # type: ignore[method-assign]
    return proc


def main() -> None:
    from amber.cli.main import main as cli_main

    asyncio.create_subprocess_exec = _timed_spawn  # type: ignore[assignment]
    spec, output = sys.argv[1:3]
    code = cli_main(["lock", "-q", "-f", spec, "-o", output])
    done = time.perf_counter()
    heavy = sorted(m for m in ("rattler", "rich", "fsspec", "click") if m in sys.modules)
    print(json.dumps({
        "code": code,
        "imports_ms": (IMPORTED - START) * 1000,
        "command_ms": (done - IMPORTED) * 1000,
        "uv": [[ms * 1000, args] for ms, args in CALLS],
        "loaded": heavy,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
