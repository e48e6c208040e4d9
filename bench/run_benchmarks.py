#!/usr/bin/env python
"""Amber's core benchmarks, side by side in one run; prints a table, rewrites docs/BENCHMARKS.md.

    python bench/run_benchmarks.py [--run-reps 30] [--hydrate-reps 5] [--keep]

1. ``amber run -f requirements.txt -- python -c pass`` on an existing env vs the env's
   own ``python -c pass``: overhead <= 60 ms (medians).
2. ``amber install -f amber.lock`` of a >= 30-package conda + PyPI env from a warm cache
   vs ``rattler.install`` + ``uv pip install`` on the same lock: ratio <= 1.3 (medians).
3. A second ``amber run -f environment.yml`` of that (already locked) spec vs the env's
   own ``python -c pass``: overhead <= 100 ms (medians).

Everything runs in a temporary AMBER_HOME. No conda channel is reachable from the
machines this runs on, so the conda half comes from a synthetic but real channel
built with tests/condapkgs.py and served over loopback HTTP; the PyPI half is real PyPI.
Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import condapkgs  # noqa: E402  (the tests' real conda package builder)

AMBER = str(Path(sys.executable).with_name("amber"))
PYPI = ["six", "python-dateutil", "idna", "certifi", "packaging", "attrs", "tomli", "pyparsing"]
N_SYNTHETIC = 32
TARGETS = {"run": 60.0, "hydrate": 1.3, "reuse": 100.0}  # ms, ratio, ms

# What the raw baseline does: exactly the two installers Amber drives, nothing else.
RAW_INSTALL = '''
import asyncio, os, subprocess, sys, tempfile
import rattler, uv
from amber.lock import Lock
lock_file, platform, prefix, home, offline = sys.argv[1:]
packages = Lock.read(lock_file).for_platform(platform)
records = [c.to_record() for c in packages.conda]
asyncio.run(rattler.install(records, target_prefix=prefix, cache_dir=os.path.join(home, "pkgs", "conda"),
                            show_progress=False))
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    f.write("\\n".join(p.requirement_line() for p in packages.pypi) + "\\n")
cmd = [uv.find_uv_bin(), "pip", "install", "--python", os.path.join(prefix, "bin", "python"),
       "--no-deps", "--require-hashes", "--quiet", "-r", f.name] + (["--offline"] if offline == "1" else [])
subprocess.run(cmd, check=True, env=dict(os.environ, UV_CACHE_DIR=os.path.join(home, "pkgs", "uv")))
os.unlink(f.name)
'''


# -- measuring -----------------------------------------------------------------------


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def timed(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    """Seconds one subprocess takes, start-up included (it must succeed)."""
    start = time.perf_counter()
    run(cmd, cwd, env)
    return time.perf_counter() - start


def interleaved(commands: dict[str, list[str]], reps: int, cwd: Path) -> dict[str, list[float]]:
    """Time each command ``reps`` times after one warm-up each, alternating so drift hits all."""
    for cmd in commands.values():
        timed(cmd, cwd)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(reps):
        for name, cmd in commands.items():
            samples[name].append(timed(cmd, cwd))
    return samples


def ms(seconds: float) -> float:
    return seconds * 1000


def spread(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=10) if len(samples) >= 2 else samples * 9
    return f"p10 {ms(q[0]):.1f} / p90 {ms(q[-1]):.1f} ms"


# -- the synthetic conda channel ---------------------------------------------------------


def synthetic_packages(count: int) -> list[condapkgs.CondaPackage]:
    """``count`` packages in one dependency chain: every third noarch python, the rest
    linux-64 with ~20 data files each and a relocated (text prefix) script on every fourth."""
    packages = []
    for i in range(count):
        depends = (f"bench-pkg{i - 1:02d} >=1.0",) if i else ()
        name = f"bench-pkg{i:02d}"
        if i % 3 == 0:
            module = f"bench_pkg{i:02d}"
            site = {f"{module}/__init__.py": f"VALUE = {i}\n".encode()}
            site.update({f"{module}/m{j}.py": f"def f{j}():\n    return {j}\n".encode() for j in range(8)})
            site.update(condapkgs.python_dist_info(name, "1.0", site))
            packages.append(condapkgs.CondaPackage(
                name=name, version="1.0", build="pyh_0", subdir="noarch", noarch="python",
                depends=("python", *depends), files={f"site-packages/{p}": d for p, d in site.items()},
            ))  # fmt: skip
            continue
        files: dict[str, bytes] = {
            f"share/{name}/data{j:02d}.txt": (f"{name} {j}\n" * 200).encode() for j in range(20)
        }
        prefix_files = {}
        if i % 4 == 1:
            files[f"bin/{name}"] = f"#!/bin/sh\necho {condapkgs.PLACEHOLDER}\n".encode()
            prefix_files[f"bin/{name}"] = "text"
        packages.append(condapkgs.CondaPackage(
            name=name, version="1.0", subdir="linux-64", depends=depends, files=files,
            prefix_files=prefix_files, fmt=".tar.bz2" if i % 5 == 0 else ".conda",
        ))  # fmt: skip
    return packages


def build_channel(root: Path) -> list[str]:
    """Build the channel; return the conda specs the environment.yml asks for."""
    extra = [
        condapkgs.libfoo_package("2.0"),
        condapkgs.footool_package(),  # binary prefix file + activate.d script
        condapkgs.greetlib_package(),  # noarch python with an entry point
        condapkgs.datafiles_package(),  # noarch generic
    ]
    condapkgs.build_channel(root, [condapkgs.host_python_package(), *synthetic_packages(N_SYNTHETIC), *extra])
    return ["python", f"bench-pkg{N_SYNTHETIC - 1:02d}", "footool", "greetlib", "datafiles"]


# -- the benchmarks ------------------------------------------------------------------------


def bench_run(work: Path, reps: int) -> dict:
    """1. `amber run` on an existing PyPI-only env vs its own python."""
    project = work / "pypi-only"
    project.mkdir()
    (project / "requirements.txt").write_text("six\n")
    env_path = Path(run([AMBER, "install", "-q", "-f", "requirements.txt"], cwd=project).strip())
    samples = interleaved(
        {
            "amber": [AMBER, "run", "-f", "requirements.txt", "--", "python", "-c", "pass"],
            "direct": [str(env_path / "bin" / "python"), "-c", "pass"],
        },
        reps,
        project,
    )
    return samples


def bench_hydrate(work: Path, home: Path, channel: condapkgs.ServedDirectory, conda_specs: list[str],
                  reps: int) -> dict:
    """2. `amber install -f amber.lock` from a warm cache vs rattler.install + uv pip install."""
    project = work / "mixed"
    project.mkdir()
    deps = "\n".join(f"  - {s}" for s in conda_specs)
    pip = "\n".join(f"      - {p}" for p in PYPI)
    (project / "environment.yml").write_text(
        f"name: bench-mixed\nchannels:\n  - {channel}\ndependencies:\n{deps}\n  - pip:\n{pip}\n"
    )
    run([AMBER, "lock", "-q", "-f", "environment.yml"], cwd=project)
    from amber._platform import host_platform
    from amber.lock import Lock

    lock = Lock.read(project / "amber.lock")
    packages = lock.for_platform(host_platform())
    # Warm every cache: one Amber hydrate (conda archives + wheels) and one raw install.
    env_path = Path(run([AMBER, "install", "-q", "-f", "amber.lock"], cwd=project).strip())
    script = work / "raw_install.py"
    script.write_text(RAW_INSTALL)
    raw_root = home / "raw"  # same filesystem as the caches, so both hardlink alike

    def raw(i: int, offline: str) -> list[str]:
        prefix = raw_root / f"{offline}-{i}"
        shutil.rmtree(prefix, ignore_errors=True)
        return [sys.executable, str(script), str(project / "amber.lock"), host_platform(), str(prefix), str(home), offline]

    run(raw(0, "1"))
    run(raw(0, "0"))
    samples: dict[str, list[float]] = {"amber": [], "raw": [], "raw-online": [], "api": []}
    seen = len(channel.requests)
    for i in range(reps):
        run([AMBER, "env", "rm", lock.full_id], cwd=project)
        samples["amber"].append(timed([AMBER, "install", "-f", "amber.lock"], cwd=project))
        samples["raw"].append(timed(raw(i, "1")))
        samples["raw-online"].append(timed(raw(i, "0")))
        run([AMBER, "env", "rm", lock.full_id], cwd=project)
        samples["api"].append(timed([sys.executable, "-c", "import sys; from amber.hydrate import hydrate; "
                                     "from amber.lock import Lock; from amber.store import Store; "
                                     "hydrate(Lock.read(sys.argv[1]), Store())", "amber.lock"], cwd=project))  # fmt: skip
    # Fairness and sanity, untimed: both ways give the same files, and the env works.
    same = tree(env_path) - {".amber"} == tree(raw_root / f"1-{reps - 1}")
    run([str(env_path / "bin" / "python"), "-c", "import dateutil, attrs, greetlib, bench_pkg30"])
    files = sum(len(fs) for _, _, fs in os.walk(env_path))
    return {"samples": samples, "conda": len(packages.conda), "pypi": len(packages.pypi), "files": files,
            "project": project, "env": env_path, "requests": len(channel.requests) - seen, "same_files": same}  # fmt: skip


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative, top-level ``.amber`` metadata kept."""
    return {str(p.relative_to(root)) for p in root.rglob("*")} - set()


