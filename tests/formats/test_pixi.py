"""pixi: pixi.lock environments, custom platform names and comments; pixi.lock version 6;
pixi.toml and ``[tool.pixi]`` as specs; round trips of real pixi archives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from helpers import write

from amber.errors import LockFileError
from amber.formats import ExportOptions, pixi
from amber.lock import Lock

REAL = Path(__file__).resolve().parents[3] / "shared" / "data"
LOCKS = REAL / "real" / "pixi-lock"
PIXI_CHANNELS = REAL / "channels" / "pixi"
needs_real = pytest.mark.skipif(not LOCKS.is_dir(), reason="the shared real data is not here")


def _envs_of(path: Path) -> dict:
    return yaml.safe_load(path.read_text().split("\npackages:", 1)[0])["environments"]


# -- pixi.lock: environments, platforms, comments ----------------------------------------


@needs_real
def test_lock_dash_f_chooses_the_environment(amber, tmp_path: Path):
    source = LOCKS / "examples__solve-groups__pixi.lock"  # default, max-py310, min-py38
    lock_file = shutil.copy(source, tmp_path / "pixi.lock")
    out = amber("lock", "-f", lock_file, "--environment", "max-py310", "-o", tmp_path / "a.lock")
    assert out.returncode == 0, out
    names = {c.name for b in Lock.read(tmp_path / "a.lock").platforms.values() for c in b.conda}
    assert "pydantic" in names and "py-rattler" not in names  # that environment's, not default's
    # None chosen among several: default, with a note naming the others.
    out = amber("lock", "-f", lock_file, "-o", tmp_path / "b.lock")
    assert out.returncode == 0, out
    assert "max-py310" in out.stderr and "--environment" in out.stderr
    assert "py-rattler" in {
        c.name for c in Lock.read(tmp_path / "b.lock").platforms["linux-64"].conda
    }
    # A name it doesn't have: exit 2, listing those it has.
    out = amber("lock", "-f", lock_file, "--environment", "nope", "-o", tmp_path / "c.lock")
    assert out.returncode == 2, out
    assert "min-py38" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "c.lock").exists()


@needs_real
def test_custom_platform_names_map_to_their_subdir(tmp_path: Path):
    text = (LOCKS / "examples__multi-machine__pixi.lock").read_text()
    # Keep p1 (win-64 with __cuda) and drop the plain win-64, so no subdir has two.
    data = yaml.safe_load(text)
    data["platforms"] = [p for p in data["platforms"] if p["name"] not in ("win-64", "p2")]
    env = data["environments"]["default"]["packages"]
    del env["win-64"], env["p2"]
    path = tmp_path / "pixi.lock"
    path.write_text(
        "# written by pixi\n# a second comment\n" + yaml.safe_dump(data, sort_keys=False)
    )
    assert pixi.detect(path, path.read_text()[:4096])  # comments first, still a pixi.lock
    lock = pixi.read(path)
    assert sorted(lock.platforms) == ["linux-64", "osx-arm64", "win-64"]
    assert "__cuda=12" in lock.platforms["win-64"].virtual_packages
    assert len(lock.platforms["win-64"].conda) == len(env["p1"])
    # Two names for one subdir (linux-64 and p2): refused, naming both.
    with pytest.raises(Exception, match="p2"):
        pixi.read(LOCKS / "examples__multi-machine__pixi.lock")


@needs_real
def test_source_packages_are_refused_by_name(amber, tmp_path: Path):
    lock_file = shutil.copy(
        LOCKS / "docs__source_files__pixi_workspaces__pixi_build__python__pixi.lock",
        tmp_path / "pixi.lock",
    )
    out = amber("lock", "-f", lock_file)
    assert out.returncode == 2, out
    assert "`python_rich`" in out.stderr and "pixi-build" in out.stderr
    assert not (tmp_path / "amber.lock").exists()
    # A source tree (`pypi: .`) is a local project, installed from the lock's folder.
    tree = pixi.read(LOCKS / "tests__data__mock-projects__test-rebuild__pixi.lock")
    local = [
        (w.name, w.path, w.editable) for b in tree.platforms.values() for w in b.pypi if w.path
    ]
    assert local == [("pypi", ".", False)]


@needs_real
def test_md5_only_records_are_refused_by_name():
    with pytest.raises(Exception, match=r"`build-tool`.*md5 but no sha256"):
        pixi.read(LOCKS / "test-data__conda-lock__v7__conda-source-build-host-packages-lock.yml")


# -- real pixi archives: round trips, version 6 -------------------------------------------


@pytest.fixture
def pixi_lock(amber, tmp_path: Path) -> Lock:
    """An Amber lock of real pixi archives (dummy_channel_1), linux-64 and osx-arm64."""
    if not PIXI_CHANNELS.is_dir():
        pytest.skip("the shared real data is not here")
    channel = (PIXI_CHANNELS / "dummy_channel_1").as_uri()
    spec = write(
        tmp_path / "spec" / "environment.yml", f"channels: ['{channel}']\ndependencies: [dummy-a]\n"
    )
    amber("lock", "-f", spec, "-p", "linux-64", "-p", "osx-arm64", check=True)
    return Lock.read(spec.parent / "amber.lock")


@pytest.mark.parametrize("version", [7, 6])
def test_pixi_lock_round_trip_keeps_full_id(pixi_lock: Lock, version: int, tmp_path: Path):
    from rattler import LockFile

    exported = pixi.export(pixi_lock, ExportOptions(lock_version=version))
    path = tmp_path / "pixi.lock"
    path.write_text(exported.text)
    assert exported.text.startswith(f"version: {version}\n")
    env = LockFile.from_path(path).environment("default")  # rattler reads it
    assert sorted(p.name for p in env.platforms()) == sorted(pixi_lock.platforms)
    assert pixi.read(path).full_id == pixi_lock.full_id
    if version == 6:
        assert "platforms:" not in exported.text.split("environments:")[0]
        assert any("virtual packages" in line for line in exported.lost)


def test_lock_version_it_cannot_write_is_refused(amber, pixi_lock: Lock, tmp_path: Path):
    lock_path = tmp_path / "spec" / "amber.lock"
    out = amber(
        "export", lock_path, "--format", "pixi", "--lock-version", "5", "-o", tmp_path / "x"
    )
    assert out.returncode == 2, out
    assert "6, 7" in out.stderr and not (tmp_path / "x").exists()
    out = amber("export", lock_path, "--format", "explicit", "--lock-version", "6")
    assert out.returncode == 2 and "--lock-version" in out.stderr, out
    out = amber("export", lock_path, "--format", "pixi", "--lock-version", "6")
    assert out.returncode == 0 and out.stdout.startswith("version: 6\n"), out


# -- pixi.toml and [tool.pixi] as specs -------------------------------------------------

# Shaped after pixi's own examples/solve-groups/pixi.toml (prefix-dev/pixi, BSD-3-Clause),
# with the package names of the test channel.
SOLVE_GROUPS = """\
[project]
name = "solve-groups"
version = "0.1.0"
channels = ["{channel}"]
platforms = ["linux-64"]

