"""Editable installs (``-e ./path``) in a pip section or a requirements file, as
``conda env create`` runs them (``pip install -e ./path``, relative to the file) and pixi
locks them (``editable = true`` path dependencies): resolved by uv, locked as the path as
written (no hash, no absolute path), installed with ``uv pip install -e`` after the hashed
packages; the env sees edits to the source without a reinstall. A real tiny project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import write

from amber._platform import host_platform
from amber.lock import Lock
from amber.spec import read_spec

HOST = host_platform()
READ = "import tinyed; print(tinyed.VALUE)"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout: a requirements file beside a setuptools project ``proj`` (src layout)."""
    root = tmp_path / "checkout"
    write(
        root / "proj" / "pyproject.toml",
        """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "tinyed"
        version = "0.3.0"
        dependencies = ["six"]
        """,
    )
    write(root / "proj" / "src" / "tinyed" / "__init__.py", "VALUE = 1\n")
    write(root / "requirements.txt", "-e ./proj\n")
    return root


def test_an_editable_project_is_locked_by_its_path_and_installed_editable(
    amber, tmp_path: Path, checkout: Path, amber_home: Path
) -> None:
    spec = checkout / "requirements.txt"
    made = amber("lock", "-f", spec, "--python", "3.11", check=True)
    assert "1 editable package from ./proj, not hashed" in made.stdout + made.stderr
    lock_file = checkout / "amber.lock"
    text = lock_file.read_text()
    assert str(tmp_path) not in text  # the path as written: a teammate shares the lock
    pypi = {p.name: p for p in Lock.read(lock_file).platforms[HOST].pypi}
    assert set(pypi) == {"tinyed", "six"}
    assert (pypi["tinyed"].path, pypi["tinyed"].editable, pypi["tinyed"].sha256) == (
        "./proj", True, ""
    )  # fmt: skip
    assert pypi["six"].sha256  # its dependencies are hashed as usual
    assert amber("lock", "--check", "-f", spec).returncode == 0

    run = amber("run", "-f", spec, "--", "python", "-c", READ)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "1"
    # Editable: an edit is seen without a reinstall; the lock (and its env) stay the same.
    write(checkout / "proj" / "src" / "tinyed" / "__init__.py", "VALUE = 2\n")
    assert amber("lock", "--check", "-f", spec).returncode == 0
    run = amber("run", "-f", spec, "--", "python", "-c", READ)
    assert run.stdout.strip() == "2", run.stderr

    env = amber("install", "-f", spec, check=True).stdout.strip()
    verified = amber("verify", env)
    assert verified.returncode == 0, verified
    assert "tinyed" in verified.stderr and "editable" in verified.stderr  # said skipped

    packed = amber("pack", env, "-o", tmp_path / "env.tar.gz")
    assert packed.returncode == 2, packed
    assert "tinyed" in packed.stderr and "editable" in packed.stderr
    assert "Traceback" not in packed.stderr and not (tmp_path / "env.tar.gz").exists()
    pushed = amber("push", env, "--remote", (tmp_path / "remote").as_uri())
    assert pushed.returncode == 2, pushed
    assert "tinyed" in pushed.stderr and "editable" in pushed.stderr

    # A teammate's checkout elsewhere shares the lock, and runs its own source.
    other = shutil.copytree(checkout, tmp_path / "elsewhere" / "checkout")
    write(other / "proj" / "src" / "tinyed" / "__init__.py", "VALUE = 3\n")
    assert amber("lock", "--check", "-f", other / "requirements.txt").returncode == 0
    theirs = {"AMBER_HOME": str(tmp_path / "teammate")}
    run = amber("run", "-f", other / "requirements.txt", "--", "python", "-c", READ, env=theirs)
    assert run.stdout.strip() == "3", run.stderr


def test_the_pip_section_reads_editable_and_local_directories(
    tmp_path: Path, checkout: Path
) -> None:
    spec = write(
        checkout / "environment.yml",
        f"""
        dependencies:
          - pip:
            - -e ./proj
            - --editable=proj
            - tinyed @ file://{checkout / "proj"}
            - ./proj
        """,
    )
    assert read_spec(spec).pypi == ("-e ./proj", "./proj")
