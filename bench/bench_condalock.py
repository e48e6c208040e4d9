"""Benchmarks 16 and 17: `amber lock` of a conda request against raw rattler, and how locks
and hydrates grow with the number of packages (issue 16), run by run_benchmarks.py.

16. `amber lock` (the CLI, a whole subprocess) of the issue's request on the real 2018
    defaults snapshot as a ``file://`` channel, linux-64, against ``resolve_driver.py raw`` (a
    whole subprocess too: ``rattler.solve`` with the same channel, specs, subdirs, virtual
    packages and channel priority). Both warm (one untimed run each first). Beside them, the
    same interleaving times ``python -c pass``, ``import rattler`` and the imports of Amber's
    lock path, so the notes can say where Amber's time goes. 16b: conda's classic solver
    (``create --dry-run``) on the same request, when ``AMBER_BENCH_CONDA`` names a conda.
17. Scale: 17a-17d lock requests of the same snapshot that solve to about 10, 50, 150 and
    400 packages (Amber against raw rattler, as 16); 17e-17h hydrate (`amber install -f
    amber.lock` from a warm cache) synthetic channels of 10, 50, 150 and 400 packages against
    ``raw_install.py`` (``rattler.install`` of the same records). Time and peak memory (each
    subprocess's own ``ru_maxrss``) per size, and the growth per doubling of the size.

Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import bench_resolve
from common import Figure, measured, ms, run, spread

HERE = Path(__file__).resolve().parent
AMBER = str(Path(sys.executable).with_name("amber"))
RAW_INSTALL = str(HERE / "raw_install.py")
SNAPSHOT = bench_resolve.SNAPSHOT
PLATFORM = "linux-64"
# The request (16).
CONDA = ["python=3.6", "numpy", "pandas", "scipy", "matplotlib", "jupyter", "bokeh", "dask"]
# 17a-17d: requests on the snapshot that solve to about 10, 50, 150 and 400+ packages. The
# largest: R's `r-essentials` and `r` beside the Python stack, conda-build, perl, gcc and
# more of what the snapshot holds (found by adding names that still add packages).
BIG_EXTRA = [
    "r-essentials", "r", "conda-build", "perl-app-cpanminus", "perl-libwww-perl",
    "perl-graphviz", "gcc", "graphviz", "flask", "boto3", "hypothesis", "s3fs", "gevent",
    "llvmlite", "ibis-framework", "ujson", "nose", "numpydoc", "pympler", "astroid", "babel",
    "coverage", "dill", "libxslt", "redis", "redis-py", "tktable", "r-car", "r-bradleyterry2",
    "r-gistr", "r-rjsonio", "r-rzmq", "r-pryr", "r-chron", "r-catools", "sphinx", "distributed",
    "sqlalchemy", "psycopg2", "cryptography", "python-graphviz",
]  # fmt: skip
SCALE_LOCKS = {
    "a": ["python=3.6"],
    "b": ["python=3.6", "numpy", "pandas", "scipy", "matplotlib"],
    "c": bench_resolve.CONDA,
    "d": [*CONDA, *BIG_EXTRA],
}
SCALE_HYDRATES = {"e": 10, "f": 50, "g": 150, "h": 400}
Sample = tuple[float, int, float]  # seconds, peak bytes, CPU seconds (common.measured)
LOCK = [AMBER, "lock", "-q", "-f", "environment.yml", "-p", PLATFORM]
# What `amber lock -q -f environment.yml` imports (amber.cli._fast: no click).
LOCK_PATH = (
    "amber._early, amber.api.prelock, amber.spec.environment_yml, amber.resolve.conda, "
    "amber.api.files, amber.cli._fast"
)
INSTALL = [AMBER, "install", "-q", "-f"]


def write_project(root: Path, channel: str, conda: Sequence[str]) -> Path:
    """A project with an environment.yml asking for ``conda`` from ``channel`` alone."""
    root.mkdir(parents=True)
    lines = ["channels:", f"  - {channel}", "dependencies:", *(f"  - {s}" for s in conda)]
    (root / "environment.yml").write_text("\n".join(lines) + "\n")
    return root


def interleaved(
    commands: dict[str, tuple[list[str], Path | None]], reps: int, warm: bool = True
) -> dict[str, list[Sample]]:
    """(seconds, peak bytes) of each command, ``reps`` times, alternating, the order flipping
    every round, after one untimed run each (the warm caches)."""
    if warm:
        for cmd, cwd in commands.values():
            measured(cmd, cwd)
    out: dict[str, list[Sample]] = {name: [] for name in commands}
    for i in range(reps):
        for name in list(commands)[:: 1 if i % 2 == 0 else -1]:
            cmd, cwd = commands[name]
            out[name].append(measured(cmd, cwd))
    return out


def secs(samples: list[Sample]) -> list[float]:
    return [s for s, _, _ in samples]


def peak_mib(samples: list[Sample]) -> float:
    return statistics.median(b for _, b, _ in samples) / 2**20


def cpu(samples: list[Sample]) -> float:
    return statistics.median(c for _, _, c in samples)


def conda_records(lock_path: Path) -> list[str]:
    from amber.lock import Lock

    conda = Lock.read(lock_path).platforms[PLATFORM].conda
    return sorted(f"{c.name}={c.version}={c.build}" for c in conda)


def raw_records(config: Path) -> list[str]:
    out = json.loads(run([sys.executable, bench_resolve.DRIVER, "raw", str(config)]))
    return out["results"][0]["conda"]


def lock_sides(work: Path, name: str, conda: list[str]) -> tuple[dict, Path, Path]:
    """The commands of one lock comparison: Amber's CLI in a project, the raw driver."""
    config = bench_resolve.write_config(work, name, SNAPSHOT, [PLATFORM], conda, [])
    channel = json.loads(config.read_text())["channel"]  # the file:// URL the Spec made
    project = write_project(work / f"lock-{name}", channel, conda)
    raw = [sys.executable, bench_resolve.DRIVER, "raw", str(config)]
    return {"amber": (LOCK, project), "raw": (raw, None)}, project, config


