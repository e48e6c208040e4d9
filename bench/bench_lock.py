"""Benchmark 14: `amber lock` of a PyPI env against `uv pip compile --generate-hashes`.

The issue's 10-package PyPI env (``bench_hot.PACKAGES``) as a requirements.txt. Amber's side:
`amber lock -q -f requirements.txt -o NEW` (a new output file every time, to show that
nothing is skipped: every call resolves; what `amber lock` remembers of the same command is
which uv calls to start before it has loaded, `amber._early`), with uv's cache at
`$AMBER_HOME/pkgs/uv`. uv's side: `uv pip compile
--generate-hashes requirements.txt -o NEW` with a cache of its own (`UV_CACHE_DIR`), given the
same interpreter (`--python`) so that neither searches PATH. Both caches are warmed first; both
still revalidate PyPI's index pages, as a user's warm resolve does. Whole subprocesses,
alternating, medians. Untimed afterwards: `lock_phases.py` shows when uv's calls started and
ended inside Amber's command and lists the heavy modules the command loaded.
"""

from __future__ import annotations

import compileall
import json
import os
import resource
import statistics
import sys
from pathlib import Path

from bench_hot import PACKAGES
from common import Figure, run, spread, timed

import amber

AMBER = str(Path(sys.executable).with_name("amber"))
UV = str(Path(sys.executable).with_name("uv"))
PHASES = str(Path(__file__).with_name("lock_phases.py"))


def bench_lock_pypi(work: Path, reps: int) -> Figure:
    project = work / "lock-pypi"
    project.mkdir()
    (project / "requirements.txt").write_text("".join(f"{p}\n" for p in PACKAGES))
    # Amber's bytecode, as an installed wheel has it (an editable install under
    # PYTHONDONTWRITEBYTECODE would compile Amber's sources on every call).
    compileall.compile_dir(Path(amber.__file__).parent, quiet=1)
    uv_cache = work / "uv-lock-cache"
    outputs = work / "lock-outputs"
    outputs.mkdir()
    count = iter(range(10**6))

    def amber_cmd() -> list[str]:
        return [AMBER, "lock", "-q", "-f", "requirements.txt", "-o", f"{outputs}/a{next(count)}"]

    def uv_cmd() -> list[str]:
        return [UV, "pip", "compile", "--generate-hashes", "-q", "requirements.txt",
                "--python", sys.executable, "-o", f"{outputs}/u{next(count)}.txt"]  # fmt: skip

    os.environ["UV_CACHE_DIR"] = str(uv_cache)  # timed() passes os.environ on; Amber sets its own
    os.environ["UV_NO_PROGRESS"] = "1"
    samples: dict[str, list[float]] = {"amber": [], "uv": []}
    cpu: dict[str, list[float]] = {"amber": [], "uv": []}
    try:
        timed(amber_cmd(), project), timed(uv_cmd(), project)  # warm both caches
        for n in range(reps):
            sides = [("amber", amber_cmd), ("uv", uv_cmd)]
            for name, cmd in sides[:: -1 if n % 2 else 1]:  # the order flips every round
                before = _children_cpu()
                samples[name].append(timed(cmd(), project))
                cpu[name].append(_children_cpu() - before)
        phases = [json.loads(run([sys.executable, PHASES, "requirements.txt",
                                  f"{outputs}/p{i}"], project).strip().splitlines()[-1])
                  for i in range(max(3, reps // 3))]  # fmt: skip
    finally:
        del os.environ["UV_CACHE_DIR"], os.environ["UV_NO_PROGRESS"]
    same = _pins(outputs / "a0") == _uv_pins(outputs / "u1.txt")
    # uv's first call: when it started (ms after the interpreter was up) and the CPU time
    # Amber had used by then; how long the command went on after uv's last answer.
    first = [min(c[0] for c in p["uv"]) for p in phases if p["uv"]]
    first_cpu = [min(c[3] for c in p["uv"]) for p in phases if p["uv"]]
    after = [p["command_ms"] - max(c[1] or 0 for c in p["uv"]) for p in phases if p["uv"]]
    calls = [len(p["uv"]) for p in phases]
    args = " ".join(a for a in phases[0]["uv"][0][2] if "/" not in a) if phases[0]["uv"] else ""
    loaded = ", ".join(phases[0]["loaded"]) or "none"
    return Figure(
        f"14. `amber lock` of a {len(PACKAGES)}-package PyPI env vs `uv pip compile "
        "--generate-hashes`",
        samples["amber"],
        samples["uv"],
        1.15,
        ratio=True,
        notes=[
            f"Amber {spread(samples['amber'])}; uv {spread(samples['uv'])}; {reps} rounds, "
            "alternating, after one warm-up each (each side its own warm uv cache).",
            f"Inside Amber ({len(phases)} more runs, medians): uv's first call starts "
            f"{statistics.median(first):.0f} ms after the interpreter is up "
            f"({statistics.median(first_cpu):.0f} ms of CPU), from the lock memo of the "
            f"same command; uv calls per lock {min(calls)}-{max(calls)} (`uv {args}`, and "
            "the same offline with `# via` annotations, at the same time); the command ends "
            f"{statistics.median(after):.0f} ms after uv's last answer. Heavy modules "
            f"loaded: {loaded}.",
            f"CPU time (user + sys, the command and its uv), medians: Amber "
            f"{statistics.median(cpu['amber']) * 1000:.0f} ms, uv "
            f"{statistics.median(cpu['uv']) * 1000:.0f} ms (less moved by the machine's load "
            "than wall time: on a busy machine Amber's CPU-bound start waits for a core, while "
            "most of uv's time is the network). "
            f"Both pin the same versions: {'yes' if same else '**NO**'}.",
        ],
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pins(lock: Path) -> set[str]:
    from amber.lock import Lock

    return {f"{p.name}=={p.version}" for b in Lock.read(lock).platforms.values() for p in b.pypi}


def _uv_pins(path: Path) -> set[str]:
    lines = (line.split(" ", 1)[0] for line in path.read_text().splitlines())
    return {line for line in lines if "==" in line and not line.startswith("#")}
