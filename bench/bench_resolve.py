"""Benchmarks 6 and 7: resolving a data-science request on real 2018 repodata (issue 4), run by
run_benchmarks.py beside 1-5.

6. Amber's ``resolve`` of ~40 conda specs and 3 PyPI requirements for linux-64, against the
   same work done with the raw engines (``rattler.solve``, then ``uv pip compile``).
7. The same request for 4 platforms in one ``resolve`` (platforms concurrently), against 4
   ``resolve`` calls of one platform each, one after the other.

Every measured resolve runs in a fresh process of its own (``resolve_driver.py``), the sides
alternating, after one warm-up each. Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from common import Figure, ms, spread

HERE = Path(__file__).resolve().parent
DRIVER = str(HERE / "resolve_driver.py")
# Real repodata (metadata only) of Anaconda's defaults channel of 2017-18: linux-64 + noarch.
SNAPSHOT = Path(os.environ.get("AMBER_BENCH_REPODATA", "/work/shared/data/repodata/defaults-2018"))
# 40 top-level conda specs, all in the snapshot (it has no scikit-learn, h5py, numexpr...).
CONDA = [
    "python=3.6", "numpy", "pandas", "scipy", "matplotlib", "jupyter", "notebook", "ipython",
    "ipywidgets", "qtconsole", "bokeh", "dask", "distributed", "cloudpickle", "toolz",
    "cytoolz", "requests", "sqlalchemy", "psycopg2", "pyyaml", "click", "flask", "jinja2",
    "psutil", "sphinx", "pytz", "python-dateutil", "boto3", "s3fs", "cryptography", "tornado",
    "pyzmq", "llvmlite", "beautifulsoup4", "ujson", "hypothesis", "coverage", "gevent",
    "mkl_random", "python-graphviz",
]  # fmt: skip
# Small PyPI packages: tabulate 0.9 needs Python 3.7, so 0.8.10; six is also a conda package
# (Amber leaves it to conda); tqdm pulls importlib-resources and zipp on Python 3.6.
PYPI = ["tabulate==0.8.10", "six", "tqdm"]
PLATFORMS = ["linux-64", "osx-64", "osx-arm64", "win-64"]


def four_platform_channel(root: Path) -> Path:
    """The snapshot's linux-64 records copied under osx-64, osx-arm64 and win-64 (their
    ``subdir`` rewritten), beside its own linux-64 and noarch: a channel with four platforms."""
    data = json.loads((SNAPSHOT / "linux-64" / "repodata.json").read_text())
    for subdir in PLATFORMS:
        data["info"]["subdir"] = subdir
        for key in ("packages", "packages.conda"):
            for record in data.get(key, {}).values():
                record["subdir"] = subdir
        (root / subdir).mkdir(parents=True)
        (root / subdir / "repodata.json").write_text(json.dumps(data))
    shutil.copytree(SNAPSHOT / "noarch", root / "noarch")
    return root


def write_config(
    work: Path,
    name: str,
    channel: Path,
    platforms: list[str],
    conda: list[str] = CONDA,
    pypi: list[str] = PYPI,
) -> Path:
    """The driver's input: the canonical request, and what Amber derives from its defaults for
    the raw side (virtual packages, uv's --python-platform, the macOS deployment target)."""
    from amber.resolve.pypi import uv_python_platform
    from amber.resolve.virtual import virtual_packages
    from amber.resolve.wheels import macos_version
    from amber.spec import Spec

    spec = Spec.create(conda=conda, pypi=pypi, channels=[str(channel)], platforms=platforms)
    home = work / "resolve-home"  # one set of caches for every side and round
    config = {
        "channel": spec.channels[0],
        "conda": list(spec.conda),
        "pypi": list(spec.pypi),
        "platforms": platforms,
        "virtual": {p: virtual_packages(p, {}) for p in platforms},
        "uv_platform": {p: uv_python_platform(p, {}) for p in platforms},
        "macos": ".".join(map(str, macos_version({}))),
        "repodata": str(home / "repodata"),
        "uv": str(home / "uv"),
        "pkgs": str(home / "pkgs"),
    }
    path = work / f"resolve-{name}.json"
    path.write_text(json.dumps(config, indent=1))
    return path


def side(mode: str, config: Path, env: dict[str, str] | None) -> dict:
    """One resolve in a fresh driver process: its JSON report."""
    proc = subprocess.run([sys.executable, DRIVER, mode, str(config)], env=env,
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"resolve_driver.py {mode} {config} failed:\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout)


def rounds(config: Path, modes: list[str], reps: int, env: dict[str, str] | None = None):
    """One warm-up of each mode, then ``reps`` rounds, the order flipping every round."""
    for mode in modes:
        side(mode, config, env)
    out: dict[str, list[dict]] = {mode: [] for mode in modes}
    for i in range(reps):
        for mode in modes[:: 1 if i % 2 == 0 else -1]:
            out[mode].append(side(mode, config, env))
    return out


def without_pyenv() -> dict[str, str] | None:
    """The environment with pyenv's directories off PATH (None if there are none)."""
    path = os.environ.get("PATH", "").split(os.pathsep)
    kept = [p for p in path if "pyenv" not in p]
    return {**os.environ, "PATH": os.pathsep.join(kept)} if kept != path else None


def walls(outs: list[dict]) -> list[float]:
    return [o["wall"] for o in outs]


def med(values) -> float:
    return statistics.median(list(values))


def phase(out: dict, what: str) -> tuple[float, float, list[float]]:
    """(summed busy time, wall from first start to last end, each call) of one kind of call."""
    spans = [(s, e) for kind, s, e in out["log"] if kind == what]
    if not spans:
        return 0.0, 0.0, []
    busy = [e - s for s, e in spans]
    return sum(busy), max(e for _, e in spans) - min(s for s, _ in spans), busy


def phases_text(outs: list[dict], kinds: dict[str, str], concurrent: bool) -> str:
    """Medians over the rounds of each phase: its wall time (and overlap) or its summed time."""
    parts = []
    for kind, name in kinds.items():
        got = [phase(o, kind) for o in outs]
        calls = [c for _, _, each in got for c in each]
        if not calls:
            continue
        busy, wall = med(g[0] for g in got), med(g[1] for g in got)
        text = f"{name} {ms(wall if concurrent else busy):.0f} ms"
        if concurrent and len(calls) > len(outs):
            text += f" ({busy / wall:.1f} in flight on average)"
        if len(calls) > len(outs):
            text += f", one call {ms(min(calls)):.0f}-{ms(max(calls)):.0f} ms"
        parts.append(text)
    cores = med(o["cpu"] / o["wall"] for o in outs)
    parts.append(f"CPU (process + children) {cores:.2f}x the wall time")
    return ", ".join(parts)


KINDS = {"solve": "`rattler.solve` (repodata loading included)", "dists": "`provided_dists`",
         "uv": "`uv pip compile`"}  # fmt: skip


def same_results(amber: dict, raw: dict) -> bool:
    """Both sides solved the same conda records, and uv's picks but the names conda provides
    are Amber's PyPI packages."""
    ok = True
    for a, r in zip(amber["results"], raw["results"], strict=True):
        provided = set(a["provided"])
        raw_pypi = [p for p in r["pypi"] if p.split("==")[0] not in provided]
        ok &= a["conda"] == r["conda"] and a["pypi"] == raw_pypi
    return ok


def bench_resolve_one(work: Path, reps: int, clean_env: dict[str, str] | None) -> Figure:
    """6. Amber's resolve for linux-64 vs rattler.solve + uv pip compile."""
    config = write_config(work, "linux-64", SNAPSHOT, ["linux-64"])
    sides = rounds(config, ["amber", "raw"], reps)
    amber, raw = sides["amber"], sides["raw"]
    first = amber[0]["results"][0]
    same = all(same_results(a, r) for a, r in zip(amber, raw, strict=True))
    label = (f"6. resolve {len(CONDA)} conda specs + {len(PYPI)} PyPI on defaults-2018, linux-64 "
             f"({len(first['conda'])} conda + {len(first['pypi'])} PyPI packages)")  # fmt: skip
    paired = [a["wall"] / r["wall"] for a, r in zip(amber, raw, strict=True)]
    notes = [
        f"{reps} rounds, each side in a fresh process, alternating, after a warm-up each. "
        f"Amber {spread(walls(amber))}; raw {spread(walls(raw))}. Median of the per-round ratios: "
        f"{med(paired):.2f}x. Amber - raw: {ms(med(walls(amber)) - med(walls(raw))):.0f} ms.",
        f"Where the time goes (medians). Amber: {phases_text(amber, KINDS, False)}. "
        f"Raw: {phases_text(raw, KINDS, False)}.",
        f"Both sides solved the same {len(first['conda'])} conda records, and uv's picks but the "
        f"PyPI names conda provides ({', '.join(first['provided'][:4])}... "
        f"{len(first['provided'])} in all) are Amber's PyPI packages "
        f"({', '.join(first['pypi'])}): {'yes' if same else '**NO**'}. Building the `Spec` "
        f"(untimed) took {ms(med(o['spec'] for o in amber)):.0f} ms.",
    ]
    if clean_env:
        clean = rounds(config, ["amber", "raw"], reps, clean_env)
        a, r = med(walls(clean["amber"])), med(walls(clean["raw"]))
        notes.append(
            f"With pyenv's shims off PATH (uv looks for an interpreter of the target version "
            f"along PATH, and each pyenv shim it tries is a shell script): Amber {ms(a):.0f} ms, "
            f"raw {ms(r):.0f} ms, **{a / r:.2f}x**; uv pip compile "
            f"{ms(med(phase(o, 'uv')[0] for o in clean['amber'])):.0f} ms in Amber's runs."
        )
    return Figure(label, walls(amber), walls(raw), 1.3, True, notes)


def bench_resolve_four(work: Path, reps: int, clean_env: dict[str, str] | None) -> Figure:
    """7. One resolve of 4 platforms (concurrently) vs 4 resolves of 1 platform in turn."""
    channel = four_platform_channel(work / "channel-4-platforms")
    config = write_config(work, "4-platforms", channel, PLATFORMS)
    sides = rounds(config, ["amber", "amber-seq"], reps)
    conc, seq = sides["amber"], sides["amber-seq"]
    sizes = ", ".join(f"{r['platform']} {len(r['conda'])} + {len(r['pypi'])}"
                      for r in conc[0]["results"])  # fmt: skip
    same = all(c["results"] == s["results"] for c, s in zip(conc, seq, strict=True))
    label = f"7. resolve the request of 6 for {len(PLATFORMS)} platforms, concurrently vs in turn"
    paired = [c["wall"] / s["wall"] for c, s in zip(conc, seq, strict=True)]
    notes = [
        f"{reps} rounds, each side in a fresh process, alternating, after a warm-up each. "
        f"Concurrent (one `resolve`) {spread(walls(conc))}; sequential (4 `resolve`s in one "
        f"process) {spread(walls(seq))}. Median of the per-round ratios: {med(paired):.2f}x.",
        f"Conda + PyPI packages per platform: {sizes}; both ways give the same: "
        f"{'yes' if same else '**NO**'}.",
        f"Where the time goes (medians). Concurrent: {phases_text(conc, KINDS, True)}. "
        f"Sequential (summed over the 4 calls): {phases_text(seq, KINDS, False)}. "
        f"The machine has {os.cpu_count()} cores.",
    ]
    if clean_env:
        clean = rounds(config, ["amber", "amber-seq"], reps, clean_env)
        c, s = med(walls(clean["amber"])), med(walls(clean["amber-seq"]))
        notes.append(
            f"With pyenv's shims off PATH (see 6): concurrent {ms(c):.0f} ms, sequential "
            f"{ms(s):.0f} ms, **{c / s:.2f}x**. Concurrent: "
            f"{phases_text(clean['amber'], KINDS, True)}. Sequential: "
            f"{phases_text(clean['amber-seq'], KINDS, False)}."
        )
    return Figure(label, walls(conc), walls(seq), 0.7, True, notes)


def bench_resolve(work: Path, reps: int) -> list[Figure]:
    clean_env = without_pyenv()
    return [bench_resolve_one(work, reps, clean_env), bench_resolve_four(work, reps, clean_env)]