def bench_condalock(work: Path, reps: int) -> list[Figure]:
    """16 (and 16b): `amber lock` of the issue's request vs raw rattler (vs conda classic)."""
    commands, project, config = lock_sides(work, "16", CONDA)
    py = sys.executable
    commands |= {
        "python": ([py, "-c", "pass"], None),
        "rattler": ([py, "-c", "import asyncio, rattler"], None),
        "imports": ([py, "-c", f"import {LOCK_PATH}"], None),
    }
    got = interleaved(commands, reps)
    amber, raw = secs(got["amber"]), secs(got["raw"])
    records = conda_records(project / "amber.lock")
    same = "yes" if records == raw_records(config) else "**NO**"
    med = {k: statistics.median(secs(v)) for k, v in got.items()}
    paired = [a / r for a, r in zip(amber, raw, strict=True)]
    label = f"16. `amber lock` of the issue's conda request ({len(records)} packages)"
    notes = [
        f"`{' '.join(CONDA)}`, linux-64. {reps} rounds after a warm-up each, alternating. "
        f"Amber {spread(amber)}; raw {spread(raw)}. Median of the per-round ratios: "
        f"{statistics.median(paired):.2f}x; Amber - raw {ms(med['amber'] - med['raw']):.0f} ms. "
        f"Peak memory: Amber {peak_mib(got['amber']):.0f} MiB, raw {peak_mib(got['raw']):.0f} MiB.",
        f"Where the time goes (CPU time, user + system, medians of whole processes in the "
        f"same rounds: steadier than wall time on a shared machine): `python -c pass` "
        f"{ms(cpu(got['python'])):.0f} ms; `import asyncio, rattler` "
        f"{ms(cpu(got['rattler'])):.0f} ms; the imports of Amber's lock path (`{LOCK_PATH}`, "
        f"rattler and asyncio included) {ms(cpu(got['imports'])):.0f} ms; `amber lock` "
        f"{ms(cpu(got['amber'])):.0f} ms; raw {ms(cpu(got['raw'])):.0f} ms (Amber / raw "
        f"{cpu(got['amber']) / cpu(got['raw']):.2f}x). So Amber's imports add "
        f"{ms(cpu(got['imports']) - cpu(got['rattler'])):.0f} ms, and the rest of Amber's work "
        f"(spec, settings, solve, writing the lock and keeping it in the store) takes "
        f"{ms(cpu(got['amber']) - cpu(got['imports'])):.0f} ms against the raw script's "
        f"{ms(cpu(got['raw']) - cpu(got['rattler'])):.0f} ms for its solve.",
        f"Both sides solved the same {len(records)} records: {same}.",
    ]
    figures = [Figure(label, amber, raw, 1.3, True, notes)]
    conda = os.environ.get("AMBER_BENCH_CONDA")
    if not conda:
        figures[0].notes.append(
            "16b (conda's classic solver) not run: set `AMBER_BENCH_CONDA` to a conda executable."
        )
        return figures
    figures.append(bench_conda_classic(work, conda, config, amber, max(2, reps // 3)))
    return figures


def bench_conda_classic(
    work: Path, conda: str, config: Path, amber: list[float], reps: int
) -> Figure:
    """16b: `conda create --dry-run` with the classic solver, on the same channel alone."""
    channel = json.loads(config.read_text())["channel"]
    env = {**os.environ, "CONDA_SUBDIR": PLATFORM, "CONDA_PKGS_DIRS": str(work / "conda-pkgs"),
           "CONDA_SOLVER": "classic"}  # fmt: skip
    cmd = [conda, "create", "--dry-run", "--json", "-n", "amber-bench-16b", "--override-channels",
           "-c", channel, "--solver", "classic", *CONDA]  # fmt: skip
    measured(cmd, None, env)  # warm: conda's own repodata cache
    times = [measured(cmd, None, env)[0] for _ in range(reps)]
    label = "16b. the request of 16, conda's classic solver (`create --dry-run`)"
    notes = [f"{reps} runs after a warm-up: conda {spread(times)}; Amber's column is 16's runs."]
    return Figure(label, amber, times, None, True, notes)


def growth(sizes: list[int], values: list[float]) -> str:
    """How a measure grows per doubling of the size, between neighbouring sizes."""
    parts = []
    points = list(zip(sizes, values, strict=True))
    for (n0, v0), (n1, v1) in zip(points, points[1:], strict=False):
        per = (v1 / v0) ** (1 / math.log2(n1 / n0)) if v0 > 0 and n1 > n0 else float("nan")
        parts.append(f"{n0}->{n1}: {per:.2f}x")
    return ", ".join(parts)


def bench_scale(
    work: Path, reps: int, build_channel: Callable[[Path, int], tuple[Path, list[str]]]
) -> list[Figure]:
    """17a-17h: locks of 4 sizes against raw rattler, hydrates of 4 sizes against
    rattler.install. ``build_channel(root, n)``: a channel of about ``n`` packages, and the
    conda specs that ask for all of them."""
    figures, lock_rows, hydrate_rows = [], [], []
    for key, conda in SCALE_LOCKS.items():
        commands, project, _ = lock_sides(work, f"17{key}", list(conda))
        got = interleaved(commands, reps)
        n = len(conda_records(project / "amber.lock"))
        lock_rows.append((n, got))
        label = f"17{key}. `amber lock` of {n} packages (defaults-2018)"
        notes = [
            f"{len(conda)} specs (`{' '.join(conda)[:80]}`...), {reps} rounds. Amber "
            f"{spread(secs(got['amber']))}, peak {peak_mib(got['amber']):.0f} MiB; raw "
            f"{spread(secs(got['raw']))}, peak {peak_mib(got['raw']):.0f} MiB."
        ]
        figures.append(Figure(label, secs(got["amber"]), secs(got["raw"]), None, True, notes))
    home = Path(os.environ["AMBER_HOME"])
    for key, size in SCALE_HYDRATES.items():
        channel, specs = build_channel(work / f"channel-17{key}", size)
        project = write_project(work / f"hydrate-17{key}", channel.as_uri(), specs)
        run(LOCK, project)
        from amber.lock import Lock

        lock = Lock.read(project / "amber.lock")
        n = len(lock.platforms[PLATFORM].conda)
        prefix = home / "raw-17" / key
        env = Path(run([*INSTALL, "amber.lock"], project).strip())
        raw_cmd = [sys.executable, RAW_INSTALL, str(project / "amber.lock"), PLATFORM,
                   str(prefix), str(home)]  # fmt: skip
        run(raw_cmd)  # warm: both caches hold every archive, extracted
        got: dict[str, list[Sample]] = {"amber": [], "raw": []}
        for i in range(reps):
            for side in ("amber", "raw")[:: 1 if i % 2 == 0 else -1]:
                if side == "amber":
                    run([AMBER, "env", "rm", lock.full_id], project)
                    got[side].append(measured([*INSTALL, "amber.lock"], project))
                else:
                    shutil.rmtree(prefix)
                    got[side].append(measured(raw_cmd))
        files = sum(len(names) for _, _, names in os.walk(env))
        hydrate_rows.append((n, got))
        label = f"17{key}. hydrate {n} conda packages ({files} files) from a warm cache"
        notes = [f"Synthetic channel (`tests/condapkgs.py`), {reps} rounds. Amber (`amber install "
                 f"-f amber.lock`) {spread(secs(got['amber']))}, peak "
                 f"{peak_mib(got['amber']):.0f} MiB; raw (`rattler.install`, `raw_install.py`) "
                 f"{spread(secs(got['raw']))}, peak {peak_mib(got['raw']):.0f} MiB."]  # fmt: skip
        figures.append(Figure(label, secs(got["amber"]), secs(got["raw"]), None, True, notes))
    figures[0].notes.append(_growth_note("Locks", lock_rows))
    figures[len(SCALE_LOCKS)].notes.append(_growth_note("Hydrates", hydrate_rows))
    return figures


def _growth_note(what: str, rows: list[tuple[int, dict[str, list[Sample]]]]) -> str:
    sizes = [n for n, _ in rows]
    parts = [f"{what} of {', '.join(map(str, sizes))} packages, growth per doubling of the size"]
    for side in ("amber", "raw"):
        times = [statistics.median(secs(got[side])) for _, got in rows]
        peaks = [peak_mib(got[side]) for _, got in rows]
        parts.append(f"{side}: time {growth(sizes, times)}; peak memory {growth(sizes, peaks)}")
    return "; ".join(parts) + " (1.00x: flat, 2.00x: linear)."
