"""Benchmarks 4 and 5: pipeline steps (issue 3), run by run_benchmarks.py beside 1-3.

4. A step call with small arguments in an env that exists, against the same call by hand.
5. Preparing a 20-step pipeline's 5 envs from a cold cache: ``amber.prepare`` against the
   envs prepared one after the other.

Both run their measuring side in a driver script (``step_call.py``, ``prepare_envs.py``), a
Python process of its own, as a pipeline is. Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import Figure, ms, run, spread

HERE = Path(__file__).resolve().parent
STEP_CALL = str(HERE / "step_call.py")
PREPARE_ENVS = str(HERE / "prepare_envs.py")

# Benchmark 5's envs: the same five small PyPI packages, each env pinning other versions.
PINS = [
    ["six==1.17.0", "idna==3.10", "packaging==24.2", "attrs==25.1.0", "tomli==2.2.1"],
    ["six==1.16.0", "idna==3.9", "packaging==24.1", "attrs==24.3.0", "tomli==2.1.0"],
    ["six==1.15.0", "idna==3.8", "packaging==24.0", "attrs==24.2.0", "tomli==2.0.2"],
    ["six==1.14.0", "idna==3.7", "packaging==23.2", "attrs==23.2.0", "tomli==2.0.1"],
    ["six==1.13.0", "idna==3.6", "packaging==23.1", "attrs==23.1.0", "tomli==2.0.0"],
]
STEPS_PER_ENV = 4  # fixed by prepare_envs.py
# uv opens a connection (and so a DNS lookup) per request in flight; this caps it per process.
THROTTLE = {"UV_CONCURRENT_DOWNLOADS": "2"}


def bench_step_call(work: Path, reps: int) -> Figure:
    """4. A step call in a prepared env vs cloudpickle + subprocess.run of the env's python."""
    out = json.loads(run([sys.executable, STEP_CALL, str(reps)], cwd=work))
    label = "4. step call round trip, small arguments, existing env"
    notes = [
        f"{reps} calls each from one process, alternating, after 2 warm-ups. Amber "
        f"{spread(out['amber'])}; by hand {spread(out['plain'])}.",
        f"Of the by-hand call, the env's bare `python -c pass` is {ms(out['bare']):.0f} ms; "
        f"the rest is importing cloudpickle and the pickles. Every result was checked. "
        f"Preparing the step's env (cold, untimed) took {ms(out['prepare']):.0f} ms.",
    ]
    return Figure(label, out["amber"], out["plain"], 150, notes=notes)


# -- 5 -----------------------------------------------------------------------------------------


FAILURES: list[str] = []  # prepare runs that failed (and were run again), for the notes


def prepare_side(work: Path, mode: str, tag: str, extra: dict[str, str], check: bool) -> dict:
    """One side of 5 in a driver process with a fresh AMBER_HOME (so a cold uv cache). A run
    that fails is noted and run again (twice at most), so that one failure keeps the figures."""
    home = work / f"prepare-{tag}-{mode}"
    env = {**os.environ, "AMBER_HOME": str(home), **extra}
    cmd = [sys.executable, PREPARE_ENVS, mode, json.dumps(PINS)] + (["--run-steps"] * check)
    for attempt in range(3):
        shutil.rmtree(home, ignore_errors=True)
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        shutil.rmtree(home, ignore_errors=True)
        if proc.returncode == 0:
            return json.loads(proc.stdout)
        last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        FAILURES.append(f"{mode}: {last}")
        print(f"prepare_envs.py {mode}, attempt {attempt + 1}:\n{proc.stderr}", file=sys.stderr)
    sys.exit(f"prepare_envs.py {mode} failed 3 times; the last: {last}")


def prepare_rounds(work: Path, rounds: int, tag: str, extra: dict[str, str]) -> dict[str, list]:
    """``rounds`` of both sides, the order flipping each round: {mode: [driver outputs]}."""
    sides: dict[str, list] = {"concurrent": [], "sequential": []}
    for i in range(rounds):
        order = list(sides)[:: 1 if i % 2 == 0 else -1]
        for mode in order:
            check = i == 0 and mode == "concurrent" and not extra
            sides[mode].append(prepare_side(work, mode, tag, extra, check))
    return sides


def phases(out: dict) -> dict[str, float]:
    """Wall time of the resolve and hydrate phases of one side, and the work done in them."""
    log = [r for r in out["log"] if r[3] < out["wall"]]  # not --run-steps' own lookups
    got = {}
    for kind in ("resolve", "hydrate"):
        spans = [(r[3], r[4]) for r in log if r[0] == kind]
        got[f"{kind}_busy"] = sum(e - s for s, e in spans)  # summed over envs
        got[f"{kind}_wall"] = (max(e for _, e in spans) - min(s for s, _ in spans)) if spans else 0
    compiles = [r[4] - r[3] for r in log if r[0] == "uv" and r[1] == "pip compile"]
    got["compile_min"], got["compile_max"] = min(compiles), max(compiles)
    return got