def bench_reuse(project: Path, env_path: Path, reps: int) -> dict:
    """3. The second `amber run -f environment.yml` of the locked spec vs the env's python."""
    first = timed([AMBER, "run", "-f", "environment.yml", "--", "python", "-c", "pass"], cwd=project)
    samples = interleaved(
        {
            "amber": [AMBER, "run", "-f", "environment.yml", "--", "python", "-c", "pass"],
            "direct": [str(env_path / "bin" / "python"), "-c", "pass"],
        },
        reps,
        project,
    )
    return {"samples": samples, "first": first}


# -- reporting -------------------------------------------------------------------------------


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?") \
        if os.path.exists("/proc/cpuinfo") else platform.processor()  # fmt: skip
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
            f"Python {platform.python_version()}, py-rattler {version('py-rattler')}, uv {version('uv')}, "
            f"amber {version('amber-env')}")  # fmt: skip


def report(results: dict, args: argparse.Namespace, seconds: float) -> str:
    run_s, hyd, reuse = results["run"], results["hydrate"], results["reuse"]
    med = {k: statistics.median(v) for k, v in run_s.items()}
    run_over = ms(med["amber"] - med["direct"])
    hmed = {k: statistics.median(v) for k, v in hyd["samples"].items()}
    ratio = hmed["amber"] / hmed["raw"]
    rmed = {k: statistics.median(v) for k, v in reuse["samples"].items()}
    reuse_over = ms(rmed["amber"] - rmed["direct"])
    verdict = lambda ok: "PASS" if ok else "FAIL"  # noqa: E731
    rows = [
        ("1. `amber run` on an existing env (requirements.txt, PyPI-only)",
         f"{ms(med['amber']):.1f} ms", f"{ms(med['direct']):.1f} ms",
         f"+{run_over:.1f} ms", "<= 60 ms", verdict(run_over <= TARGETS["run"])),
        (f"2. hydrate, warm cache ({hyd['conda']} conda + {hyd['pypi']} PyPI, {hyd['files']} files)",
         f"{ms(hmed['amber']):.0f} ms", f"{ms(hmed['raw']):.0f} ms",
         f"{ratio:.2f}x", "<= 1.3x", verdict(ratio <= TARGETS["hydrate"])),
        ("3. second `amber run` of a locked spec (environment.yml, mixed env)",
         f"{ms(rmed['amber']):.1f} ms", f"{ms(rmed['direct']):.1f} ms",
         f"+{reuse_over:.1f} ms", "<= 100 ms", verdict(reuse_over <= TARGETS["reuse"])),
    ]  # fmt: skip
    table = ["| benchmark | Amber (median) | baseline (median) | overhead | target | result |",
             "| --- | ---: | ---: | ---: | --- | --- |"]  # fmt: skip
    table += ["| " + " | ".join(r) + " |" for r in rows]
    s = hyd["samples"]
    detail = f"""
- 1: Amber {spread(run_s['amber'])}; direct {spread(run_s['direct'])} ({args.run_reps} runs each, interleaved, after one warm-up).
- 2: {args.hydrate_reps} rounds. Amber `amber install -f amber.lock` (CLI, subprocess) {spread(s['amber'])};
  raw `rattler.install` + `uv pip install --offline` {spread(s['raw'])}.
  Also measured: raw without `--offline` (uv may revalidate with PyPI) median {ms(hmed['raw-online']):.0f} ms
  (ratio {hmed['amber'] / hmed['raw-online']:.2f}x); `amber.hydrate.hydrate()` in a fresh interpreter,
  no CLI, median {ms(hmed['api']):.0f} ms (ratio {hmed['api'] / hmed['raw']:.2f}x).
  Requests to the conda channel during the timed rounds: {hyd['requests']} (a warm cache needs none).
  Amber's env and the raw prefix hold the same files (besides `.amber/`): {"yes" if hyd["same_files"] else "NO"}.
- 3: Amber {spread(reuse['samples']['amber'])}; direct {spread(reuse['samples']['direct'])}.
  The first `amber run -f environment.yml` (spec digest not yet remembered: reads the spec,
  finds the `amber.lock` beside it, finds the env, remembers the digest) took {ms(reuse['first']):.0f} ms."""
    return "\n".join(table) + "\n" + detail + f"\n\nTotal wall time of the run: {seconds:.0f} s.\n"


