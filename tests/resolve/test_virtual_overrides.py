"""conda's CONDA_OVERRIDE_* variables, and what a solve that lacks a virtual package says."""

from __future__ import annotations

from pathlib import Path

import condapkgs
import pytest
from helpers import write

from amber.errors import ResolveError, SpecError
from amber.resolve import ResolveCaches, resolve
from amber.spec import read_spec


@pytest.fixture
def cuda_channel(tmp_path: Path) -> str:
    packages = [
        condapkgs.CondaPackage(
            name="gpulib", version="1.0", depends=("__cuda >=12",), files={"a.txt": b"gpu\n"}
        ),
        condapkgs.CondaPackage(
            name="newlib", version="1.0", depends=("__glibc >=2.34",), files={"b.txt": b"n\n"}
        ),
    ]
    return condapkgs.build_channel(tmp_path / "channel", packages).as_uri()


def _spec(tmp_path: Path, channel: str, dep: str, extra: str = "") -> Path:
    return write(
        tmp_path / dep / "environment.yml",
        f"channels: ['{channel}']\ndependencies: [{dep}]\n{extra}",
    )


def test_overrides_set_the_virtual_packages_as_in_conda(
    tmp_path: Path, cuda_channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    caches = ResolveCaches(tmp_path / "r", tmp_path / "u", tmp_path / "p")
    path = _spec(tmp_path, cuda_channel, "gpulib", "system-requirements: {cuda: '11'}\n")
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "12.4")
    monkeypatch.setenv("CONDA_OVERRIDE_GLIBC", "2.35")
    spec = read_spec(path)
    assert dict(spec.system_requirements) == {"cuda": "12.4", "libc": "2.35"}
    lock = resolve(spec, caches)
    assert "__cuda=12.4=0" in lock.for_platform("linux-64").virtual_packages
    assert lock.spec.system_requirements == spec.system_requirements  # recorded in the lock

    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")  # as in conda: no CUDA at all
    assert "cuda" not in dict(read_spec(path).system_requirements)
    monkeypatch.setenv("CONDA_OVERRIDE_GLIBC", "2.35 (new)")
    with pytest.raises(SpecError, match=r"CONDA_OVERRIDE_GLIBC='2.35 \(new\)'"):
        read_spec(path)


def test_a_missing_virtual_package_says_how_to_declare_it(
    tmp_path: Path, cuda_channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("CONDA_OVERRIDE_CUDA", "CONDA_OVERRIDE_GLIBC"):
        monkeypatch.delenv(variable, raising=False)
    caches = ResolveCaches(tmp_path / "r", tmp_path / "u", tmp_path / "p")
    with pytest.raises(ResolveError) as info:
        resolve(read_spec(_spec(tmp_path, cuda_channel, "gpulib")), caches)
    said = str(info.value)
    assert 'system-requirements: {cuda: "12"}' in said
    assert "CONDA_OVERRIDE_CUDA=12" in said
    with pytest.raises(ResolveError) as info:
        resolve(read_spec(_spec(tmp_path, cuda_channel, "newlib")), caches)
    assert "CONDA_OVERRIDE_GLIBC=2.34" in str(info.value)
    assert 'system-requirements: {libc: "2.34"}' in str(info.value)
