"""Where one `amber lock` spends its time, measured from inside its process (benchmark 14).

    python bench/lock_phases.py SPEC OUTPUT

Runs Amber's own entry (``amber._main.main``, as the `amber` script does, with the early
start of uv's calls) with ``amber._uv.UvProcess``'s start and wait wrapped, and prints one
JSON line: when uv's first call started (ms after the interpreter was up), every uv call
(its start, its end and its arguments), the whole command (ms) and the heavy modules it
loaded (rattler, asyncio, rich, fsspec, click).
"""

from __future__ import annotations

import json
import sys
import time

START = time.perf_counter()
import subprocess  # noqa: E402

from amber import _uv  # noqa: E402

CALLS: list[list[object]] = []


def _ms() -> float:
    return (time.perf_counter() - START) * 1000


def main() -> None:
    init, result = _uv.UvProcess.__init__, _uv.UvProcess.result
    popen_init = subprocess.Popen.__init__
    spawned: dict[int, tuple[float, float]] = {}  # pid: (ms, CPU ms) at its start

    def timed_popen(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        popen_init(self, *args, **kwargs)
        spawned[self.pid] = (_ms(), time.process_time() * 1000)

    by_process: dict[int, list[object]] = {}

    def timed_init(self, args, popen, *rest):  # type: ignore[no-untyped-def]
        init(self, args, popen, *rest)
        # A call started early is wrapped again when the resolution takes it over.
        self.timeline = by_process.get(popen.pid)
        if self.timeline is None:
            at, cpu = spawned.get(popen.pid, (_ms(), time.process_time() * 1000))
            self.timeline = [at, None, [str(a) for a in args], cpu]
            by_process[popen.pid] = self.timeline
            CALLS.append(self.timeline)

    def timed_result(self):  # type: ignore[no-untyped-def]
        try:
            return result(self)
        finally:
            if self.timeline[1] is None:
                self.timeline[1] = _ms()

    subprocess.Popen.__init__ = timed_popen  # type: ignore[method-assign]
    _uv.UvProcess.__init__ = timed_init  # type: ignore[method-assign]
    _uv.UvProcess.result = timed_result  # type: ignore[method-assign]
    from amber._main import main as amber_main

    spec, output = sys.argv[1:3]
    code = amber_main(["lock", "-q", "-f", spec, "-o", output])
    done = _ms()
    heavy = ("rattler", "asyncio", "rich", "fsspec", "click")
    print(json.dumps({
        "code": code,
        "command_ms": done,
        # [started ms, waited for until ms (None: not waited for), args, CPU ms at its start]
        "uv": CALLS,
        "cpu_ms": time.process_time() * 1000,
        "loaded": sorted(m for m in heavy if m in sys.modules),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
