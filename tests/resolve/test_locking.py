"""Locks teams can live with: platforms, minimal updates, as-of, checks, merges."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import condapkgs
import pytest
from helpers import SHARED, write

from amber.lock import Lock

PIXI = SHARED / "channels" / "pixi"
SNAPSHOT = SHARED / "repodata" / "defaults-2018"
ALL_PLATFORMS = ["linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64"]

needs_shared = pytest.mark.skipif(not PIXI.is_dir(), reason="../shared/data is not beside us")


def versions(lock: Lock, platform: str = "linux-64") -> dict[str, str]:
    body = lock.for_platform(platform)
    return {p.name: p.version for p in (*body.conda, *body.pypi)}


@pytest.fixture(scope="module")
def five_platform_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """libfoo and a metadata-only python for every platform, plus noarch packages."""
    host = condapkgs.host_python_package()
    marker = {"python-marker.txt": b"linux-64"}
    packages = [
        condapkgs.greetlib_package(),
        condapkgs.datafiles_package(),
        condapkgs.CondaPackage(**{**host.__dict__, "files": {**host.files, **marker}}),
        condapkgs.libfoo_package("2.0"),
    ]
    for platform in ALL_PLATFORMS[1:]:  # metadata-only interpreters for the others
        packages.append(
            condapkgs.CondaPackage(
                name="python", version=host.version, subdir=platform,
                files={"python-marker.txt": platform.encode()},
            )
        )  # fmt: skip
        lib = condapkgs.libfoo_package("2.0")
        packages.append(condapkgs.CondaPackage(**{**lib.__dict__, "subdir": platform}))
    return condapkgs.build_channel(tmp_path_factory.mktemp("five"), packages)


def test_cross_platform_lock_for_all_five(amber, five_platform_channel: Path, tmp_path: Path):
    spec = write(
        tmp_path / "environment.yml",
        f"""
        channels: ['{five_platform_channel}']
        dependencies:
          - python
          - greetlib
          - pip:
            - charset-normalizer==3.4.0
        """,
    )
    args = [a for p in ALL_PLATFORMS for a in ("--platform", p)]
    amber("lock", "-f", spec, *args, check=True)
    lock = Lock.read(tmp_path / "amber.lock")
    assert sorted(lock.platforms) == ALL_PLATFORMS
    wheels = {}
    for platform in ALL_PLATFORMS:
        body = lock.for_platform(platform)
        assert {c.name for c in body.conda} == {"python", "greetlib", "libfoo"}
        libfoo = next(c for c in body.conda if c.name == "libfoo")
        assert libfoo.subdir == platform
        assert any(v.startswith("__archspec=1=") for v in body.virtual_packages)
        (wheel,) = body.pypi
        wheels[platform] = wheel.file_name
    assert "manylinux" in wheels["linux-64"] and "x86_64" in wheels["linux-64"]
    assert "aarch64" in wheels["linux-aarch64"]
    assert "macosx" in wheels["osx-arm64"] and "arm64" in wheels["osx-arm64"]
    assert "macosx" in wheels["osx-64"] and "x86_64" in wheels["osx-64"]
    assert wheels["win-64"].endswith("win_amd64.whl")
    assert "__glibc=2.28=0" in lock.for_platform("linux-64").virtual_packages
    assert "__win=0=0" in lock.for_platform("win-64").virtual_packages
    # One full_id covers all platforms; `install` takes the host's part and the lock is
    # still current for the spec file that names no platforms.
    assert amber("lock", "-f", spec, "--check").returncode == 0
    out = amber("run", "-f", spec, "--", "sh", "-c", "cat $CONDA_PREFIX/python-marker.txt")
    assert out.stdout.strip() == "linux-64", out


def test_install_says_when_the_lock_lacks_this_platform(amber, five_platform_channel, tmp_path):
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{five_platform_channel}']\ndependencies: [libfoo]\nplatforms: [osx-arm64]\n",
    )
    amber("lock", "-f", spec, check=True)
    result = amber("install", "-f", tmp_path / "amber.lock")
    assert result.returncode == 2
    assert "no packages for this platform (linux-64)" in result.stderr
    assert "osx-arm64" in result.stderr


@needs_shared
def test_system_requirements_enable_virtual_packages(amber, tmp_path: Path):
    channel = PIXI / "virtual_packages"
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{channel}']\ndependencies: [cuda]\nplatforms: [linux-64, win-64]\n",
    )
    refused = amber("lock", "-f", spec)
    assert refused.returncode == 2 and "__cuda" in refused.stderr
    spec.write_text(spec.read_text() + "system-requirements:\n  cuda: '12'\n")
    amber("lock", "-f", spec, check=True)
    lock = Lock.read(tmp_path / "amber.lock")
    for platform in ("linux-64", "win-64"):
        assert "__cuda=12=0" in lock.for_platform(platform).virtual_packages
        assert [c.name for c in lock.for_platform(platform).conda] == ["cuda"]


@needs_shared
def test_update_moves_only_the_named_package(amber, tmp_path: Path):
    channel = PIXI / "multiple_versions_channel_1"
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{channel}']\ndependencies: [package=0.1.0, package2=0.1.0, package4=0.1.0]\n",
    )
    amber("lock", "-f", spec, check=True)
    before = versions(Lock.read(tmp_path / "amber.lock"))
    assert before == {"package": "0.1.0", "package2": "0.1.0", "package3": "0.1.0",
                      "package4": "0.1.0"}  # fmt: skip
    spec.write_text(f"channels: ['{channel}']\ndependencies: [package, package2, package4]\n")
    result = amber("lock", "-f", spec, "--update", "package4", check=True)
    after = versions(Lock.read(tmp_path / "amber.lock"))
    assert after["package4"] == "0.2.0" and after["package3"] == "0.2.0"  # forced by package4
    assert {k: v for k, v in after.items() if k not in ("package4", "package3")} == {
        "package": "0.1.0",
        "package2": "0.1.0",
    }
    assert "package4" in result.stderr and "0.1.0" in result.stderr and "0.2.0" in result.stderr
    missing = amber("lock", "-f", spec, "--update", "nosuchpkg")
    assert missing.returncode == 2 and "not in the lock" in missing.stderr


def test_update_of_a_pypi_package(amber, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "idna==3.4\nsix==1.16.0\n")
    amber("lock", "-f", spec, "--python", "3.11", check=True)
    spec.write_text("idna\nsix\n")
    amber("lock", "-f", spec, "--python", "3.11", "--update", "six", check=True)
    after = versions(Lock.read(tmp_path / "amber.lock"))
    assert after["idna"] == "3.4" and after["six"] != "1.16.0"


@needs_shared
def test_as_of_reproduces_the_past(amber, tmp_path: Path):
    channel = PIXI / "multiple_versions_channel_1"
    # package 0.1.0 was published a few seconds before 0.2.0.
    cutoff = datetime.datetime.fromtimestamp(1768230458, tz=datetime.UTC).isoformat()
    text = f"channels: ['{channel}']\ndependencies: [package]\n"
    spec = write(tmp_path / "environment.yml", text)
    amber("lock", "-f", spec, "--as-of", cutoff, check=True)
    lock_file = tmp_path / "amber.lock"
    first = lock_file.read_bytes()
    lock = Lock.read(lock_file)
    assert versions(lock)["package"] == "0.1.0"
    assert lock.spec.as_of.startswith("2026-01-12T")
    # Re-resolving later with the recorded as-of gives the same bytes.
    amber("lock", "-f", spec, "--as-of", cutoff, "-o", tmp_path / "again.lock", check=True)
    assert (tmp_path / "again.lock").read_bytes() == first
    amber("lock", "-f", spec, "-o", tmp_path / "now.lock", check=True)
    assert versions(Lock.read(tmp_path / "now.lock"))["package"] == "0.2.0"


def test_as_of_applies_to_pypi_too(amber, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "six\n")
    amber("lock", "-f", spec, "--python", "3.11", "--as-of", "2020-01-01", check=True)
    assert versions(Lock.read(tmp_path / "amber.lock"))["six"] == "1.13.0"


@pytest.mark.skipif(not SNAPSHOT.is_dir(), reason="../shared/data is not beside us")
def test_as_of_at_realistic_scale(amber, tmp_path: Path):
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{SNAPSHOT}']\ndependencies: [python=3.6, numpy, pandas, scipy]\n",
    )
    amber("lock", "-f", spec, "--as-of", "2017-10-01", "-o", tmp_path / "old.lock", check=True)
    amber("lock", "-f", spec, "-o", tmp_path / "new.lock", check=True)
    old = versions(Lock.read(tmp_path / "old.lock"))
    new = versions(Lock.read(tmp_path / "new.lock"))
    assert old["numpy"] < new["numpy"] and old["pandas"] < new["pandas"]
    assert len(old) > 20


def test_check(amber, conda_channel: Path, tmp_path: Path):
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python, libfoo]\n",
    )
    missing = amber("lock", "-f", spec, "--check")
    assert missing.returncode == 1 and "no lock file" in missing.stderr
    amber("lock", "-f", spec, check=True)
    ok = amber("lock", "-f", spec, "--check")
    assert ok.returncode == 0 and "up to date" in ok.stderr
    # Stale: the spec changed since.
    spec.write_text(spec.read_text().replace("libfoo", "libfoo, datafiles"))
    stale = amber("lock", "-f", spec, "--check")
    assert stale.returncode == 1 and "stale" in stale.stderr and "conda" in stale.stderr
    spec.write_text(spec.read_text().replace("libfoo, datafiles", "libfoo"))
    assert amber("lock", "-f", spec, "--check").returncode == 0
    # Inconsistent: edited by hand.
    lock_file = tmp_path / "amber.lock"
    lock_file.write_text(lock_file.read_text().replace("version: '2.0'", "version: '1.0'", 1))
    edited = amber("lock", "-f", spec, "--check")
    assert edited.returncode == 1 and "inconsistent" in edited.stderr


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd, capture_output=True, text=True,
    )  # fmt: skip


def test_merge_of_two_branches_that_each_added_a_package(amber, conda_channel, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    spec = repo / "environment.yml"
    body = ["  - python", "  - six", "  - datafiles", "  - libfoo >=1", "  - python >=3"]
    header = f"channels: ['{conda_channel}']\ndependencies:\n"
    spec.write_text(header + "\n".join(body) + "\n")
    amber("lock", "-f", spec, check=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    base = Lock.read(repo / "amber.lock")

    _git(repo, "checkout", "-qb", "a")
    spec.write_text(header + "\n".join(["  - greetlib", *body]) + "\n")  # adds at the top
    amber("lock", "-f", spec, check=True)
    _git(repo, "commit", "-qam", "add greetlib")
    _git(repo, "checkout", "-q", "main")
    _git(repo, "checkout", "-qb", "b")
    spec.write_text(header + "\n".join([*body, "  - footool"]) + "\n")  # adds at the end
    amber("lock", "-f", spec, check=True)
    _git(repo, "commit", "-qam", "add footool")

    merged = _git(repo, "merge", "a")
    assert merged.returncode != 0 and "amber.lock" in merged.stdout  # the lock conflicts
    assert "<<<<<<<" in (repo / "amber.lock").read_text()
    assert "footool" in spec.read_text() and "greetlib" in spec.read_text()  # spec merged

    assert amber("lock", "-f", spec, "--check").returncode == 1
    amber("lock", "-f", spec, "--merge", check=True)
    result = Lock.read(repo / "amber.lock")
    got = versions(result)
    assert {"greetlib", "footool"} <= set(got)
    for name, version in versions(base).items():
        assert got[name] == version  # pins both sides agreed on are kept
    assert amber("lock", "-f", spec, "--check").returncode == 0


def test_add_changes_the_spec_and_the_lock_minimally(amber, conda_channel: Path, tmp_path: Path):
    spec = write(
        tmp_path / "environment.yml",
        f"""
        # our analysis env
        channels: ['{conda_channel}']
        dependencies:
          - python   # the interpreter
          - libfoo
        """,
    )
    amber("lock", "-f", spec, check=True)
    before = Lock.read(tmp_path / "amber.lock")
    result = amber("add", "datafiles", "-f", spec, check=True)
    assert "datafiles" in result.stderr and "added" in result.stderr
    text = spec.read_text()
    assert "# our analysis env" in text and "# the interpreter" in text and "datafiles" in text
    after = Lock.read(tmp_path / "amber.lock")
    assert versions(after) == {**versions(before), "datafiles": "0.1"}
    assert amber("lock", "-f", spec, "--check").returncode == 0

    amber("add", "--pypi", "idna==3.4", "-f", spec, check=True)
    assert "pip:" in spec.read_text()
    assert versions(Lock.read(tmp_path / "amber.lock"))["idna"] == "3.4"

    # A request that cannot be satisfied leaves the spec and the lock as they were.
    spec_bytes, lock_bytes = spec.read_bytes(), (tmp_path / "amber.lock").read_bytes()
    refused = amber("add", "libfoo>=9", "-f", spec)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert spec.read_bytes() == spec_bytes
    assert (tmp_path / "amber.lock").read_bytes() == lock_bytes


def test_diff_of_locks_and_envs(amber, conda_channel: Path, tmp_path: Path):
    one = write(
        tmp_path / "one" / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python, libfoo=1.0]\n",
    )
    two = write(
        tmp_path / "two" / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python, libfoo=2.0, datafiles]\n",
    )
    amber("lock", "-f", one, check=True)
    amber("lock", "-f", two, check=True)
    import json

    changes = json.loads(
        amber("diff", one.parent / "amber.lock", two.parent / "amber.lock", "--json").stdout
    )
    assert {(c["name"], c["action"]) for c in changes} == {
        ("libfoo", "updated"),
        ("datafiles", "added"),
    }
    text = amber("diff", one.parent / "amber.lock", two.parent / "amber.lock", check=True).stdout
    assert "libfoo" in text and "1.0" in text and "2.0" in text
    first = amber("install", "-f", one, check=True).stdout.strip()
    second = amber("install", "-f", two, check=True).stdout.strip()
    by_env = amber("diff", Path(first).name, Path(second).name, "--json", check=True)
    assert json.loads(by_env.stdout) == changes
    same = amber("diff", one.parent / "amber.lock", one.parent / "amber.lock", check=True)
    assert "No changes" in same.stdout


def test_git_merge_driver(amber, amber_home: Path, conda_channel, tmp_path):
    import os
    import sys

    repo = tmp_path / "repo"
    repo.mkdir()
    spec = repo / "environment.yml"
    body = ["  - python", "  - six", "  - datafiles", "  - libfoo >=1", "  - python >=3"]
    header = f"channels: ['{conda_channel}']\ndependencies:\n"
    spec.write_text(header + "\n".join(body) + "\n")
    amber("lock", "-f", spec, check=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / ".gitattributes").write_text("amber.lock merge=amber\n")
    amber_cmd = f"{sys.executable} -m amber"
    _git(repo, "config", "merge.amber.driver", f"{amber_cmd} merge-driver %O %A %B")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "checkout", "-qb", "a")
    spec.write_text(header + "\n".join(["  - greetlib", *body]) + "\n")
    amber("lock", "-f", spec, check=True)
    _git(repo, "commit", "-qam", "add greetlib")
    _git(repo, "checkout", "-q", "main")
    spec.write_text(header + "\n".join([*body, "  - footool"]) + "\n")
    amber("lock", "-f", spec, check=True)
    _git(repo, "commit", "-qam", "add footool")

    env = dict(os.environ, AMBER_HOME=str(amber_home))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e"]
    merged = subprocess.run(
        [*git, "merge", "-q", "--no-edit", "a"], cwd=repo, capture_output=True, text=True, env=env
    )
    assert merged.returncode == 0, merged.stderr + merged.stdout
    assert {"greetlib", "footool"} <= set(versions(Lock.read(repo / "amber.lock")))
    assert amber("lock", "-f", spec, "--check").returncode == 0


@pytest.mark.skipif(not SNAPSHOT.is_dir(), reason="../shared/data is not beside us")
def test_pypi_request_conflicting_with_conda_is_refused(amber, tmp_path: Path):
    # conda gives six 1.11.0 here (metadata only: the name and version stand for the dist);
    # PyPI may not silently replace or drop it.
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{SNAPSHOT}']\ndependencies: [python=3.6, six, {{pip: [six>=1.16]}}]\n",
    )
    result = amber("lock", "-f", spec)
    assert result.returncode == 2 and "six" in result.stderr
    assert not (tmp_path / "amber.lock").exists()
