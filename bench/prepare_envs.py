"""Benchmark 5's driver: prepare a pipeline's envs, all at once or one after the other.

    python bench/prepare_envs.py concurrent|sequential PINS_JSON [--run-steps]

PINS_JSON: one list of pins per env (``bench_steps.PINS``). Four steps per env, the env's spec
written four ways (one request, so one env). ``concurrent``: ``amber.prepare(*steps)`` over all
the steps. ``sequential``: ``.prepare()`` of one step per env, one after the other. AMBER_HOME
must be fresh (a cold uv cache). Amber is imported and the steps are defined before the clock
starts. Every call to resolve (``ensure_lock``), to hydrate (``hydrate``) and to uv is
logged with its start and end, to show which phase takes the time and what overlaps.
``--run-steps`` then calls every step (untimed) to check that each sees its own pins.
Prints one JSON object.
"""

import functools
import json
import os
import sys
import threading
import time

import amber
import amber._uv
import amber.api.locking
import amber.hydrate
import amber.resolve.pypi

PINS = json.loads(sys.argv[2])


def versions(names):
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in names]


# Four steps per env, the env's spec written four ways (the same request: one env).
STEPS = []
for pins in PINS:
    STEPS += [
        amber.step(amber.Env(pypi=pins))(versions),
        amber.step(amber.Env(), pypi=pins)(versions),
        amber.step(amber.Env(pypi=pins[:2]), pypi=pins[2:])(versions),
        amber.step(amber.Env(pypi=pins[::-1]))(versions),
    ]

T0 = time.perf_counter()
LOG = []  # (what, detail, thread, start, end), seconds from T0


def logged(what, detail, func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.perf_counter() - T0
        try:
            return func(*args, **kwargs)
        finally:
            end = time.perf_counter() - T0
            LOG.append((what, detail(args), threading.current_thread().name, start, end))

    return wrapper


def logged_async(what, func):
    @functools.wraps(func)
    async def wrapper(args, **kwargs):
        start = time.perf_counter() - T0
        try:
            return await func(args, **kwargs)
        finally:
            end = time.perf_counter() - T0
            detail = " ".join(args[:2]) + (" --offline" if "--offline" in args else "")
            LOG.append((what, detail, threading.current_thread().name, start, end))

    return wrapper


def logged_start(what, func):
    """``start_uv`` whose calls are logged from their start until their result is taken."""

    @functools.wraps(func)
    def wrapper(args, **kwargs):
        start = time.perf_counter() - T0
        proc = func(args, **kwargs)
        result = proc.result

        def timed():
            try:
                return result()
            finally:
                end = time.perf_counter() - T0
                detail = " ".join(args[:2]) + (" --offline" if "--offline" in args else "")
                LOG.append((what, detail, threading.current_thread().name, start, end))

        proc.result = timed
        return proc

    return wrapper


# Where api.install imports them from, when it is called.
amber.api.locking.ensure_lock = logged(
    "resolve", lambda a: a[0].req_id[:12], amber.api.locking.ensure_lock
)
amber.hydrate.hydrate = logged("hydrate", lambda a: a[0].full_id[:12], amber.hydrate.hydrate)
for module in (amber.hydrate, amber.resolve.pypi):
    module.run_uv = logged_async("uv", amber._uv.run_uv)
amber.resolve.pypi.start_uv = logged_start("uv", amber._uv.start_uv)  # compile_pypi's calls


def main(mode, run_steps):
    global T0
    home = os.environ["AMBER_HOME"]
    assert not os.path.exists(os.path.join(home, "envs")), "not a fresh AMBER_HOME"
    T0 = time.perf_counter()
    if mode == "concurrent":
        envs = amber.prepare(*STEPS, quiet=True)
    else:
        envs = {i: s.prepare() for i, s in enumerate(STEPS[::4])}
    wall = time.perf_counter() - T0
    on_disk = sorted(e for e in os.listdir(os.path.join(home, "envs")) if e != ".locks")
    out = {"mode": mode, "wall": wall, "log": LOG, "envs_on_disk": on_disk,
           "envs_returned": len({e.full_id for e in envs.values()}),
           "complete": sum(e.is_complete() for e in envs.values())}  # fmt: skip
    if run_steps:
        names = [[p.split("==")[0] for p in pins] for pins in PINS]
        seen = [s(names[i // 4]) for i, s in enumerate(STEPS)]
        out["steps_ok"] = all(seen[i] == PINS[i // 4] for i in range(len(STEPS)))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], "--run-steps" in sys.argv[3:])
