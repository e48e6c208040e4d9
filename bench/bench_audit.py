"""Benchmark 18: `amber audit` of a ~150-package lock against the PyPA's OSV records, side
by side with `pip-audit` on the same PyPI packages; 18b: resolving within a policy (bans, a
cooldown, license rules) against resolving without one, on the biggest repodata snapshot.

pip-audit reads no local advisory files: its offline form here is its OSV service pointed
(``--osv-url``) at a loopback server on 127.0.0.1 that answers ``/v1/query`` from the same
records (matched by Amber's own reader, in the server's process, so pip-audit's time includes
that matching too). Both runs are whole processes, start-up included, alternating after a
warm-up; both must report the same (package, advisory) pairs, or the figure says so.

    python bench/bench_audit.py [--reps 5]      # or through run_benchmarks.py --only 18
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from common import Figure, run, spread

from amber.inspect.audit import OsvDatabase
from amber.lock import Lock
from amber.policy import read_policy
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec

ROOT = Path(__file__).resolve().parents[1]
OSV_DIR = ROOT.parent / "shared" / "data" / "advisories" / "pypa-osv"
SNAPSHOT = ROOT.parent / "shared" / "data" / "repodata" / "defaults-2018"
# 18b: the data-science request of the snapshot's README (~130 records), and a policy that
# holds it to March 2018 (a cooldown of as many days), bans two packages, judges licenses.
SOLVE_REQUEST = [
    "python=3.6", "numpy", "pandas", "scipy", "matplotlib", "jupyter", "bokeh", "dask",
]  # fmt: skip
SOLVE_POLICY = """\
[[bans]]
name = "mkl"
reason = "OpenBLAS builds only"
[[bans]]
name = "tornado"
version = "<4.5"
kind = "conda"
reason = "out of support"
[cooldown]
days = {days}
exempt-packages = ["conda:ca-certificates"]
reason = "vetted up to March 2018"
[licenses]
deny = ["GPL-3*", "AGPL-*"]
review = ["LGPL*"]
reason = "legal review"
"""
AMBER = str(Path(sys.executable).with_name("amber"))
PIP_AUDIT = str(Path(sys.executable).with_name("pip-audit"))
# Top-level requests: a data-science and web stack with some old, vulnerable pins.
REQUEST = [
    "jupyterlab", "pandas", "scikit-learn", "matplotlib", "sphinx", "flask", "fastapi", "boto3",
    "pytest", "streamlit", "dask[complete]", "celery", "sqlalchemy", "mkdocs-material", "black",
    "requests==2.19.1", "urllib3==1.23", "pyyaml==5.3", "jinja2==2.10", "pillow==8.0.0",
    "cryptography==3.2", "idna==2.7", "aiohttp==3.8.1", "setuptools==65.0.0",
]  # fmt: skip


def _rfc3339(value: object) -> str:
    """A date YAML read as a datetime, written back as the OSV API writes it."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


@contextmanager
def osv_server(directory: Path) -> Iterator[str]:
    """An OSV API (``POST /v1/query``) on 127.0.0.1 over the records in ``directory``."""
    db = OsvDatabase.load(directory)
    raw = {}
    for path in sorted(directory.rglob("*.yaml")):
        record = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        raw[record["id"]] = json.loads(json.dumps(record, default=_rfc3339))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name, version = query["package"]["name"], query["version"]
            vulns = [raw[a.id] for a, _ in db.matching("PyPI", name, version)]
            payload = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


