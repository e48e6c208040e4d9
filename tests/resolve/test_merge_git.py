"""`amber lock --merge` after a real `git merge` whose amber.lock conflicts, in several shapes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import write

from amber.lock import Lock


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd, capture_output=True, text=True,
    )  # fmt: skip


def _versions(lock: Lock, platform: str = "linux-64") -> dict[str, str]:
    body = lock.platforms[platform]
    return {p.name: p.version for p in (*body.conda, *body.pypi)}


def _conda(channel: Path, *deps: str) -> str:
    return f"channels: ['{channel}']\ndependencies:\n" + "".join(f"  - {d}\n" for d in deps)


def _branches(amber, repo: Path, name: str, base: str, ours: str, theirs: str, merged: str):
    """base on main, ``ours`` on main, ``theirs`` on branch b, each locked and committed;
    then `git merge b`: the lock conflicts; the spec is left as ``merged`` (as a user would)."""
    repo.mkdir()
    spec = repo / name
    _git(repo, "init", "-q", "-b", "main")
    spec.write_text(base)
    amber("lock", "-f", spec, check=True)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "checkout", "-qb", "b")
    spec.write_text(theirs)
    amber("lock", "-f", spec, check=True)
    _git(repo, "commit", "-qam", "theirs")
    _git(repo, "checkout", "-q", "main")
    spec.write_text(ours)
    amber("lock", "-f", spec, check=True)
    _git(repo, "commit", "-qam", "ours")
    sides = Lock.read(repo / "amber.lock"), Lock.loads(_git(repo, "show", "b:amber.lock").stdout)
    result = _git(repo, "merge", "b")
    assert result.returncode != 0, result.stdout  # a conflict, as in the issue
    assert "<<<<<<<" in (repo / "amber.lock").read_text()
    spec.write_text(merged)  # the spec as merged (by git, or by hand where it conflicted)
    return spec, sides


SHAPES = {
    # branch A bumps a pin, branch B adds a package: the issue's own case
    "bump-and-add": (
        ["python", "libfoo=1.0", "six"],
        ["python", "libfoo=2.0", "six"],
        ["python", "libfoo=1.0", "six", "datafiles"],
        ["python", "libfoo=2.0", "six", "datafiles"],
    ),
    "both-add": (
        ["python", "libfoo", "six"],
        ["greetlib", "python", "libfoo", "six"],
        ["python", "libfoo", "six", "footool"],
        ["greetlib", "python", "libfoo", "six", "footool"],
    ),
    "one-removes": (
        ["python", "libfoo", "six", "datafiles"],
        ["python", "libfoo", "six"],
        ["python", "libfoo", "six", "datafiles", "greetlib"],
        ["python", "libfoo", "six", "greetlib"],
    ),
    "both-change-one-pin": (
        ["python", "libfoo", "six"],
        ["python", "libfoo=1.0", "six"],
        ["python", "libfoo=2.0", "six", "datafiles"],
        ["python", "libfoo=2.0", "six", "datafiles"],  # resolved by hand: theirs' pin
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_lock_merge_after_a_real_git_merge(amber, conda_channel: Path, tmp_path: Path, shape: str):
    base, ours, theirs, merged = (_conda(conda_channel, *d) for d in SHAPES[shape])
    spec, (mine, other) = _branches(
        amber, tmp_path / "repo", "environment.yml", base, ours, theirs, merged
    )
    # The same conflicted file outside git (only its markers to go by) merges too.
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("environment.yml", "amber.lock"):
        (plain / name).write_bytes((spec.parent / name).read_bytes())
    for where in (spec, plain / "environment.yml"):
        done = amber("lock", "-f", where, "--merge")
        assert done.returncode == 0, done
    assert amber("lock", "-f", spec, "--check").returncode == 0
    assert (plain / "amber.lock").read_bytes() == (spec.parent / "amber.lock").read_bytes()
    result = Lock.read(spec.parent / "amber.lock")
    got = _versions(result)
    wanted = {d.split("=")[0] for d in SHAPES[shape][3]}
    assert wanted <= set(got)
    removed = {d.split("=")[0] for d in SHAPES[shape][0]} - wanted
    assert not removed & set(got)
    agreed = {n: v for n, v in _versions(mine).items() if _versions(other).get(n) == v}
    for name, version in agreed.items():
        if name in got:
            assert got[name] == version, name  # pins both sides agree on are kept


def test_lock_merge_with_conflicting_platforms(amber, tmp_path: Path):
    def project(platforms: list[str], deps: list[str]) -> str:
        return write(
            tmp_path / "text.toml",
            f"""
            [project]
            name = "demo"
            dependencies = {deps!r}

            [tool.amber]
            platforms = {platforms!r}
            """,
        ).read_text()

    base = project(["linux-64"], ["six==1.17.0"])
    ours = project(["linux-64", "osx-arm64"], ["six==1.17.0"])
    theirs = project(["linux-64", "win-64"], ["six==1.17.0", "idna==3.4"])
    merged = project(["linux-64", "osx-arm64", "win-64"], ["six==1.17.0", "idna==3.4"])
    spec, _ = _branches(amber, tmp_path / "repo", "pyproject.toml", base, ours, theirs, merged)
    done = amber("lock", "-f", spec, "--merge")
    assert done.returncode == 0, done
    result = Lock.read(spec.parent / "amber.lock")
    assert sorted(result.platforms) == ["linux-64", "osx-arm64", "win-64"]
    for platform in result.platforms:
        assert _versions(result, platform) == {"six": "1.17.0", "idna": "3.4"}
    assert amber("lock", "-f", spec, "--check").returncode == 0
