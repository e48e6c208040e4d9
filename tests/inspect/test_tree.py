"""`amber tree` and `amber why`: why a package is in a lock, from real locks of real
channel packages (conda) and of real PyPI releases."""

from __future__ import annotations

import json
from pathlib import Path

import condapkgs
import pytest
from helpers import PIXI, write

from amber.lock import Lock

needs_shared = pytest.mark.skipif(not PIXI.is_dir(), reason="../shared/data is not beside us")


@pytest.fixture(scope="module")
def diamond_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """app needs liba and libb, both need libz, which needs glibc (a virtual package)."""
    pkgs = [
        condapkgs.CondaPackage("app", "1.0", depends=("liba >=1", "libb")),
        condapkgs.CondaPackage("liba", "1.0", depends=("libz 1.*",)),
        condapkgs.CondaPackage("libb", "2.1", depends=("libz >=1.0,<2",)),
        condapkgs.CondaPackage("libz", "1.3", depends=("__glibc >=2.17",)),
        condapkgs.CondaPackage("lonely", "0.1"),
    ]
    return condapkgs.build_channel(tmp_path_factory.mktemp("diamond"), pkgs)


@pytest.fixture
def diamond(tmp_path: Path, amber, diamond_channel: Path) -> Path:
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{diamond_channel}']\ndependencies: [app, libb]\nplatforms: [linux-64]\n",
    )
    amber("lock", "-f", spec, check=True)
    return tmp_path / "amber.lock"


def test_tree_marks_repeats_and_shows_virtual_packages(amber, diamond: Path) -> None:
    shown = amber("tree", diamond, check=True)
    assert shown.stdout == (
        "├── app v1.0\n"
        "│   ├── liba v1.0\n"
        "│   │   └── libz v1.3\n"
        "│   │       └── __glibc v2.28\n"
        "│   └── libb v2.1\n"
        "│       └── libz v1.3 (*)\n"
        "└── libb v2.1 (*)\n"
    )
    assert shown.stderr == ""


def test_tree_depth_and_invert(amber, diamond: Path) -> None:
    shallow = amber("tree", diamond, "--depth", "1", check=True)
    assert shallow.stdout == (
        "├── app v1.0\n│   ├── liba v1.0\n│   └── libb v2.1\n└── libb v2.1\n    └── libz v1.3\n"
    )
    inverted = amber("tree", diamond, "--invert", "libz", check=True)
    assert inverted.stdout == (
        "libz v1.3\n├── liba v1.0\n│   └── app v1.0\n└── libb v2.1\n    └── app v1.0 (*)\n"
    )
    glibc = amber("tree", diamond, "-i", "__glibc", "--depth", "1", check=True)
    assert glibc.stdout == "__glibc v2.28\n└── libz v1.3\n"
    data = json.loads(amber("tree", diamond, "--invert", "liba", "--json", check=True).stdout)
    assert data["platform"] == "linux-64" and data["inverted"] is True
    [liba] = data["dependents"]
    assert (liba["name"], liba["version"], liba["kind"], liba["requested"]) == (
        "liba", "1.0", "conda", None,
    )  # fmt: skip
    assert [(d["name"], d["requested"]) for d in liba["dependencies"]] == [("app", "app")]


def test_why_gives_the_shortest_chain_from_each_request(amber, diamond: Path) -> None:
    why = amber("why", "libz", diamond, check=True)
    assert why.stdout == (
        "libz 1.3 <- libb 2.1 <- requested: libb\n"
        "libz 1.3 <- liba 1.0 <- app 1.0 <- requested: app\n"
    )
    assert amber("why", "app", diamond, check=True).stdout == "app 1.0 <- requested: app\n"
    chains = json.loads(amber("why", "__glibc", diamond, "--json", check=True).stdout)["chains"]
    assert [[p["name"] for p in c["packages"]] for c in chains] == [
        ["__glibc", "libz", "libb"],
        ["__glibc", "libz", "liba", "app"],
    ]


def test_unknown_package_and_platform_are_clear_errors(amber, diamond: Path) -> None:
    for args in (("why", "numpy", diamond), ("tree", diamond, "--invert", "numpy")):
        refused = amber(*args)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert refused.stderr == (
            "error: 'numpy' is not in the lock for linux-64: `amber tree --platform linux-64` "
            "shows what is\n"
        )
    other = amber("tree", diamond, "--platform", "osx-arm64")
    assert other.returncode == 2 and "no packages for this platform (osx-arm64)" in other.stderr
    both = amber("tree", diamond, "-f", diamond)
    assert both.returncode == 2 and "not both" in both.stderr


def test_tree_of_the_spec_in_the_current_directory(amber, diamond: Path) -> None:
    # No argument: the spec file here, and the amber.lock beside it.
    here = amber("tree", "--depth", "0", cwd=diamond.parent, check=True)
    assert here.stdout == "├── app v1.0\n└── libb v2.1\n"