DOC_HEAD = """# Benchmarks

Written by `python bench/run_benchmarks.py` (do not edit by hand: re-run it). One run measures
all three targets side by side in a fresh temporary `AMBER_HOME`; every figure is a median of
wall-clock times of whole subprocesses (start-up included, as a user sees it), and each
target is a ratio or a difference against the same work done without Amber, so the figures
carry over between machines better than absolute times do. Nothing asserts on a time.

How each is measured:

1. **`amber run` overhead.** `amber run -f requirements.txt -- python -c pass` (the
   installed `amber` console script) on an env that already exists, against the env's own
   `bin/python -c pass`. Target: at most 60 ms more.
2. **Hydrate from a warm cache.** An `environment.yml` with a conda part of {n_conda} packages
   (a host-`python` package, {n_syn} generated packages in one dependency chain - a third
   `noarch: python`, the rest `linux-64`, `.conda` and `.tar.bz2`, some with prefix
   placeholders - and the test set's `libfoo`, `footool` (binary prefix, `activate.d`),
   `greetlib` (entry point), `datafiles` (`noarch: generic`)) from a channel built with
   `tests/condapkgs.py` and served over loopback HTTP, and a `pip:` part of real PyPI
   packages ({pypi}). Locked once with `amber lock`; caches warmed by one hydrate. Then per
   round: `amber env rm`, then `amber install -f amber.lock` timed; against a subprocess that
   reads the same lock, calls `rattler.install(records, prefix, cache_dir=$AMBER_HOME/pkgs/conda)`
   and then `uv pip install --python PREFIX/bin/python --no-deps --require-hashes --offline -r
   REQS` with `UV_CACHE_DIR=$AMBER_HOME/pkgs/uv` into a fresh prefix on the same filesystem.
   The baseline gets `--offline` because Amber's hydrate tries offline first too: the
   baseline is the fastest way to do the same installs. Target: Amber / raw at most 1.3.
3. **Reusing an env of a locked spec.** After (2), `amber run -f environment.yml -- python -c
   pass` once (not timed into the median), then timed like (1), against the env's own python.
   Target: at most 100 ms more.

"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-reps", type=int, default=30)
    parser.add_argument("--hydrate-reps", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="amber-bench-"))
    home = work / "home"
    os.environ["AMBER_HOME"] = str(home)  # every subprocess below inherits it
    for key in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH"):
        os.environ.pop(key, None)
    try:
        print(f"working in {work}", file=sys.stderr)
        conda_specs = build_channel(work / "channel")
        with condapkgs.serve_directory(work / "channel") as url:
            results = {"run": bench_run(work, args.run_reps)}
            print("1. amber run: done", file=sys.stderr)
            results["hydrate"] = hydrate = bench_hydrate(work, home, url, conda_specs, args.hydrate_reps)
            print("2. hydrate: done", file=sys.stderr)
            results["reuse"] = bench_reuse(hydrate["project"], hydrate["env"], args.run_reps)
            print("3. reuse: done", file=sys.stderr)
        body = report(results, args, time.perf_counter() - started)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(f"\n{when}, {machine()}\n\n{body}")
    if not args.no_doc:
        head = DOC_HEAD.format(n_conda=hydrate["conda"], n_syn=N_SYNTHETIC, pypi=", ".join(PYPI))
        doc = head + f"## Latest run\n\n{when}; {machine()}.\n\n{body}"
        (ROOT / "docs" / "BENCHMARKS.md").write_text(doc)
        print(f"wrote {ROOT / 'docs' / 'BENCHMARKS.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