[dependencies]
python = "*"

[feature.max_py310.dependencies]
six = "*"

[feature.min_py38.dependencies]
greetlib = "*"

[feature.min_py38.activation.env]
GREETING = "hello"

[environments]
min-py38 = {{ features = ["min_py38"], solve-group = "group1" }}
max-py310 = {{ features = ["max_py310"], solve-group = "group1" }}
default = ["min_py38"]
"""


def _locked(path: Path) -> set[str]:
    return {c.name for b in Lock.read(path).platforms.values() for c in b.conda}


def test_pixi_toml_is_a_spec_with_environments(amber, tmp_path: Path, conda_channel_url: str):
    manifest = write(tmp_path / "pixi.toml", SOLVE_GROUPS.format(channel=conda_channel_url))
    out = amber("lock", "-f", manifest)
    assert out.returncode == 0, out
    assert {"python", "greetlib"} <= _locked(tmp_path / "amber.lock")
    assert "six" not in _locked(tmp_path / "amber.lock")
    assert dict(Lock.read(tmp_path / "amber.lock").spec.variables) == {"GREETING": "hello"}
    out = amber("lock", "-f", manifest, "--environment", "max-py310", "-o", tmp_path / "m.lock")
    assert out.returncode == 0, out
    assert "solve-group" in out.stderr  # said, not silently ignored
    assert {"python", "six"} <= _locked(tmp_path / "m.lock")
    assert "greetlib" not in _locked(tmp_path / "m.lock")
    out = amber("lock", "-f", manifest, "--environment", "gpu")
    assert out.returncode == 2 and "max-py310" in out.stderr, out


def test_pyproject_with_tool_pixi_is_a_conda_env(amber, tmp_path: Path, conda_channel_url: str):
    manifest = write(
        tmp_path / "pyproject.toml",
        f"""\
        [project]
        name = "demo"
        dependencies = []

        [tool.pixi.workspace]
        channels = ["{conda_channel_url}"]
        platforms = ["linux-64"]

        [tool.pixi.dependencies]
        python = "*"
        six = "*"
        """,
    )
    out = amber("lock", "-f", manifest)
    assert out.returncode == 0, out
    assert {"python", "six"} <= _locked(tmp_path / "amber.lock")


@pytest.mark.parametrize(
    "table,culprit",
    [
        ('[pypi-dependencies]\ndemo = { path = ".", editable = true }\n', "demo"),
        ('[dependencies]\nmine = { path = "./recipe" }\n', "mine"),
        ('[target.osx-arm64.dependencies]\nsix = "*"\n', "target.osx-arm64"),
    ],
)
def test_what_amber_cannot_say_is_refused_by_name(
    amber, tmp_path: Path, conda_channel_url: str, table: str, culprit: str
):
    manifest = write(
        tmp_path / "pixi.toml",
        f'[workspace]\nchannels = ["{conda_channel_url}"]\n'
        f'platforms = ["linux-64", "osx-arm64"]\n\n{table}',
    )
    out = amber("lock", "-f", manifest)
    assert out.returncode == 2, out
    assert culprit in out.stderr and "pixi.toml:" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "amber.lock").exists()


@pytest.mark.parametrize(
    "packages",
    ["packages: linux-64", "packages:\n      linux-64: conda-forge/numpy"],
    ids=["packages-a-string", "refs-a-string"],
)
def test_an_environment_whose_packages_are_no_mapping_is_refused_by_name(
    tmp_path: Path, packages: str
):
    """Found by tests/test_fuzz_inputs.py (a traceback): the environment is named instead."""
    path = write(
        tmp_path / "pixi.lock",
        f"version: 6\nenvironments:\n  default:\n    channels: []\n    {packages}\npackages: []\n",
    )
    with pytest.raises(LockFileError, match=r"pixi\.lock: environment 'default': `packages`"):
        pixi.read(path)
