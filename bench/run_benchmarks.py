#!/usr/bin/env python
"""Amber's core benchmarks, side by side in one run: prints a table, rewrites docs/BENCHMARKS.md.

    python bench/run_benchmarks.py [--run-reps 30] [--hydrate-reps 15] [--step-reps 20]
                                   [--prepare-rounds 3] [--resolve-reps 7] [--remote-reps 7]
                                   [--push-reps 5] [--pack-reps 5] [--lock-reps 15] [--ui-reps 7]
                                   [--engine-reps 20] [--airflow-reps 20]
                                   [--only 8,9] [--keep]
                                   [--no-doc]

What is measured, against what, and the targets: bench/BENCHMARKS.head.md, which becomes the
head of docs/BENCHMARKS.md. Everything runs in temporary AMBER_HOMEs. Benchmarks 1-3 are here,
4 and 5 (pipeline steps) in bench_steps.py, 6 and 7 (resolving real repodata) in
bench_resolve.py, 8 and 9 (the remote store) in bench_remote.py, 10 and 11 (pack/unpack vs
conda-pack, gc) in bench_pack.py, 12 and 13 (`amber run` vs `uv run`, by reference) in
bench_hot.py, 14 (`amber lock` vs `uv pip compile`) in bench_lock.py, 15 (warm hydrate vs
`uv venv` + `uv pip sync`) in bench_uvsync.py, 16 and 17 (`amber lock` vs raw rattler, the
scale series) in bench_condalock.py, 18 (`amber audit` vs pip-audit) in bench_audit.py, 19 and
20 (`amber ui`'s envs page over 200 envs, a run of 1,000 step calls, in headless Chromium) in
bench_ui.py, 21 and 22 (a step's round trip inside Prefect and Ray vs the same task without
Amber) in bench_engines.py, 23 (a task in Airflow, `@task.amber` vs `@task`) in
bench_airflow.py. By default all of them run and docs/BENCHMARKS.md is rewritten; ``--only``
runs some of them (3 needs 2, so it brings 2) and leaves the doc alone.
Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import bench_airflow  # noqa: E402  (benchmark 23)
import bench_audit  # noqa: E402  (benchmark 18)
import bench_condalock  # noqa: E402  (benchmarks 16 and 17)
import bench_engines  # noqa: E402  (benchmarks 21 and 22)
import bench_hot  # noqa: E402  (benchmarks 12 and 13)
import bench_lock  # noqa: E402  (benchmark 14)
import bench_pack  # noqa: E402  (benchmarks 10 and 11)
import bench_remote  # noqa: E402  (benchmarks 8 and 9)
import bench_resolve  # noqa: E402  (benchmarks 6 and 7)
import bench_steps  # noqa: E402  (benchmarks 4 and 5)
import bench_ui  # noqa: E402  (benchmarks 19 and 20)
import bench_uvsync  # noqa: E402  (benchmark 15)
import condapkgs  # noqa: E402  (the tests' builder of real conda packages)
from common import Figure, ms, run, spread, timed  # noqa: E402

AMBER = str(Path(sys.executable).with_name("amber"))  # the installed console script
RAW_INSTALL = str(Path(__file__).with_name("raw_install.py"))
DOC_HEAD = Path(__file__).with_name("BENCHMARKS.head.md")
PYPI = ["six", "python-dateutil", "idna", "certifi", "packaging", "attrs", "tomli", "pyparsing"]
N_SYNTHETIC = 32
PASS = ["python", "-c", "pass"]


# -- measuring ----------------------------------------------------------------------------


def run_overhead(label: str, project: Path, spec: str, env: Path, reps: int, target: float):
    """`amber run -f SPEC -- python -c pass` vs ENV/bin/python: one warm-up, then interleaved."""
    amber_cmd = [AMBER, "run", "-f", spec, "--", *PASS]
    direct_cmd = [str(env / "bin/python"), *PASS[1:]]
    timed(amber_cmd, project), timed(direct_cmd, project)  # warm-up
    amber, direct = [], []
    for _ in range(reps):  # alternating, so any drift of the machine hits both alike
        amber.append(timed(amber_cmd, project))
        direct.append(timed(direct_cmd, project))
    notes = [f"Amber {spread(amber)}; direct {spread(direct)}; {reps} runs each after a warm-up."]
    return Figure(label, amber, direct, target, notes=notes)


# -- the synthetic conda channel -----------------------------------------------------------


def synthetic_packages(count: int) -> list[condapkgs.CondaPackage]:
    """``count`` packages in one dependency chain: every third ``noarch: python``, the rest
    linux-64 with 20 data files each, every fourth with a script relocated at install."""
    packages = []
    for i in range(count):
        name, depends = f"bench-pkg{i:02d}", (f"bench-pkg{i - 1:02d} >=1.0",) if i else ()
        if i % 3 == 0:
            module = f"bench_pkg{i:02d}"
            site = {f"{module}/m{j}.py": f"def f():\n    return {j}\n".encode() for j in range(8)}
            site[f"{module}/__init__.py"] = f"VALUE = {i}\n".encode()
            site.update(condapkgs.python_dist_info(name, "1.0", site))
            files = {f"site-packages/{p}": data for p, data in site.items()}
            packages.append(condapkgs.CondaPackage(
                name, "1.0", "pyh_0", subdir="noarch", noarch="python",
                depends=("python", *depends), files=files,
            ))  # fmt: skip
            continue
        files = {f"share/{name}/d{j:02d}.txt": f"{name} {j}\n".encode() * 200 for j in range(20)}
        prefix_files = {}
        if i % 4 == 1:
            files[f"bin/{name}"] = f"#!/bin/sh\necho {condapkgs.PLACEHOLDER}\n".encode()
            prefix_files[f"bin/{name}"] = "text"
        packages.append(condapkgs.CondaPackage(
            name, "1.0", depends=depends, files=files, prefix_files=prefix_files,
            fmt=".tar.bz2" if i % 5 == 0 else ".conda",
        ))  # fmt: skip
    return packages


# The conda part of 2's env (and all of 8's and 9's): the whole chain, and the test set's.
CONDA = ["python", f"bench-pkg{N_SYNTHETIC - 1:02d}", "footool", "greetlib", "datafiles"]


def write_mixed_project(project: Path, channel: str) -> None:
    """The channel's packages (plus the test set's) and real PyPI ones, in an environment.yml."""
    lines = ["name: bench-mixed", "channels:", f"  - {channel}", "dependencies:"]
    lines += [f"  - {s}" for s in CONDA] + ["  - pip:"] + [f"      - {p}" for p in PYPI]
    project.mkdir()
    (project / "environment.yml").write_text("\n".join(lines) + "\n")


def build_channel(root: Path) -> Path:
    return condapkgs.build_channel(root, [
        condapkgs.host_python_package(),
        *synthetic_packages(N_SYNTHETIC),
        condapkgs.libfoo_package("2.0"),
        condapkgs.footool_package(),  # .tar.bz2, binary prefix file, activate.d script
        condapkgs.greetlib_package(),  # noarch: python with an entry point
        condapkgs.datafiles_package(),  # noarch: generic
    ])  # fmt: skip


def scale_channel(root: Path, count: int) -> tuple[Path, list[str]]:
    """17's hydrate side: a channel of the synthetic chain of ``count`` packages (and the
    test python), and the specs that ask for all of it."""
    packages = [condapkgs.host_python_package(), *synthetic_packages(count)]
    return condapkgs.build_channel(root, packages), ["python", f"bench-pkg{count - 1:02d}"]


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative, without Amber's own ``.amber/``."""
    paths = (p.relative_to(root) for p in root.rglob("*"))
    return {str(p) for p in paths if p.parts[0] != ".amber"}


