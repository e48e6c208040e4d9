"""The warm path of `amber install -f amber.lock`: every cache warm, only the work a hydrate
needs (issue 16: at least as fast as uv's own `uv venv` + `uv pip sync`). No timings here:
what is checked is the work done (modules imported, processes started, files read)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import tiny_wheel

from amber.lock import LockedPypi
from amber.settings import Network
from amber.store import Store
from amber.store.fetch import download_archives

# What hydrating a PyPI-only lock never needs: the solver stack and the conda engine, HTTP
# and TLS, an event loop. (The settings files are read: they may name the organisation's
# policy, which holds at install time too.)
SOLVER = {
    "rattler", "amber.resolve", "amber.api.locking", "amber.hydrate.conda",
    "urllib.request", "ssl", "asyncio",
}  # fmt: skip


def _install_imports(amber_home: Path, cwd: Path, *args: object) -> tuple[set[str], str]:
    """The modules ``amber install ARGS`` imports (``-X importtime``) and what it printed."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "amber", "install", *map(str, args)],
        cwd=cwd, env={**os.environ, "AMBER_HOME": str(amber_home)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line.split("|")[-1].strip() for line in proc.stderr.splitlines()]
    return {line for line in lines if line and line != "imported package"}, proc.stdout


@pytest.fixture
def pypi_lock(amber, tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("six==1.17.0\n")
    amber("lock", "-q", "-f", "requirements.txt", cwd=project, check=True)
    return project / "amber.lock"


def test_a_pypi_only_lock_hydrates_without_the_solver_or_rattler(amber, amber_home, pypi_lock):
    modules, out = _install_imports(amber_home, pypi_lock.parent, "-q", "-f", pypi_lock)
    # Cold: uv downloads the wheel, through the network settings (proxies, CA bundle).
    assert not modules & SOLVER, sorted(modules & SOLVER)
    env = Path(out.strip())
    check = [str(env / "bin" / "python"), "-c", "import six; print(six.__version__)"]
    assert subprocess.run(check, capture_output=True, text=True).stdout.strip() == "1.17.0"
    # Again after `amber env rm`: the warm path, every cache full.
    full_id = (env / ".amber" / "complete").read_text().strip()
    amber("env", "rm", full_id, check=True)
    modules, out = _install_imports(amber_home, pypi_lock.parent, "-q", "-f", pypi_lock)
    assert not modules & SOLVER, sorted(modules & SOLVER)
    assert Path(out.strip()) == env and (env / ".amber" / "complete").is_file()


def test_nothing_to_download_reads_no_network_settings(tmp_path: Path) -> None:
    """The settings files (behind ``store.network``) and the TLS context (its CA bundle) are
    for downloads: with every archive in the store, or none asked for, neither is touched."""

    def network() -> Network:
        raise AssertionError("the network settings were read with nothing to download")

    store = Store(tmp_path / "home", network=network)
    download_archives([], store)
    wheel = tiny_wheel(tmp_path, "tinypkg", "1.0", "X = 1\n")
    sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    stored = store.add_archive(sha256, wheel.name, lambda tmp: shutil.copyfile(wheel, tmp))
    assert stored == sha256
    package = LockedPypi(name="tinypkg", version="1.0", url=wheel.as_uri(), sha256=sha256)
    download_archives([package], store)
    # A CA bundle that does not exist is only an error once something is downloaded.
    store = Store(tmp_path / "home", network=Network(ssl_verify=str(tmp_path / "no-ca.pem")))
    download_archives([package], store)


_SEEN: list[tuple[str, str]] = []  # (event, path) while a test listens (audit hooks stay)


def _listen(event: str, args: tuple) -> None:
    if _SEEN and event in ("os.scandir", "os.listdir", "open") and args and args[0] is not None:
        _SEEN.append((event, os.fsdecode(args[0]) if not isinstance(args[0], int) else ""))


sys.addaudithook(_listen)


def test_a_warm_hydrate_walks_the_env_once_and_hashes_nothing(amber, amber_home, pypi_lock):
    """After `amber env rm`, hydrating again lists each directory of the new env once (the
    walk that gives its size also fingerprints what it shares with uv's cache) and opens
    none of its files but the wheels' RECORDs and Amber's own."""
    from amber.hydrate import hydrate
    from amber.lock import Lock

    lock = Lock.read(pypi_lock)
    env = hydrate(lock, Store(amber_home))  # every cache warm from here on
    amber("env", "rm", lock.full_id, check=True)
    _SEEN.append(("start", ""))
    try:
        again = hydrate(lock, Store(amber_home))
    finally:
        seen, _SEEN[:] = _SEEN[1:], []
    assert again.path == env.path and again.is_complete()
    inside = str(env.path) + os.sep
    meta = inside + ".amber"  # Amber's own few files, written after the walk
    listed = [
        p.rstrip(os.sep)
        for e, p in seen
        if e != "open" and p.startswith(inside) and not p.startswith(meta)
    ]
    twice = {p for p in listed if listed.count(p) > 1}
    assert not twice, sorted(twice)
    opened = {p for e, p in seen if e == "open" and p.startswith(inside)}
    others = {p for p in opened if not p.endswith("/RECORD") and not p.startswith(meta)}
    assert not others, sorted(others)


def test_settling_clobbers_reads_no_conda_meta_when_nothing_was_clobbered(tmp_path: Path):
    """rattler moves a clobbered file under ``__clobbers__/``: without that directory there
    is nothing to settle, and the env's ``conda-meta/*.json`` are not read again."""
    from amber._progress import Progress
    from amber.hydrate.scripts import settle_clobbers

    meta = tmp_path / "env" / "conda-meta"
    meta.mkdir(parents=True)
    (meta / "pkg-1.0-0.json").write_text('{"name": "pkg", "files": ["bin/pkg"]}')
    _SEEN.append(("start", ""))
    try:
        assert settle_clobbers(tmp_path / "env", [], Progress(quiet=True)) == []
    finally:
        seen, _SEEN[:] = _SEEN[1:], []
    assert not [p for e, p in seen if e == "open" and p.startswith(str(meta))]
