"""A lock whose channel came from ``https://host/t/${TOKEN}/chan`` records the variable,
never its value; a fresh process with an empty store installs and runs that lock with only
``TOKEN`` in its environment, against a loopback channel that refuses anyone without it."""

from __future__ import annotations

from pathlib import Path

import condapkgs
import pytest
from helpers import conda_environ, write

from amber.lock import Lock

TOKEN = "tk-5b83e1"


@pytest.fixture
def locked(amber, tmp_path: Path) -> tuple[str, Path]:
    """The channel served only under ``/t/TOKEN/``; a lock of it made with ``${CHAN_TOKEN}``."""
    root = tmp_path / "served"
    package = condapkgs.CondaPackage(
        name="zeta", version="1.0", subdir="noarch", noarch="generic",
        files={"share/zeta.txt": b"zeta\n"},
    )  # fmt: skip
    condapkgs.build_channel(root / "tokened", [package])
    with condapkgs.serve_directory(root, token=TOKEN) as url:
        spec = write(
            tmp_path / "project" / "environment.yml",
            f"""
            channels: ["{url}/t/${{CHAN_TOKEN}}/tokened"]
            dependencies: [zeta]
            """,
        )
        environ = conda_environ(tmp_path / "home", CHAN_TOKEN=TOKEN)
        amber("lock", "-f", spec, env=environ, check=True)
        yield url, spec.parent / "amber.lock"


def test_install_and_run_of_the_lock_in_a_fresh_store_with_only_the_variable(
    amber, tmp_path: Path, locked: tuple[str, Path]
) -> None:
    url, lock_file = locked
    text = lock_file.read_text()
    assert TOKEN not in text and "${CHAN_TOKEN}" in text
    assert Lock.read(lock_file).spec.channels == (f"{url}/t/${{CHAN_TOKEN}}/tokened",)

    fresh = {
        **conda_environ(tmp_path / "home2", CHAN_TOKEN=TOKEN),
        "AMBER_HOME": str(tmp_path / "fresh-store"),
    }
    installed = amber("install", "-f", lock_file, env=fresh, check=True)
    prefix = Path(installed.stdout.strip())
    assert (prefix / "share" / "zeta.txt").read_text() == "zeta\n"

    other = {**fresh, "AMBER_HOME": str(tmp_path / "fresh-store-2")}
    run = amber(
        "run", "-f", lock_file, "--", "sh", "-c", 'cat "$CONDA_PREFIX/share/zeta.txt"', env=other
    )
    assert run.returncode == 0, run
    assert run.stdout.strip() == "zeta"
    for home in (tmp_path / "fresh-store", tmp_path / "fresh-store-2"):
        leaks = [p for p in home.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
        assert leaks == []


def test_a_missing_variable_names_it_and_the_lock_entry(
    amber, tmp_path: Path, locked: tuple[str, Path]
) -> None:
    _, lock_file = locked
    fresh = {**conda_environ(tmp_path / "home2"), "AMBER_HOME": str(tmp_path / "fresh-store")}
    fresh.pop("CHAN_TOKEN", None)
    for command in (("install", "-f", lock_file), ("run", "-f", lock_file, "--", "true")):
        result = amber(*command, env=fresh)
        assert result.returncode == 2, result
        assert "CHAN_TOKEN" in result.stderr and "Traceback" not in result.stderr
        assert "zeta" in result.stderr, result.stderr  # the lock entry that needs it
    assert not list((tmp_path / "fresh-store").glob("envs/*/conda-meta/*.json"))
