"""Benchmarks 6 and 7's driver: one timed resolve in a fresh process, Amber's or the raw engines'.

    python bench/resolve_driver.py amber|amber-seq|raw CONFIG_JSON

CONFIG_JSON (written by ``bench_resolve.py``): the channel, the conda specs, the PyPI
requirements, the platforms, the virtual packages per platform and the cache directories.

``amber``: ``amber.resolve.resolve(spec, caches)`` once, over all the platforms (Amber solves
them concurrently). ``amber-seq``: one ``resolve`` per platform, one after the other, in this
same process. ``raw``: what Amber drives, called by hand, per platform: ``rattler.solve`` with
the same channel, specs, subdirs, virtual packages and channel priority, then ``uv pip compile``
of the same requirements with the flags and environment Amber gives uv (``--python-version`` of
the solved python, ``--python-platform``, pylock.toml output, the same uv cache), and reading
its output. ``rattler`` (and, for Amber, its modules and the ``Spec``) are imported and built
before the clock starts; everything after is timed. Amber's calls to rattler.solve, to its
PyPI-name detection (``provided_dists``) and to uv are logged with their start and end.
Prints one JSON object: wall and CPU seconds (this process and its children), the phases, and
what was resolved (to compare both sides, untimed).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rattler  # both sides use it: imported before the clock on both

MODE = sys.argv[1]
CONFIG = json.loads(Path(sys.argv[2]).read_text())
T0 = time.perf_counter()
LOG: list[tuple[str, float, float]] = []  # (what, start, end), seconds from T0


def cpu() -> float:
    """CPU seconds of this process and its (waited-for) children so far."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def logged(what: str, func):
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        start = time.perf_counter() - T0
        try:
            return await func(*args, **kwargs)
        finally:
            LOG.append((what, start, time.perf_counter() - T0))

    return wrapper


def logged_sync(what: str, func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.perf_counter() - T0
        try:
            return func(*args, **kwargs)
        finally:
            LOG.append((what, start, time.perf_counter() - T0))

    return wrapper


def logged_start(what: str, func):
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
                LOG.append((what, start, time.perf_counter() - T0))

        proc.result = timed
        return proc

    return wrapper


def amber_side() -> tuple[list[dict], float, float, float]:
    import amber.resolve.conda
    import amber.resolve.pypi
    from amber.resolve import ResolveCaches, resolve
    from amber.spec import Spec

    solver = amber.resolve.conda.CondaSolver
    solver.solve = logged("solve", solver.solve)
    solver.provided_dists = logged("dists", solver.provided_dists)
    amber.resolve.pypi.call_uv = logged_sync("uv", amber.resolve.pypi.call_uv)
    amber.resolve.pypi.start_uv = logged_start("uv", amber.resolve.pypi.start_uv)
    caches = ResolveCaches(*(Path(CONFIG[k]) for k in ("repodata", "uv", "pkgs")))
    start = time.perf_counter()
    groups = [CONFIG["platforms"]] if MODE == "amber" else [[p] for p in CONFIG["platforms"]]
    specs = [
        Spec.create(conda=CONFIG["conda"], pypi=CONFIG["pypi"], channels=[CONFIG["channel"]],
                    platforms=group)
        for group in groups
    ]  # fmt: skip
    spec_time = time.perf_counter() - start
    global T0
    T0, cpu0 = time.perf_counter(), cpu()
    locks = [resolve(spec, caches) for spec in specs]
    wall, cpu_used = time.perf_counter() - T0, cpu() - cpu0
    out = []
    for lock in locks:
        for platform, part in lock.platforms.items():
            out.append({
                "platform": platform,
                "conda": sorted(f"{c.name}={c.version}={c.build}" for c in part.conda),
                "pypi": sorted(f"{p.name}=={p.version}" for p in part.pypi),
                "provided": sorted(part.provided),
            })  # fmt: skip
    return out, wall, cpu_used, spec_time


def raw_side() -> tuple[list[dict], float, float, float]:
    import tomllib

    from rattler import BuildString, GenericVirtualPackage, PackageName, Version

    def virtual(texts: list[str]) -> list[GenericVirtualPackage]:
        parts = (t.split("=") for t in texts)
        return [GenericVirtualPackage(PackageName(n), Version(v), BuildString(b))
                for n, v, b in parts]  # fmt: skip

    virtuals = {p: virtual(CONFIG["virtual"][p]) for p in CONFIG["platforms"]}
    env = dict(os.environ)
    for key in ("VIRTUAL_ENV", "CONDA_PREFIX", "UV_PYTHON", "UV_SYSTEM_PYTHON"):
        env.pop(key, None)
    env.update({"UV_CACHE_DIR": CONFIG["uv"], "UV_PYTHON_DOWNLOADS": "never",
                "UV_NO_CONFIG": "1", "UV_NO_PROGRESS": "1"})  # fmt: skip
    global T0
    T0, cpu0 = time.perf_counter(), cpu()
    from uv import find_uv_bin

    uv = find_uv_bin()
    gateway = rattler.Gateway(cache_dir=CONFIG["repodata"])
    out = []
    for platform in CONFIG["platforms"]:
        start = time.perf_counter() - T0
        records = asyncio.run(rattler.solve(
            [CONFIG["channel"]], CONFIG["conda"], gateway=gateway,
            platforms=[platform, "noarch"], virtual_packages=virtuals[platform],
            channel_priority=rattler.ChannelPriority.Strict, timestamp_policy="allow-missing",
        ))  # fmt: skip
        LOG.append(("solve", start, time.perf_counter() - T0))
        if not CONFIG["pypi"]:  # a conda-only request (benchmarks 16, 17): no uv call
            out.append((platform, records, []))
            continue
        python = next(str(r.version) for r in records if r.name.normalized == "python")
        start = time.perf_counter() - T0
        with tempfile.TemporaryDirectory(prefix="raw-uv-") as tmp:
            reqs, output = Path(tmp, "requirements.in"), Path(tmp, "pylock.toml")
            reqs.write_text("\n".join(CONFIG["pypi"]) + "\n")
            macos = {"MACOSX_DEPLOYMENT_TARGET": CONFIG["macos"]}
            extra = macos if platform.startswith("osx-") else {}
            subprocess.run(
                [uv, "pip", "compile", str(reqs), "--format", "pylock.toml", "--no-header",
                 "--quiet", "--output-file", str(output), "--python-version", python,
                 "--python-platform", CONFIG["uv_platform"][platform]],
                env={**env, **extra}, stdin=subprocess.DEVNULL, capture_output=True, check=True,
            )  # fmt: skip
            packages = tomllib.loads(output.read_text()).get("packages", [])
        LOG.append(("uv", start, time.perf_counter() - T0))
        out.append((platform, records, packages))
    wall, cpu_used = time.perf_counter() - T0, cpu() - cpu0
    results = [{
        "platform": platform,
        "conda": sorted(f"{r.name.normalized}={r.version}={r.build}" for r in records),
        "pypi": sorted(f"{p['name']}=={p['version']}" for p in packages),
    } for platform, records, packages in out]  # fmt: skip
    return results, wall, cpu_used, 0.0


def main() -> None:
    results, wall, cpu_used, spec_time = raw_side() if MODE == "raw" else amber_side()
    print(json.dumps({
        "wall": wall, "cpu": cpu_used, "spec": spec_time,
        "log": LOG, "results": results,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
    # As `amber` does (amber._main.entry): py-rattler's runtime can still have tasks in
    # flight, and finishing them while Python finalizes at times crashes the process.
    sys.stdout.flush()
    os._exit(0)
