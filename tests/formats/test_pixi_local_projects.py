"""pixi.lock's local PyPI projects (``- pypi: ./path``, ``editable: true``; what every
``pixi init --format pyproject`` project locks) imported as pixi installs them: from the
path relative to the pixi.lock's folder, editable when the lock says so; and
``[tool.pixi.pypi-dependencies]`` ``{ path = ".", editable = true }`` read as that editable
entry of the spec. A real tiny setuptools project, installed by uv."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from helpers import SHARED, assert_clear_error, run_cli, write

from amber._platform import host_platform
from amber.errors import LockFileError, SpecError
from amber.formats import pixi
from amber.lock import Lock
from amber.spec import read_spec

HOST = host_platform()
READ = "import tinyed; print(tinyed.VALUE)"
REAL = SHARED / "real" / "pixi-lock"


def _project(root: Path) -> Path:
    write(
        root / "pyproject.toml",
        """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "tinyed"
        version = "0.3.0"
        """,
    )
    write(root / "src" / "tinyed" / "__init__.py", "VALUE = 1\n")
    return root


def _with_local(text: str, ref: str, editable: bool) -> str:
    """A pixi.lock (version 6, as Amber writes it) with the local project ``ref`` added for
    the host platform, shaped as pixi writes it."""
    lines = text.splitlines()
    at = lines.index(f"      {HOST}:") + 1
    while lines[at].startswith("      - "):
        at += 1
    lines.insert(at, f"      - pypi: {ref}")
    entry = [f"- pypi: {ref}", "  name: tinyed", "  version: 0.3.0", "  requires_python: '>=3.8'"]
    return "\n".join(lines + entry + (["  editable: true"] if editable else [])) + "\n"


@pytest.fixture
def pixi_lock(amber, tmp_path: Path, conda_channel_url: str) -> Path:
    """A pixi workspace: pixi.lock (python from the test channel, and ./proj editable)."""
    root = tmp_path / "ws"
    spec = write(
        root / "environment.yml",
        f"channels: [{conda_channel_url}]\ndependencies: [python]\n",
    )
    amber("lock", "-f", spec, "-p", HOST, check=True)
    out = root / "exported.lock"
    amber("export", root / "amber.lock", "--format", "pixi", "--lock-version", "6", "-o", out,
          check=True)  # fmt: skip
    (root / "amber.lock").unlink()
    spec.unlink()
    _project(root / "proj")
    lock = write(root / "pixi.lock", _with_local(out.read_text(), "./proj", editable=True))
    out.unlink()
    return lock


def test_an_editable_project_of_a_pixi_lock_is_imported_and_installed_editable(
    amber, tmp_path: Path, pixi_lock: Path
) -> None:
    lock = pixi.read(pixi_lock)
    (local,) = lock.platforms[HOST].pypi
    assert (local.name, local.version, local.path, local.editable) == (
        "tinyed", "0.3.0", "./proj", True
    )  # fmt: skip
    assert lock.base == pixi_lock.parent

    made = amber("lock", "-f", pixi_lock, check=True)
    written = (pixi_lock.parent / "amber.lock").read_text()
    assert str(tmp_path) not in written, made  # the path as written: shared with the lock
    run = amber("run", "-f", pixi_lock, "--", "python", "-c", READ)
    assert run.stdout.strip() == "1", run
    write(pixi_lock.parent / "proj" / "src" / "tinyed" / "__init__.py", "VALUE = 2\n")
    run = amber("run", "-f", pixi_lock, "--", "python", "-c", READ)
    assert run.stdout.strip() == "2", run  # editable: the source as it is now

    # A teammate's checkout elsewhere: the same lock, their own source.
    other = shutil.copytree(pixi_lock.parent, tmp_path / "elsewhere")
    write(other / "proj" / "src" / "tinyed" / "__init__.py", "VALUE = 3\n")
    assert (
        Lock.read(other / "amber.lock").full_id
        == Lock.read(pixi_lock.parent / "amber.lock").full_id
    )
    run = amber("run", "-f", other / "pixi.lock", "--", "python", "-c", READ,
                env={"AMBER_HOME": str(tmp_path / "teammate")})  # fmt: skip
    assert run.stdout.strip() == "3", run


def test_a_directory_entry_without_editable_is_a_plain_directory_install(
    tmp_path: Path, pixi_lock: Path
) -> None:
    text = pixi_lock.read_text().replace("  editable: true\n", "").replace("./proj", "proj/")
    plain = write(pixi_lock.parent / "plain" / "pixi.lock", text.replace("proj/", "../proj/"))
    (local,) = pixi.read(plain).platforms[HOST].pypi
    assert (local.path, local.editable) == ("../proj", False)
    # Newer pixi keeps `editable` in the manifest only: the pixi.toml beside the lock says it.
    write(
        plain.parent / "pixi.toml",
        """
        [workspace]
        channels = ["conda-forge"]
        platforms = ["linux-64"]

        [pypi-dependencies]
        tinyed = { path = "../proj", editable = true }
        """,
    )
    (local,) = pixi.read(plain).platforms[HOST].pypi
    assert (local.path, local.editable) == ("../proj", True)


def test_an_absolute_source_path_is_refused_by_name(tmp_path: Path, pixi_lock: Path) -> None:
    text = pixi_lock.read_text().replace("./proj", str(pixi_lock.parent / "proj"))
    path = write(tmp_path / "abs" / "pixi.lock", text)
    with pytest.raises(LockFileError) as caught:
        pixi.read(path)
    assert "`tinyed`" in str(caught.value) and "is an absolute path" in str(caught.value)


def test_written_elsewhere_the_relative_path_would_lie_so_it_is_refused(
    tmp_path: Path, pixi_lock: Path
) -> None:
    outcome = run_cli(["lock", "-f", pixi_lock, "-o", tmp_path / "other" / "amber.lock"], tmp_path)
    assert_clear_error(outcome, "tinyed", "./proj")
    assert not (tmp_path / "other" / "amber.lock").exists()


@pytest.mark.skipif(not REAL.is_dir(), reason="no ../shared/data/real")
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "tests__data__satisfiability__dependency_overides__pixi.lock",
            ("foo", "./projects/foo", True),
        ),
        ("examples__docker__pixi.lock", ("docker-project", ".", False)),
        # pixi no longer writes `editable: true`: the manifest says it, and it is not here.
        ("tests__data__satisfiability__v6-editable-no-rewrite__pixi.lock", ("yohane", ".", False)),
    ],
)  # fmt: skip
def test_real_pixi_locks_with_local_projects_import(name: str, expected: tuple) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lock = pixi.read(REAL / name)
    found = {
        (w.name, w.path, w.editable) for b in lock.platforms.values() for w in b.pypi if w.path
    }
    assert found == {expected}


def test_pixi_manifest_editable_path_dependency_is_the_spec_entry(tmp_path: Path) -> None:
    """What `pixi init --format pyproject` writes: the project itself, editable."""
    _project(tmp_path / "ws")
    _project(tmp_path / "ws" / "sub")
    manifest = tmp_path / "ws" / "pyproject.toml"
    manifest.write_text(
        manifest.read_text()
        + """
[tool.pixi.workspace]
channels = ["conda-forge"]
platforms = ["linux-64"]

[tool.pixi.pypi-dependencies]
tinyed = { path = ".", editable = true }
sub = { path = "sub" }
"""
    )
    assert {"-e .", "./sub"} <= set(read_spec(manifest).pypi)
    manifest.write_text(manifest.read_text().replace('"sub"', '"nowhere"'))
    with pytest.raises(SpecError) as caught:
        read_spec(manifest)
    assert "nowhere" in str(caught.value) and caught.value.line is not None
