"""Benchmark 15: warm hydrate of a PyPI-only env against uv's own `uv venv` + `uv pip sync`.

15. `amber install -f amber.lock` of the issue's 10-package PyPI env (``bench_hot.PACKAGES``),
    just after `amber env rm` of it (every cache warm), against `uv venv DIR --python PY` then
    `uv pip sync --require-hashes --python DIR/bin/python pinned.txt` into a fresh DIR, where
    ``pinned.txt`` is `amber export amber.lock --format requirements` (the same pins and sha256s
    as Amber's lock, `name==version --hash=sha256:...`), with uv's own cache, warmed once.
15b. The same against uv with `--offline` (no revalidation of its cached index pages).

Both sides are whole subprocesses (uv's two timed one after the other), alternating, the order
flipping every round, each starting from its previous result removed (untimed) on the same
filesystem. Figures only: nothing asserts on a time.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench_hot import PACKAGES
from common import Figure, ms, run, spread, timed

AMBER = str(Path(sys.executable).with_name("amber"))
UV = str(Path(sys.executable).with_name("uv"))


def _dists(prefix: Path) -> set[str]:
    """The ``*.dist-info`` directories of an env's site-packages, lower-cased."""
    found = set()
    for site in prefix.glob("lib/python*/site-packages"):
        found |= {p.name.lower() for p in site.glob("*.dist-info")}
    return found


def bench_hydrate_pypi(work: Path, reps: int) -> list[Figure]:
    from amber._platform import host_platform
    from amber._python import find_interpreter
    from amber.lock import Lock

    project = work / "hydrate-pypi"
    project.mkdir()
    (project / "requirements.txt").write_text("".join(f"{p}\n" for p in PACKAGES))
    run([AMBER, "lock", "-q", "-f", "requirements.txt"], project)
    lock = Lock.read(project / "amber.lock")
    run([AMBER, "export", "amber.lock", "--format", "requirements", "-o", "pinned.txt"], project)
    python = str(find_interpreter(lock.spec.python or "3"))  # the one Amber's env gets

    uv_dir = work / "uv-venvs" / "env"  # beside AMBER_HOME (work/home): the same filesystem
    uv_dir.parent.mkdir()
    uv_env = {"UV_CACHE_DIR": str(work / "uv-cache-15"), "UV_NO_PROGRESS": "1"}
    venv = [UV, "venv", "-q", "--python", python, str(uv_dir)]
    sync = [UV, "pip", "sync", "-q", "--require-hashes", "--python", str(uv_dir / "bin/python")]
    sync.append(str(project / "pinned.txt"))

    def uv(offline: bool) -> float:
        shutil.rmtree(uv_dir, ignore_errors=True)
        return timed(venv, project) + timed(sync + (["--offline"] if offline else []), project)

    def amber() -> float:
        run([AMBER, "env", "rm", lock.full_id], project)
        return timed([AMBER, "install", "-q", "-f", "amber.lock"], project)

    saved = {k: os.environ.get(k) for k in uv_env}
    os.environ.update(uv_env)  # timed() passes os.environ on; Amber sets its own UV_CACHE_DIR
    try:
        # Warm every cache (wheels, uv's index pages and interpreter info, the page cache).
        env = Path(run([AMBER, "install", "-q", "-f", "amber.lock"], project).strip())
        uv(False), uv(True), amber()
        sides = {"amber": amber, "uv": lambda: uv(False), "offline": lambda: uv(True)}
        samples: dict[str, list[float]] = {name: [] for name in sides}
        for i in range(reps):
            for name in list(sides)[:: 1 if i % 2 == 0 else -1]:
                samples[name].append(sides[name]())
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    # Untimed checks: the same distributions on both sides, and Amber's env works.
    same = "yes" if _dists(env) == _dists(uv_dir) else f"**NO** ({_dists(env) ^ _dists(uv_dir)})"
    run([str(env / "bin/python"), "-c", "import requests, rich, pydantic, yaml, tabulate"])
    run([AMBER, "env", "rm", lock.full_id], project)
    dead = {k: "http://127.0.0.1:9" for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
    cut_off = subprocess.run([AMBER, "install", "-q", "-f", "amber.lock"], cwd=project,
                             env={**os.environ, **dead}, capture_output=True)  # fmt: skip
    med = {k: statistics.median(v) for k, v in samples.items()}
    paired = [a / u for a, u in zip(samples["amber"], samples["uv"], strict=True)]
    offline = zip(samples["amber"], samples["offline"], strict=True)
    offline_paired = statistics.median(a / o for a, o in offline)
    n = len(lock.for_platform(host_platform()).pypi)
    notes = [
        f"{reps} rounds. Amber (`amber install -f amber.lock` after `amber env rm`) "
        f"{spread(samples['amber'])}; uv (`uv venv` + `uv pip sync --require-hashes`) "
        f"{spread(samples['uv'])}; uv with `--offline` {spread(samples['offline'])}.",
        f"Median of the {reps} per-round ratios Amber / uv: {statistics.median(paired):.2f}x. "
        f"Amber - uv: {ms(med['amber'] - med['uv']):.0f} ms; Amber - uv --offline: "
        f"{ms(med['amber'] - med['offline']):.0f} ms.",
        f"{n} PyPI packages (the 10 asked for and their dependencies), pinned with sha256s in "
        f"`amber export --format requirements` output. Both sides install the same "
        f"distributions: {same}. Amber hydrates it with the network cut off: "
        f"{'yes' if cut_off.returncode == 0 else '**NO**'}.",
    ]
    label = f"15. warm hydrate of a PyPI env ({n} packages) vs `uv venv` + `uv pip sync`"
    offline_label = f"15b. the same vs `uv venv` + `uv pip sync --offline` ({n} packages)"
    return [
        Figure(label, samples["amber"], samples["uv"], 1.0, ratio=True, notes=notes),
        Figure(
            offline_label,
            samples["amber"],
            samples["offline"],
            None,
            ratio=True,
            notes=[
                "uv with `--offline` never asks PyPI whether its cached index pages are current; "
                f"median of the per-round ratios Amber / uv --offline: {offline_paired:.2f}x."
            ],
        ),  # fmt: skip
    ]
