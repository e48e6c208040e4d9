"""pip's ``--hash`` in a spec: the file locked is one the hash names, as pip checks it."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write

from amber.errors import ResolveError, SpecError
from amber.resolve import ResolveCaches, resolve
from amber.spec import read_spec

SIX_WHEEL = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"  # six 1.16.0
SIX_SDIST = "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926"


@pytest.fixture
def caches(tmp_path: Path) -> ResolveCaches:
    return ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")


def _pip_spec(tmp_path: Path, *lines: str) -> Path:
    body = "".join(f"      - {line}\n" for line in lines)
    return write(tmp_path / "environment.yml", f"dependencies:\n  - pip:\n{body}")


def test_the_hashed_file_is_locked(tmp_path: Path, caches: ResolveCaches) -> None:
    path = write(tmp_path / "requirements.txt", f"six==1.16.0 --hash=sha256:{SIX_SDIST}\n")
    spec = read_spec(path, python="3.11")
    assert spec.pypi_hashes == (("six", (SIX_SDIST,)),)
    [six] = resolve(spec, caches).for_platform(spec.target_platforms[0]).pypi
    assert six.sha256 == SIX_SDIST  # pip would take this file: the only one the hash allows
    assert six.file_name == "six-1.16.0.tar.gz"


def test_a_hash_mismatch_fails_as_with_pip(tmp_path: Path, caches: ResolveCaches) -> None:
    path = write(tmp_path / "requirements.txt", f"six==1.16.0 --hash=sha256:{'0' * 64}\n")
    with pytest.raises(ResolveError, match="DO NOT MATCH THE HASHES") as info:
        resolve(read_spec(path, python="3.11"), caches)
    assert SIX_WHEEL in str(info.value)


def test_hash_checking_mode_needs_every_package_hashed(
    tmp_path: Path, caches: ResolveCaches
) -> None:
    path = write(
        tmp_path / "requirements.txt",
        f"six==1.16.0 --hash=sha256:{SIX_WHEEL}\nidna==3.7\n",
    )
    with pytest.raises(ResolveError, match="these have none: idna==3.7"):
        resolve(read_spec(path, python="3.11"), caches)


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("six==1.16.0 --hash=md5:0123", "Amber checks sha256 hashes only"),
        ("six==1.16.0 --hash=sha256:zz", "invalid hash"),
    ],
)
def test_bad_hashes_are_refused_naming_the_line(tmp_path: Path, line: str, said: str) -> None:
    path = _pip_spec(tmp_path, line)
    with pytest.raises(SpecError, match=said) as info:
        read_spec(path)
    assert str(info.value).startswith(f"{path}:")
