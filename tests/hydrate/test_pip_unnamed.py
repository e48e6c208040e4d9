"""Unnamed direct references in the pip section, as pip and uv take them: a git URL without
``#egg=`` and a bare URL to a wheel or an sdist. Locked under the name uv reports, to a
commit (git) or a sha256 (archive); a real local git repository over ``file://`` and a
loopback HTTP server for the archives."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import condapkgs
import pytest
from helpers import tiny_wheel, write

from amber._platform import host_platform
from amber.lock import Lock
from amber.spec import read_spec

HOST = host_platform()


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.strip()


_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
"""


def _commit_value(repo: Path, value: int) -> str:
    write(repo / "src" / "nameless" / "__init__.py", f"VALUE = {value}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"value {value}")
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "some-checkout"  # not the project's name: uv finds that in the metadata
    write(repo / "pyproject.toml", _PYPROJECT.format(name="nameless", version="0.2.0"))
    _git(repo.parent, "init", "-q", "-b", "main", str(repo))
    _commit_value(repo, 1)
    return repo


def _sdist(directory: Path, name: str, version: str, source: str) -> Path:
    """A real sdist (PKG-INFO, pyproject.toml, one module) that setuptools builds."""
    directory.mkdir(parents=True, exist_ok=True)
    root = f"{name}-{version}"
    files = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "pyproject.toml": _PYPROJECT.format(name=name, version=version)
        + '\n[tool.setuptools]\npy-modules = ["'
        + name
        + '"]\n',
        f"{name}.py": source,
    }
    path = directory / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_git_url_without_egg_is_locked_under_the_name_uv_reports(
    amber, tmp_path: Path, repo: Path
) -> None:
    first = _git(repo, "rev-parse", "HEAD")
    spec = write(tmp_path / "spec" / "requirements.txt", f"git+file://{repo}@main\nsix\n")
    amber("lock", "-f", spec, "--python", "3.11", check=True)
    pypi = {p.name: p for p in Lock.read(spec.parent / "amber.lock").platforms[HOST].pypi}
    assert pypi["nameless"].commit == first and pypi["nameless"].version == "0.2.0"
    assert pypi["nameless"].url == f"git+file://{repo}"
    assert amber("lock", "--check", "-f", spec).returncode == 0

    code = "import nameless; print(nameless.VALUE)"
    run = amber("run", "-f", spec, "--", "python", "-c", code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "1"

    # Another package's --update keeps the commit; its own moves it.
    _commit_value(repo, 2)
    amber("lock", "-f", spec, "--python", "3.11", "--update", "six", check=True)
    pypi = {p.name: p for p in Lock.read(spec.parent / "amber.lock").platforms[HOST].pypi}
    assert pypi["nameless"].commit == first
    amber("lock", "-f", spec, "--python", "3.11", "--update", "nameless", check=True)
    pypi = {p.name: p for p in Lock.read(spec.parent / "amber.lock").platforms[HOST].pypi}
    assert pypi["nameless"].commit == _git(repo, "rev-parse", "HEAD")


def test_an_unnamed_git_url_in_an_environment_yml_is_read(tmp_path: Path, repo: Path) -> None:
    spec = write(
        tmp_path / "environment.yml",
        f"""
        dependencies:
          - pip:
            - git+file://{repo}@main
        """,
    )
    assert read_spec(spec).pypi == (f"git+file://{repo}@main",)


def test_bare_urls_to_a_wheel_and_an_sdist_are_locked_by_sha256(amber, tmp_path: Path) -> None:
    files = tmp_path / "files"
    wheel = tiny_wheel(files, "wheelonly", "1.3", "VALUE = 'wheel'\n")
    sdist = _sdist(files, "sdistonly", "2.1", "VALUE = 'sdist'\n")
    with condapkgs.serve_directory(files) as url:
        spec = write(
            tmp_path / "spec" / "requirements.txt",
            f"{url}/{wheel.name}\n{url}/{sdist.name}\n",
        )
        amber("lock", "-f", spec, "--python", "3.11", check=True)
        pypi = {p.name: p for p in Lock.read(spec.parent / "amber.lock").platforms[HOST].pypi}
        assert set(pypi) == {"wheelonly", "sdistonly"}
        assert pypi["wheelonly"].sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert pypi["sdistonly"].sha256 == hashlib.sha256(sdist.read_bytes()).hexdigest()
        assert (pypi["wheelonly"].version, pypi["sdistonly"].version) == ("1.3", "2.1")
        assert amber("lock", "--check", "-f", spec).returncode == 0
        code = "import wheelonly, sdistonly; print(wheelonly.VALUE, sdistonly.VALUE)"
        run = amber("run", "-f", spec, "--", "python", "-c", code)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "wheel sdist"