def describe(sides: dict[str, list]) -> str:
    """Where the time goes, side by side: medians over the rounds."""
    text = []
    for mode, outs in sides.items():
        ph = [phases(o) for o in outs]

        def med(key: str, ph: list = ph) -> float:
            return statistics.median(p[key] for p in ph)

        compile_range = (f"one `uv pip compile` {min(p['compile_min'] for p in ph):.2f}-"
                         f"{max(p['compile_max'] for p in ph):.2f} s")  # fmt: skip
        if mode == "sequential":
            text.append(f"sequential: resolving {med('resolve_busy'):.2f} s, hydrating "
                        f"{med('hydrate_busy'):.2f} s, {compile_range}")  # fmt: skip
            continue
        text.append(
            f"concurrent: resolving {med('resolve_wall'):.2f} s with "
            f"{med('resolve_busy') / med('resolve_wall'):.1f} resolves in flight on average, "
            f"then hydrating {med('hydrate_wall'):.2f} s with "
            f"{med('hydrate_busy') / med('hydrate_wall'):.1f} hydrates in flight, {compile_range}"
        )
    return "; ".join(text)


def dns_probe(host: str = "files.pythonhosted.org", sizes: tuple[int, ...] = (10, 40)) -> str:
    """How this machine's resolver takes bursts of simultaneous lookups of ``host``."""

    def one(_: int) -> float:
        start = time.perf_counter()
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
        except OSError:
            return float("inf")
        return time.perf_counter() - start

    text = []
    for size in sizes:
        with ThreadPoolExecutor(size) as pool:
            took = list(pool.map(one, range(size)))
        slow = [t for t in took if 1 < t < float("inf")]
        failed = sum(t == float("inf") for t in took)
        text.append(f"{size} at once: {len(slow)} took over 1 s"
                    + (f" (up to {max(slow):.1f} s)" if slow else "")
                    + (f", {failed} failed" if failed else ""))  # fmt: skip
        time.sleep(1)
    return f"simultaneous lookups of {host}, " + "; ".join(text)


def bench_prepare(work: Path, rounds: int) -> Figure:
    """5. amber.prepare of 20 steps in 5 envs vs the 5 envs prepared in turn, cold caches."""
    sides = prepare_rounds(work, rounds, "default", {})
    conc, seq = sides["concurrent"], sides["sequential"]
    seq_walls = [o["wall"] for o in seq]
    counts = sorted({len(o["envs_on_disk"]) for o in conc + seq})
    five = counts == [len(PINS)]
    checked = conc[0].get("steps_ok")
    throttled = prepare_rounds(work, rounds, "throttled", THROTTLE)
    t_conc = statistics.median(o["wall"] for o in throttled["concurrent"])
    t_seq = statistics.median(o["wall"] for o in throttled["sequential"])
    n = len(PINS) * STEPS_PER_ENV
    label = f"5. `amber.prepare` of {n} steps in {len(PINS)} envs, cold cache, vs one env at a time"
    rounds_text = ", ".join(
        f"{c['wall']:.2f} / {s['wall']:.2f} s" for c, s in zip(conc, seq, strict=True)
    )
    notes = [
        f"{rounds} rounds, order flipping, concurrent / sequential: {rounds_text}.",
        f"Envs on disk after each prepare (`$AMBER_HOME/envs/*` but `.locks`): "
        f"{', '.join(map(str, counts))} ({'exactly' if five else '**NOT**'} {len(PINS)} in every "
        f"run). All {n} steps called after a prepare each saw their own pins: "
        f"{'yes' if checked else '**NO**'}.",
        f"Where the time goes (medians): {describe(sides)}.",
        f"The same with `UV_CONCURRENT_DOWNLOADS=2` on both sides (fewer requests, so fewer DNS "
        f"lookups, in flight per uv process): concurrent {t_conc:.2f} s, sequential "
        f"{t_seq:.2f} s, {t_conc / t_seq:.2f}x (and {t_conc / statistics.median(seq_walls):.2f}x "
        f"the sequential side without it); {describe(throttled)}.",
        f"This machine's DNS resolver, probed after the runs: {dns_probe()}.",
    ]
    if FAILURES:
        notes.append(f"**{len(FAILURES)} prepare run(s) failed** and were run again: "
                     + "; ".join(f"`{f}`" for f in FAILURES) + ".")  # fmt: skip
    return Figure(label, [o["wall"] for o in conc], seq_walls, 0.7, True, notes)