def _timed(cmd: list[str], cwd: Path, ok: tuple[int, ...]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return took, proc.stdout


def _amber_pairs(report: str) -> set[tuple[str, str]]:
    findings = json.loads(report)["findings"]
    return {(f["package"].lower(), f["rule"].split(":", 1)[1]) for f in findings}


def _pip_audit_pairs(report: str) -> set[tuple[str, str]]:
    deps = json.loads(report)["dependencies"]
    return {(d["name"].lower(), v["id"]) for d in deps for v in d.get("vulns", [])}


def bench_audit(work: Path, reps: int) -> Figure:
    """18. `amber audit` of a ~150-package lock vs pip-audit on the same pins."""
    project = work / "audit"
    project.mkdir()
    (project / "requirements.txt").write_text("\n".join(REQUEST) + "\n")
    run([AMBER, "lock", "-q", "-f", "requirements.txt"], project)
    lock = Lock.read(project / "amber.lock")
    pins = [w for p in lock.platforms.values() for w in p.pypi]
    (project / "pins.txt").write_text("".join(f"{w.name}=={w.version}\n" for w in pins))
    cache = work / "pip-audit-cache"
    amber_cmd = [AMBER, "audit", "--osv", str(OSV_DIR), "--format", "json"]
    with osv_server(OSV_DIR) as url:
        peer_cmd = [PIP_AUDIT, "-r", "pins.txt", "--no-deps", "--disable-pip", "-s", "osv",
                    "--osv-url", url, "--progress-spinner", "off", "--cache-dir", str(cache),
                    "-f", "json"]  # fmt: skip
        _, amber_out = _timed(amber_cmd, project, (0, 1))  # warm-up, and the answers compared
        _, peer_out = _timed(peer_cmd, project, (0, 1))
        amber_times, peer_times = [], []
        for i in range(reps):  # alternating, first one then the other
            order = [(amber_cmd, amber_times), (peer_cmd, peer_times)]
            for cmd, times in order if i % 2 == 0 else reversed(order):
                times.append(_timed(cmd, project, (0, 1))[0])
    ours, theirs = _amber_pairs(amber_out), _pip_audit_pairs(peer_out)
    same = ours == theirs
    differ = f"found a different set: {sorted(ours ^ theirs)[:5]}"
    notes = [
        f"{len(pins)} PyPI packages, {len(ours)} (package, advisory) findings from "
        f"{sum(1 for _ in OSV_DIR.rglob('*.yaml'))} OSV records; pip-audit "
        f"{'found the same' if same else differ}.",
        f"Amber {spread(amber_times)}; pip-audit {spread(peer_times)}; {reps} runs each after a "
        "warm-up.",
    ]
    figure = Figure("18. `amber audit` vs pip-audit (~150 PyPI packages, OSV records)",
                    amber_times, peer_times, 1.0, True, notes)  # fmt: skip
    if not same:
        figure.verdict = "FAIL (answers differ)"
    return figure


def bench_policy_solve(work: Path, reps: int) -> Figure:
    """18b. The same conda solve within a policy and without one (in-process, warm, CPU
    time)."""
    now = datetime.datetime.now(datetime.UTC)
    days = (now - datetime.datetime(2018, 3, 1, tzinfo=datetime.UTC)).days
    policy = read_policy(SOLVE_POLICY.format(days=days), "bench-policy.toml")
    spec = Spec.create(conda=SOLVE_REQUEST, channels=[SNAPSHOT.as_uri()], platforms=["linux-64"])
    caches = ResolveCaches(work / "solve-repodata", work / "solve-uv", work / "solve-pkgs")
    sides = {"with": policy, "without": None}
    sizes = {k: len(resolve(spec, caches, policy=p).for_platform("linux-64").conda)
             for k, p in sides.items()}  # warm-up (repodata parsed, cached)  # fmt: skip
    times: dict[str, list[float]] = {"with": [], "without": []}
    for i in range(reps * 3):
        for name in ("with", "without") if i % 2 == 0 else ("without", "with"):
            # CPU time (every thread of the process): the solve's own work, which the load
            # of a shared machine does not stretch as it does wall time.
            started = time.process_time()
            resolve(spec, caches, policy=sides[name])
            times[name].append(time.process_time() - started)
    data = json.loads((SNAPSHOT / "linux-64" / "repodata.json").read_bytes())
    records = len(data.get("packages", {})) + len(data.get("packages.conda", {}))
    notes = [
        f"defaults-2018 ({records} linux-64 records), `{' '.join(SOLVE_REQUEST)}`: "
        f"{sizes['with']} records within the policy (2 bans, a {days}-day cooldown, license "
        f"rules), {sizes['without']} without. Within {spread(times['with'])}; without "
        f"{spread(times['without'])} (CPU time); {reps * 3} solves each, alternating, in one "
        "process. A policy that refuses none of the records a request reaches costs only its "
        "check of them: the solver then reads the channels itself, as without one.",
    ]
    return Figure("18b. conda solve within a policy vs without (defaults-2018 snapshot)",
                  times["with"], times["without"], None, True, notes)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amber-bench-audit-"))
    os.environ["AMBER_HOME"] = str(work / "home")
    try:
        figures = [bench_audit(work, args.reps), bench_policy_solve(work, args.reps)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for figure in figures:
        print(" | ".join(figure.row()))
        print("\n".join(figure.notes))


if __name__ == "__main__":
    main()