@needs_shared
def test_tree_of_the_pixi_channel(amber, tmp_path: Path) -> None:
    channel = PIXI / "multiple_versions_channel_1"
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{channel}']\ndependencies: [package4=0.1.0, package]\n",
    )
    amber("lock", "-f", spec, check=True)
    lock = tmp_path / "amber.lock"
    assert amber("tree", lock, check=True).stdout == (
        "├── package v0.2.0\n└── package4 v0.1.0\n    └── package3 v0.1.0\n"
    )
    assert amber("why", "package3", lock, check=True).stdout == (
        "package3 0.1.0 <- package4 0.1.0 <- requested: package4 0.1.0.*\n"
    )


# -- PyPI: what uv resolved, recorded in the lock --------------------------------------

REQUESTS = "requests==2.19.1\n"
AS_OF = "2018-12-01"  # certifi 2018.11.29 was the newest then


@pytest.fixture(scope="module")
def requests_lock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os
    import subprocess
    import sys

    where = tmp_path_factory.mktemp("requests")
    write(where / "requirements.txt", REQUESTS)
    env = {**os.environ, "AMBER_HOME": str(where / "home")}
    subprocess.run(
        [sys.executable, "-m", "amber", "lock", "-f", "requirements.txt", "--python", "3.11",
         "--platform", "linux-64", "--as-of", AS_OF],
        cwd=where, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return where / "amber.lock"


def test_pypi_tree_from_what_the_lock_records(amber, requests_lock: Path) -> None:
    body = Lock.read(requests_lock).for_platform("linux-64")
    requires = {p.name: p.requires for p in body.pypi}
    assert requires == {
        "certifi": (),
        "chardet": (),
        "idna": (),
        "requests": ("certifi", "chardet", "idna", "urllib3"),
        "urllib3": (),
    }
    assert amber("tree", requests_lock, check=True).stdout == (
        "└── requests v2.19.1\n"
        "    ├── certifi v2018.11.29\n"
        "    ├── chardet v3.0.4\n"
        "    ├── idna v2.7\n"
        "    └── urllib3 v1.23\n"
    )
    assert amber("tree", requests_lock, "-i", "URLLib3", check=True).stdout == (
        "urllib3 v1.23\n└── requests v2.19.1\n"
    )
    assert amber("why", "idna", requests_lock, check=True).stdout == (
        "idna 2.7 <- requests 2.19.1 <- requested: requests==2.19.1\n"
    )


def test_a_lock_without_recorded_pypi_dependencies_still_reads(
    amber, requests_lock: Path, tmp_path: Path
) -> None:
    """A lock written before `requires` existed: the same full_id, a tree that says what
    it lacks."""
    text = requests_lock.read_text()
    lines = text.splitlines(keepends=True)
    old_lines, skipping = [], False
    for line in lines:
        if line.strip() == "requires:" or line.strip() == "requires: []":
            skipping = line.strip() == "requires:"
            continue
        if skipping and line.startswith("      - "):
            continue
        skipping = False
        old_lines.append(line)
    old = tmp_path / "old.lock"
    old.write_text("".join(old_lines))
    assert "requires" not in old.read_text()
    assert Lock.read(old).full_id == Lock.read(requests_lock).full_id
    assert Lock.read(old).for_platform("linux-64").pypi[0].requires is None
    shown = amber("tree", old, check=True)
    assert shown.stdout == "└── requests v2.19.1\n"
    assert "does not record what its 5 PyPI packages depend on" in shown.stderr
    assert "`amber lock` again" in shown.stderr
    lonely = amber("why", "urllib3", old, check=True)
    assert lonely.stdout == ""
    assert "urllib3 1.23 is in the lock for linux-64, but no requested package" in lonely.stderr


def test_mixed_env_follows_pypi_dependencies_into_conda(
    amber, tmp_path: Path, conda_channel: Path
) -> None:
    """python-dateutil (PyPI) needs six, which the conda package six provides."""
    spec = write(
        tmp_path / "environment.yml",
        f"""
        channels: ['{conda_channel}']
        dependencies:
          - python
          - six
          - pip:
            - python-dateutil==2.8.2
        """,
    )
    amber("lock", "-f", spec, check=True)
    lock = tmp_path / "amber.lock"
    body = Lock.read(lock).for_platform("linux-64")
    python = body.python
    assert [p.name for p in body.pypi] == ["python-dateutil"]
    assert amber("tree", lock, check=True).stdout == (
        f"├── python v{python}\n"
        "├── python-dateutil v2.8.2 [pypi]\n"
        "│   └── six v1.16.0\n"
        "│       └── python v" + python + " (*)\n"
        "└── six v1.16.0 (*)\n"
    )
    assert amber("why", "six", lock, check=True).stdout == (
        "six 1.16.0 <- requested: six\n"
        "six 1.16.0 <- python-dateutil 2.8.2 [pypi] <- requested: python-dateutil==2.8.2\n"
    )
