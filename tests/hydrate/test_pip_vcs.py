"""VCS references in the pip section (``name @ git+URL@REV``): locked to a commit, installed
from that commit, moved only by ``--update``; a real local git repository over ``file://``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import write

from amber._platform import host_platform
from amber.errors import SpecError
from amber.lock import Lock
from amber.spec import read_spec

HOST = host_platform()


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.strip()


def _commit_value(repo: Path, value: int) -> str:
    write(repo / "src" / "tinyvcs" / "__init__.py", f"VALUE = {value}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"value {value}")
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A tiny pure-Python project (setuptools) in a git repository, one commit on main."""
    repo = tmp_path / "tinyvcs"
    write(
        repo / "pyproject.toml",
        """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "tinyvcs"
        version = "0.1.0"
        """,
    )
    _git(repo.parent, "init", "-q", "-b", "main", str(repo))
    _commit_value(repo, 1)
    return repo


def test_a_git_reference_is_locked_to_a_commit_and_installed_from_it(
    amber, tmp_path: Path, repo: Path
) -> None:
    first = _git(repo, "rev-parse", "HEAD")
    spec = write(tmp_path / "spec" / "requirements.txt", f"tinyvcs @ git+file://{repo}@main\n")
    amber("lock", "-f", spec, "--python", "3.11", check=True)
    lock_file = spec.parent / "amber.lock"
    [locked] = Lock.read(lock_file).platforms[HOST].pypi
    assert (locked.name, locked.version, locked.commit) == ("tinyvcs", "0.1.0", first)
    assert locked.url == f"git+file://{repo}" and locked.sha256 == ""
    text = lock_file.read_text()
    assert f"commit: {first}" in text and "sha256: ''" not in text

    run = amber("run", "-f", spec, "--", "python", "-c", "import tinyvcs; print(tinyvcs.VALUE)")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "1"
    verify = amber("run", "--verify", "-f", spec, "--", "python", "-c", "pass")
    assert verify.returncode == 0, verify.stderr  # the built commit is what its RECORD says

    # A new commit on main: the lock stays current (it records the commit), and what runs is
    # that commit, until --update moves it.
    _commit_value(repo, 2)
    assert amber("lock", "--check", "-f", spec).returncode == 0
    run = amber("run", "-f", spec, "--", "python", "-c", "import tinyvcs; print(tinyvcs.VALUE)")
    assert run.stdout.strip() == "1", run.stderr
    amber("lock", "-f", spec, "--python", "3.11", "--update", "tinyvcs", check=True)
    second = _git(repo, "rev-parse", "HEAD")
    assert Lock.read(lock_file).platforms[HOST].pypi[0].commit == second
    run = amber("run", "-f", spec, "--", "python", "-c", "import tinyvcs; print(tinyvcs.VALUE)")
    assert run.stdout.strip() == "2", run.stderr


def test_a_git_reference_in_an_environment_yml_is_read(tmp_path: Path, repo: Path) -> None:
    spec = write(
        tmp_path / "environment.yml",
        f"""
        dependencies:
          - python=3.11
          - pip:
            - git+file://{repo}@main#egg=tinyvcs
            - other @ git+https://example.com/other.git@v1.0#subdirectory=pkg
        """,
    )
    pypi = read_spec(spec).pypi
    assert [r.split(" @ ")[0] for r in pypi] == ["other", "tinyvcs"]
    assert pypi[1].endswith(f"{repo}@main#egg=tinyvcs")


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("hg+https://example.com/repo#egg=x", "only git references can be locked"),
    ],
)
def test_vcs_references_amber_cannot_lock_are_refused_naming_the_line(
    tmp_path: Path, line: str, said: str
) -> None:
    spec = write(tmp_path / "requirements.txt", f"six\n{line}\n")
    with pytest.raises(SpecError, match=said) as info:
        read_spec(spec)
    assert (info.value.path, info.value.line) == (spec, 2)


def test_hash_checking_mode_refuses_a_git_reference(amber, tmp_path: Path, repo: Path) -> None:
    six = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"  # six 1.16.0
    spec = write(
        tmp_path / "requirements.txt",
        f"six==1.16.0 --hash=sha256:{six}\ntinyvcs @ git+file://{repo}@main\n",
    )
    result = amber("lock", "-f", spec, "--python", "3.11")
    assert result.returncode == 2 and "these have none: tinyvcs==0.1.0" in result.stderr
    assert not (tmp_path / "amber.lock").exists()


def test_update_of_another_package_keeps_the_commit(amber, tmp_path: Path, repo: Path) -> None:
    first = _git(repo, "rev-parse", "HEAD")
    spec = write(tmp_path / "requirements.txt", f"six\ntinyvcs @ git+file://{repo}@main\n")
    amber("lock", "-f", spec, "--python", "3.11", check=True)
    _commit_value(repo, 2)
    amber("lock", "-f", spec, "--python", "3.11", "--update", "six", check=True)
    pypi = {p.name: p for p in Lock.read(tmp_path / "amber.lock").platforms[HOST].pypi}
    assert pypi["tinyvcs"].commit == first  # uv keeps file preferences, Amber the commit
