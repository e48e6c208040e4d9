"""Benchmarks 19 and 20: `amber ui` on a large store, in a real headless Chromium.

19: the envs page over a store of 200 envs (each a real env record: a lock in the store, an
env directory with its lock, activation, a few files and its completion marker, written
through Amber's own `Store` and `Env`, not resolved 200 times), a quarter of them tagged.
20: one run's timeline page, for a run of 1,000 step calls (recorded with `Store.record_run`
and `Store.record_step`, as a pipeline's steps record them).

Each figure is the time from navigation start to the page drawn with its data (the
`amber-ready` mark the page sets once its table or timeline is in the DOM), read from the
browser's Performance API; the notes give first contentful paint, DOMContentLoaded and the
load event. `amber ui` runs as a user starts it (a subprocess, `--port 0`).

    python bench/bench_ui.py [--reps 7] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Figure

N_ENVS = 200
N_CALLS = 1000
TARGET_MS = 1000.0  # a page with its data drawn within a second


def make_store(home: Path) -> str:
    """200 envs (50 tagged) and a run of 1,000 step calls; the run's id."""
    from amber._platform import host_platform
    from amber.lock import Lock, LockedPypi, PlatformLock
    from amber.spec import Spec
    from amber.store import Store
    from amber.store.env import Activation, Env

    store = Store(home)
    platform = host_platform()
    ids = []
    for i in range(N_ENVS):
        spec = Spec.create(pypi=[f"pkg{i}==1.0", "six==1.17.0"], python="3.11")
        wheels = (
            LockedPypi(f"pkg{i}", "1.0", f"https://example.invalid/pkg{i}-1.0-py3-none-any.whl",
                       f"{i:064x}", requires=("six",)),
            LockedPypi("six", "1.17.0", "https://example.invalid/six-1.17.0-py2.py3-none-any.whl",
                       "1" * 64, requires=()),
        )  # fmt: skip
        lock = Lock(spec, spec.req_id, {platform: PlatformLock(platform, "3.11", pypi=wheels)})
        store.save_lock(lock.dumps(), lock.req_id, lock.full_id)
        env = Env(lock.full_id, store.env_path(lock.full_id))
        (env.path / "lib").mkdir(parents=True, exist_ok=True)
        for n in range(5):
            (env.path / "lib" / f"module{n}.py").write_text(f"# env {i}, file {n}\n" * (i + 1))
        env.meta.mkdir(parents=True, exist_ok=True)
        env.lock_file.write_text(lock.dumps())
        env.write_activation(Activation({"PKG": str(i)}))
        store.record_env(lock.full_id, env.path, f"bench{i}", 5 * 1024)
        env.mark_complete()
        if i % 4 == 0:
            store.tag(f"bench{i}", "v1", lock.full_id)
        ids.append(lock.full_id)
    run_id = "b" * 12
    started = time.time() - 3600
    store.record_run(run_id, started, "bench-host", "python flow.py")
    for n in range(N_CALLS):
        begin = started + n * 0.5
        status = "ok" if n % 97 else "error (ValueError)"
        store.record_step(run_id, f"flow.step{n % 25}", ids[n % N_ENVS], begin, begin + 0.4, status)
    store.close()
    return run_id


def _browser(profile: Path):
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    return webdriver.Chrome(options=options, service=service)


_TIMES = """
const nav = performance.getEntriesByType('navigation')[0];
const paint = performance.getEntriesByType('paint').find(p => p.name === 'first-contentful-paint');
const ready = performance.getEntriesByName('amber-ready')[0];
return [ready ? ready.startTime : null, paint ? paint.startTime : null,
        nav.domContentLoadedEventEnd, nav.loadEventEnd];
"""


def _measure(driver, url: str, ready: str, reps: int) -> list[list[float]]:
    from selenium.webdriver.support.ui import WebDriverWait

    samples = []
    for _ in range(reps + 1):  # the first round warms the server's caches and the browser's
        driver.get("about:blank")
        driver.get(url)
        WebDriverWait(driver, 120).until(
            lambda d: d.execute_script("return document.body.dataset.ready") == ready
        )
        samples.append(driver.execute_script(_TIMES))
    return samples[1:]


def _figure(label: str, samples: list[list[float]]) -> Figure:
    ready = [s[0] / 1000 for s in samples]
    drawn = statistics.median(ready) * 1000
    notes = [
        f"median of {len(samples)} loads after a warm-up: data drawn {drawn:.0f} ms, "
        f"first contentful paint {statistics.median(s[1] for s in samples):.0f} ms, "
        f"DOMContentLoaded {statistics.median(s[2] for s in samples):.0f} ms, "
        f"load event {statistics.median(s[3] for s in samples):.0f} ms after navigation start"
    ]
    return Figure(label, ready, [0.0] * len(ready), TARGET_MS, notes=notes)


def bench_ui(work: Path, reps: int, only: set[int]) -> list[Figure]:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        print("benchmarks 19-20 skipped: no chromium/chromedriver", file=sys.stderr)
        return []
    home = work / "ui-home"
    run_id = make_store(home)
    environ = {**os.environ, "AMBER_HOME": str(home)}
    environ.pop("AMBER_REMOTE", None)
    amber = str(Path(sys.executable).with_name("amber"))
    proc = subprocess.Popen([amber, "ui", "--port", "0"], env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    figures = []
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if not match:
            raise SystemExit(f"amber ui did not start: {line!r}")
        url = match.group(0)
        driver = _browser(work / "chromium-profile")
        try:
            if 19 in only:
                figures.append(_figure(
                    f"19. `amber ui` envs page, {N_ENVS} envs (navigation to table drawn)",
                    _measure(driver, url + "#/envs", "envs", reps),
                ))  # fmt: skip
            if 20 in only:
                figures.append(_figure(
                    f"20. `amber ui` run timeline, {N_CALLS:,} step calls (navigation to drawn)",
                    _measure(driver, url + f"#/run/{run_id}", f"run/{run_id}", reps),
                ))  # fmt: skip
        finally:
            driver.quit()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amber-bench-ui-"))
    try:
        for figure in bench_ui(work, args.reps, {19, 20}):
            print(figure.label, "|", " | ".join(figure.row()[1:]))
            print("  " + "\n  ".join(figure.notes))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