# -- the benchmarks --------------------------------------------------------------------------


def bench_run(work: Path, reps: int) -> Figure:
    """1. `amber run` on an existing PyPI-only env vs the env's own python."""
    project = work / "pypi-only"
    project.mkdir()
    (project / "requirements.txt").write_text("six\n")
    env = Path(run([AMBER, "install", "-q", "-f", "requirements.txt"], project).strip())
    label = "1. `amber run` on an existing env (requirements.txt)"
    return run_overhead(label, project, "requirements.txt", env, reps, target=60)


def bench_hydrate(work: Path, channel: condapkgs.ServedDirectory, reps: int) -> tuple[Figure, Path]:
    """2. `amber install -f amber.lock` from a warm cache vs rattler.install + uv pip install."""
    from amber._platform import host_platform
    from amber.lock import Lock

    project, home = work / "mixed", Path(os.environ["AMBER_HOME"])
    write_mixed_project(project, channel)
    run([AMBER, "lock", "-q", "-f", "environment.yml"], project)
    lock = Lock.read(project / "amber.lock")
    packages = lock.for_platform(host_platform())

    def raw(name: str, *flags: str) -> list[str]:
        prefix = home / "raw" / name  # beside the caches: both hardlink alike
        return [sys.executable, RAW_INSTALL, str(project / "amber.lock"), host_platform(),
                str(prefix), str(home), *flags]  # fmt: skip

    api = ["-c", "import sys; from amber.hydrate import hydrate; from amber.lock import Lock; "
           "from amber.store import Store; hydrate(Lock.read(sys.argv[1]), Store())"]  # fmt: skip
    steps = {
        "amber": [AMBER, "install", "-f", "amber.lock"],
        "raw": raw("raw"),
        "online": raw("online", "--online"),
        "api": [sys.executable, *api, "amber.lock"],
    }
    # Warm every cache (conda archives, wheels, the OS's page cache) once each way.
    env = Path(run([AMBER, "install", "-q", "-f", "amber.lock"], project).strip())
    run(steps["raw"]), run(steps["online"])
    samples: dict[str, list[float]] = {name: [] for name in steps}
    seen = len(channel.requests)
    for i in range(reps):  # the order flips each round: no way is always first after a pause
        for name in list(steps)[:: 1 if i % 2 == 0 else -1]:
            # Each starts from its previous result removed, just before it is timed.
            if name in ("amber", "api"):
                run([AMBER, "env", "rm", lock.full_id], project)
            else:
                shutil.rmtree(home / "raw" / name)
            samples[name].append(timed(steps[name], project))
    requests = len(channel.requests) - seen
    # Untimed checks: both ways give the same files, the env works, the cache was warm enough
    # to hydrate with the network cut off (an unreachable proxy for all but loopback).
    same = "yes" if tree(env) == tree(home / "raw" / "raw") else "**NO**"
    run([str(env / "bin/python"), "-c", "import dateutil, attrs, greetlib, bench_pkg30"])
    run([AMBER, "env", "rm", lock.full_id], project)
    dead = {k: "http://127.0.0.1:9" for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
    cut_off = subprocess.run([AMBER, "install", "-q", "-f", "amber.lock"], cwd=project,
                             env={**os.environ, **dead, "NO_PROXY": "127.0.0.1,localhost"},
                             capture_output=True).returncode == 0  # fmt: skip
    files = sum(len(names) for _, _, names in os.walk(env))
    med = {k: statistics.median(v) for k, v in samples.items()}
    paired = [a / r for a, r in zip(samples["amber"], samples["raw"], strict=True)]
    label = (f"2. hydrate from a warm cache ({len(packages.conda)} conda + "
             f"{len(packages.pypi)} PyPI packages, {files} files)")  # fmt: skip
    notes = [
        f"{reps} rounds. Amber (`amber install -f amber.lock`, CLI) {spread(samples['amber'])}; "
        f"raw (`rattler.install` + `uv pip install --offline`) {spread(samples['raw'])}.",
        f"Amber - raw: {ms(med['amber'] - med['raw']):.0f} ms. "
        f"Median of the {reps} per-round ratios Amber / raw: {statistics.median(paired):.2f}x.",
        f"Raw without `--offline` (uv revalidates cached wheels with PyPI): median "
        f"{ms(med['online']):.0f} ms, Amber / that = {med['amber'] / med['online']:.2f}x.",
        f"`amber.hydrate.hydrate()` in a fresh interpreter, no CLI: median {ms(med['api']):.0f} "
        f"ms, {med['api'] / med['raw']:.2f}x raw.",
        f"Requests to the conda channel during the timed rounds: {requests} (none needed). "
        f"Amber's env and the raw prefix hold the same files (but `.amber/`): {same}. "
        f"Amber hydrates it with the network cut off: {'yes' if cut_off else '**NO**'}.",
    ]
    return Figure(label, samples["amber"], samples["raw"], 1.3, True, notes), env


def bench_reuse(work: Path, env: Path, reps: int) -> Figure:
    """3. The second `amber run -f environment.yml` of the locked spec vs the env's python."""
    project = work / "mixed"
    first = timed([AMBER, "run", "-f", "environment.yml", "--", *PASS], project)
    label = "3. second `amber run` of a locked spec (environment.yml, the env of 2)"
    figure = run_overhead(label, project, "environment.yml", env, reps, target=100)
    figure.notes.append(
        f"The first run (spec not seen before: reads it, checks the `amber.lock` beside it, "
        f"finds the env, remembers the spec's digest) took {ms(first):.0f} ms."
    )
    return figure


# -- reporting ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "?"
    if os.path.exists("/proc/cpuinfo"):
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                 if line.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    return (f"{platform.system()} {platform.machine()}, nproc {os.cpu_count()} ({cpu}), "
            f"Python {platform.python_version()}, py-rattler {version('py-rattler')}, "
            f"uv {version('uv')}, amber {version('amber-env')}")  # fmt: skip


def render(figures: list[Figure]) -> str:
    lines = ["| benchmark | Amber (median) | baseline (median) | overhead | target | result |",
             "| --- | ---: | ---: | ---: | --- | --- |"]  # fmt: skip
    lines += ["| " + " | ".join(f.row()) + " |" for f in figures]
    lines.append("")
    for f in figures:
        lines.append(f"- {f.label.split(' ', 1)[0]} " + "\n  ".join(f.notes))
    return "\n".join(lines) + "\n"


N_BENCHMARKS = 23


def parse_only(text: str | None) -> set[int]:
    """``--only 2,8-9`` -> {2, 8, 9}; all of them by default. 3 reuses 2's env, so brings 2."""
    if not text:
        return set(range(1, N_BENCHMARKS + 1))
    only: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        only.update(range(int(first), int(last or first) + 1))
    if not only <= set(range(1, N_BENCHMARKS + 1)):
        sys.exit(f"--only: benchmarks are numbered 1-{N_BENCHMARKS}, not {text}")
    return only | ({2} if 3 in only else set())


def numbered(figure: Figure) -> tuple[int, str]:
    """The sort key of a figure: ``10b. ...`` -> (10, "b"), so 10 comes after 9."""
    match = re.match(r"(\d+)(\w*)\.", figure.label)
    return (int(match[1]), match[2]) if match else (0, figure.label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-reps", type=int, default=30)
    parser.add_argument("--hydrate-reps", type=int, default=15)
    parser.add_argument("--step-reps", type=int, default=20)
    parser.add_argument("--prepare-rounds", type=int, default=3)
    parser.add_argument("--resolve-reps", type=int, default=7)
    parser.add_argument("--remote-reps", type=int, default=7, help="rounds of 8")
    parser.add_argument("--push-reps", type=int, default=5, help="rounds of 9")
    parser.add_argument("--pack-reps", type=int, default=5, help="rounds of 10")
    parser.add_argument("--lock-reps", type=int, default=15, help="rounds of 14 and 16")
    parser.add_argument("--scale-reps", type=int, default=3, help="rounds of 17 per size")
    parser.add_argument("--audit-reps", type=int, default=5, help="rounds of 18")
    parser.add_argument("--ui-reps", type=int, default=7, help="page loads of 19 and 20")
    parser.add_argument("--engine-reps", type=int, default=20, help="calls of 21 and 22")
    parser.add_argument("--airflow-reps", type=int, default=20, help="task pairs of 23")
    parser.add_argument("--only", metavar="N,M-K", help="run only these benchmarks (no doc)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--no-doc", action="store_true", help="leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    only = parse_only(args.only)
    started, load = time.perf_counter(), os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="amber-bench-"))
    os.environ["AMBER_HOME"] = str(work / "home")  # every subprocess inherits it
    # PYTHONDONTWRITEBYTECODE: an installed Amber has its bytecode written (pip compiles it);
    # without it every `amber` subprocess would compile its modules again.
    for key in (
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "PYTHONPATH",
        "AMBER_REMOTE",
        "PYTHONDONTWRITEBYTECODE",
    ):
        os.environ.pop(key, None)
    print(f"working in {work}", file=sys.stderr)
    figures: list[Figure] = []
    try:
        if only & {1, 2, 3, 8, 9}:
            with condapkgs.serve_directory(build_channel(work / "channel")) as channel:
                if 1 in only:
                    figures.append(bench_run(work, args.run_reps))
                if 2 in only:
                    hydrate, env = bench_hydrate(work, channel, args.hydrate_reps)
                    figures.append(hydrate)
                if 3 in only:
                    figures.append(bench_reuse(work, env, args.run_reps))
                if only & {8, 9}:
                    figures += bench_remote.bench_remote(
                        work, channel, CONDA, args.remote_reps, args.push_reps, only
                    )
        if 4 in only:
            figures.append(bench_steps.bench_step_call(work, args.step_reps))
        if 5 in only:
            figures.append(bench_steps.bench_prepare(work, args.prepare_rounds))
        clean_env = bench_resolve.without_pyenv()
        if 6 in only:
            figures.append(bench_resolve.bench_resolve_one(work, args.resolve_reps, clean_env))
        if 7 in only:
            figures.append(bench_resolve.bench_resolve_four(work, args.resolve_reps, clean_env))
        if 10 in only:
            figures += bench_pack.bench_pack(work, args.pack_reps)
        if 11 in only:
            figures.append(bench_pack.bench_gc(work))
        if only & {12, 13}:
            figures += bench_hot.bench_run_hot(work, args.run_reps)
        if 14 in only:
            figures.append(bench_lock.bench_lock_pypi(work, args.lock_reps))
        if 15 in only:
            figures += bench_uvsync.bench_hydrate_pypi(work, args.hydrate_reps)
        if 16 in only:
            figures += bench_condalock.bench_condalock(work, args.lock_reps)
        if 17 in only:
            figures += bench_condalock.bench_scale(work, args.scale_reps, scale_channel)
        if 18 in only:  # and 18b: a solve within a policy, beside one without
            figures.append(bench_audit.bench_audit(work, args.audit_reps))
            figures.append(bench_audit.bench_policy_solve(work, args.audit_reps))
        if only & {19, 20}:
            figures += bench_ui.bench_ui(work, args.ui_reps, only)
        # -- issue 18: steps inside the orchestrators (21 Prefect, 22 Ray) --
        if only & {21, 22}:
            figures += bench_engines.bench_engines(work, args.engine_reps, only)
        # -- issue 18: a task inside Airflow (23) --
        if 23 in only and (airflow := bench_airflow.bench_airflow(work, args.airflow_reps)):
            figures.append(airflow)  # None without Airflow's venv: said, and left out
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    figures.sort(key=numbered)  # 1. ... 9b., 10. ...: the numbered order
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    elapsed = (f"The whole run took {time.perf_counter() - started:.0f} s; 1-minute load average "
               f"{load:.2f} before it, {os.getloadavg()[0]:.2f} after (other work on the machine "
               "widens the spread).")  # fmt: skip
    body = f"{when}; {machine()}.\n\n{render(figures)}\n{elapsed}\n"
    print("\n" + body)
    if not args.no_doc and args.only is None:
        pins = "; ".join(", ".join(env) for env in bench_steps.PINS)
        head = DOC_HEAD.read_text().format(
            n_synthetic=N_SYNTHETIC, pypi=", ".join(PYPI), step_pins=pins,
            resolve_conda=" ".join(bench_resolve.CONDA), resolve_pypi=", ".join(bench_resolve.PYPI),
            resolve_reps=args.resolve_reps, remote_conda=", ".join(CONDA),
            remote_reps=args.remote_reps, push_reps=args.push_reps,
            pack_conda=", ".join(bench_pack.PACK_CONDA), pack_reps=args.pack_reps,
            pack_wheels=", ".join(req for req, _ in bench_pack.WHEELS.values()),
            gc_envs=bench_pack.N_GC_ENVS, gc_old=bench_pack.N_GC_OLD,
            gc_tagged=bench_pack.N_GC_TAGGED, hot_packages=", ".join(bench_hot.PACKAGES),
            lock_conda=" ".join(bench_condalock.CONDA), lock_reps=args.lock_reps,
            scale_reps=args.scale_reps,
            audit_request=", ".join(bench_audit.REQUEST), audit_reps=args.audit_reps,
            ui_envs=bench_ui.N_ENVS, ui_calls=f"{bench_ui.N_CALLS:,}", ui_reps=args.ui_reps,
            engine_reps=args.engine_reps,
        )  # fmt: skip
        (ROOT / "docs" / "BENCHMARKS.md").write_text(f"{head}## Latest run\n\n{body}")
        print(f"wrote {ROOT / 'docs' / 'BENCHMARKS.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
