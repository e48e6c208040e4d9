"""amber.resolve.wheels: the file of a release an installer takes, by platform and Python;
amber.resolve.pypi.release_files: the files of a release, from the index."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from packaging.tags import parse_tag

from amber._uv import UvFailed
from amber.resolve.pypi import release_files
from amber.resolve.wheels import DistFile, best_file, file_version

# Real file names of numpy 2.1.0 and six 1.17.0 on PyPI (plus one manylinux_2_34 build).
NUMPY = [
    "numpy-2.1.0-cp311-cp311-macosx_11_0_arm64.whl",
    "numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-2.1.0-cp311-cp311-win_amd64.whl",
    "numpy-2.1.0-cp312-cp312-macosx_10_9_x86_64.whl",
    "numpy-2.1.0-cp312-cp312-macosx_11_0_arm64.whl",
    "numpy-2.1.0-cp312-cp312-macosx_14_0_arm64.whl",
    "numpy-2.1.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-2.1.0-cp312-cp312-manylinux_2_34_x86_64.whl",
    "numpy-2.1.0-cp312-cp312-musllinux_1_1_x86_64.whl",
    "numpy-2.1.0-cp312-cp312-win32.whl",
    "numpy-2.1.0-cp312-cp312-win_amd64.whl",
    "numpy-2.1.0.tar.gz",
]


def _files(*names: str) -> list[DistFile]:
    return [DistFile(n, f"https://files.example/{n}", f"{i:064x}") for i, n in enumerate(names)]


@pytest.mark.parametrize(
    ("platform", "python", "expected"),
    [
        ("linux-64", "3.12", "-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ("linux-64", "3.11.9", "-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ("linux-aarch64", "3.12", "-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"),
        ("osx-arm64", "3.12", "-cp312-cp312-macosx_11_0_arm64.whl"),
        ("osx-arm64", "3.11", "-cp311-cp311-macosx_11_0_arm64.whl"),
        ("osx-64", "3.12", "-cp312-cp312-macosx_10_9_x86_64.whl"),
        ("win-64", "3.12", "-cp312-cp312-win_amd64.whl"),
        ("win-64", "3.11", "-cp311-cp311-win_amd64.whl"),
        # No wheel for this interpreter or platform: the sdist.
        ("linux-64", "3.13", ".tar.gz"),
        ("osx-64", "3.11", ".tar.gz"),
        ("linux-aarch64", "3.11", ".tar.gz"),
    ],
)  # fmt: skip
def test_best_wheel_per_platform_and_python(platform: str, python: str, expected: str):
    picked = best_file(_files(*NUMPY), python, platform)
    assert picked is not None and picked.name == f"numpy-2.1.0{expected}"


def test_system_requirements_move_the_choice():
    # A newer glibc admits the manylinux_2_34 build, which ranks above 2_17; a newer macOS
    # admits the macosx_14_0 one.
    linux = best_file(_files(*NUMPY), "3.12", "linux-64", {"libc": "2.34"})
    assert linux is not None and linux.name == "numpy-2.1.0-cp312-cp312-manylinux_2_34_x86_64.whl"
    mac = best_file(_files(*NUMPY), "3.12", "osx-arm64", {"macos": "14.0"})
    assert mac is not None and mac.name == "numpy-2.1.0-cp312-cp312-macosx_14_0_arm64.whl"


def test_pure_wheel_beats_the_sdist_everywhere():
    files = _files("six-1.17.0.tar.gz", "six-1.17.0-py2.py3-none-any.whl")
    for platform in ("linux-64", "osx-arm64", "win-64"):
        picked = best_file(files, "3.12", platform)
        assert picked is not None and picked.name == "six-1.17.0-py2.py3-none-any.whl"


def test_installed_tags_name_the_wheel():
    # adopt: the wheel that was installed (its WHEEL tags) wins over the best one.
    installed = frozenset(parse_tag("cp312-cp312-musllinux_1_1_x86_64"))
    picked = best_file(_files(*NUMPY), "3.12", "linux-64", installed=installed)
    assert picked is not None and picked.name == "numpy-2.1.0-cp312-cp312-musllinux_1_1_x86_64.whl"


def test_nothing_fits_and_bad_names():
    files = _files("numpy-2.1.0-cp312-cp312-win32.whl", "not a wheel.whl")
    assert best_file(files, "3.12", "linux-64") is None
    assert best_file([], "3.12", "linux-64") is None


def test_release_files_from_the_index(tmp_path: Path):
    # The real PyPI: every file of the pinned release, with its sha256; then the one to take.
    found = asyncio.run(release_files(["Six==1.17.0"], "3.12", tmp_path / "uv"))
    names = sorted(f.name for f in found["six"])
    assert names == ["six-1.17.0-py2.py3-none-any.whl", "six-1.17.0.tar.gz"]
    assert all(len(f.sha256) == 64 and f.url.startswith("https://") for f in found["six"])
    picked = best_file(found["six"], "3.12", "win-64")
    assert picked is not None and picked.name.endswith(".whl")
    with pytest.raises(UvFailed) as failed:
        asyncio.run(release_files(["six==0.0.0.404"], "3.12", tmp_path / "uv"))
    assert "amber-uv-" not in failed.value.stderr


def test_file_version():
    assert file_version("numpy-2.1.0-cp312-cp312-win_amd64.whl") == "2.1.0"
    assert file_version("six-1.17.0.tar.gz") == "1.17.0"
    assert file_version("six-1.17.0.zip") == "1.17.0"
    assert file_version("not-a-wheel.whl") is None
    assert file_version("archive.tar.bz2") is None
