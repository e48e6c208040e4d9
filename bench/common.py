"""What every benchmark module shares: running and timing subprocesses, and ``Figure``."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Figure:
    """One benchmark: Amber's samples against the baseline's, and its target."""

    label: str
    amber: list[float]
    base: list[float]
    target: float | None  # ms of overhead, or a ratio when ``ratio``; None: no target
    ratio: bool = False
    notes: list[str] = field(default_factory=list)
    verdict: str | None = None  # the result column, when a check decides it rather than a time

    @property
    def value(self) -> float:
        a, b = statistics.median(self.amber), statistics.median(self.base)
        return a / b if self.ratio else ms(a - b)

    @property
    def ok(self) -> bool | None:
        return None if self.target is None else self.value <= self.target

    def row(self) -> list[str]:
        unit = (lambda v: f"{v:.2f}x") if self.ratio else (lambda v: f"+{v:.1f} ms")
        if self.target is None:
            target = "none set"
        else:
            target = f"<= {self.target:g}x" if self.ratio else f"<= {self.target:g} ms"
        result = self.verdict or {None: "-", True: "PASS", False: "FAIL"}[self.ok]
        a, b = (f"{ms(statistics.median(x)):.1f} ms" for x in (self.amber, self.base))
        return [self.label, a, b, unit(self.value), target, result]


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """A subprocess's stdout; a failure ends the benchmark with its output."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def timed(cmd: list[str], cwd: Path | None = None) -> float:
    """Seconds one subprocess takes, start-up included (it must succeed)."""
    start = time.perf_counter()
    run(cmd, cwd)
    return time.perf_counter() - start


TIME = "/usr/bin/time"  # GNU time: the peak memory of the command itself


def measured(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, int, float]:
    """(seconds, peak resident bytes, CPU seconds) of one subprocess, start-up included (it
    must succeed). CPU: user + system time from ``wait4``, this child's alone (it moves less
    than the wall time on a loaded machine). Peak memory: ``/usr/bin/time``'s ``%M`` (the
    child's own ``ru_maxrss`` would count the pages of this large process it was forked
    from), 0 when there is no GNU time."""
    with tempfile.TemporaryDirectory(prefix="measured-") as tmp:
        peak_file = Path(tmp, "peak")
        wrapper = [TIME, "-f", "%M", "-o", str(peak_file)] if os.path.exists(TIME) else []
        with open(Path(tmp, "out"), "w+b") as out:  # a file, not a pipe: nothing to drain
            start = time.perf_counter()
            proc = subprocess.Popen([*wrapper, *cmd], cwd=cwd, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)  # fmt: skip
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                out.seek(0)
                sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out.read().decode()}")
        lines = peak_file.read_text().split() if wrapper else ["0"]
        peak = int(lines[-1]) * 1024  # KiB
    return seconds, peak, usage.ru_utime + usage.ru_stime


def ms(seconds: float) -> float:
    return seconds * 1000


def spread(samples: list[float]) -> str:
    deciles = statistics.quantiles(samples, n=10) if len(samples) > 1 else samples * 9
    return f"p10 {ms(deciles[0]):.1f} / p90 {ms(deciles[-1]):.1f} ms"
