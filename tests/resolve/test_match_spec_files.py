"""``fn=`` in a match spec, and legacy ``track_features``: as conda reads them."""

from __future__ import annotations

from pathlib import Path

import condapkgs
import pytest

from amber.errors import ResolveError
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec


@pytest.fixture
def channel(tmp_path: Path) -> str:
    def lib(version: str, build: str, number: int = 0, **kw: object) -> condapkgs.CondaPackage:
        return condapkgs.CondaPackage(
            name="lib", version=version, build=build, build_number=number,
            files={"lib.txt": f"{version} {build}\n".encode()}, **kw,  # type: ignore[arg-type]
        )  # fmt: skip

    packages = [
        lib("1.0", "a_0"),
        lib("2.0", "a_0"),
        lib("2.0", "b_1", 1),
        lib("2.0", "b_1", 1, fmt=".tar.bz2"),
        # conda's legacy features: a build that tracks one is taken last, whatever its number.
        condapkgs.CondaPackage(name="blas", version="1.0", build="mkl_5", build_number=5,
                               track_features="mkl", files={"b.txt": b"mkl\n"}),
        condapkgs.CondaPackage(name="blas", version="1.0", build="openblas_0",
                               files={"b.txt": b"openblas\n"}),
    ]  # fmt: skip
    return condapkgs.build_channel(tmp_path / "channel", packages).as_uri()


def _solve(tmp_path: Path, channel: str, *conda: str) -> dict[str, str]:
    caches = ResolveCaches(tmp_path / "r", tmp_path / "u", tmp_path / "p")
    lock = resolve(Spec.create(conda=conda, channels=[channel]), caches)
    return {c.name: c.file_name for c in lock.for_platform("linux-64").conda}


def test_fn_locks_that_very_file(tmp_path: Path, channel: str) -> None:
    assert _solve(tmp_path, channel, "lib") == {"lib": "lib-2.0-b_1.conda"}
    assert _solve(tmp_path, channel, "lib[fn=lib-1.0-a_0.conda]") == {"lib": "lib-1.0-a_0.conda"}
    assert _solve(tmp_path, channel, "lib[fn=lib-2.0-a_0.conda]") == {"lib": "lib-2.0-a_0.conda"}


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("lib[fn=lib-2.0-b_1.tar.bz2]", "lib 2.0 b_1 for linux-64 is lib-2.0-b_1.conda"),
        ("lib[fn=other-2.0-b_1.conda]", "fn='other-2.0-b_1.conda' is not a file of 'lib'"),
        ("lib[fn=lib.zip]", "fn='lib.zip' is not a file of 'lib'"),
    ],
)  # fmt: skip
def test_fn_that_cannot_be_honoured_is_refused(
    tmp_path: Path, channel: str, spec: str, said: str
) -> None:
    with pytest.raises(ResolveError, match=said.replace(".", r"\.")):
        _solve(tmp_path, channel, spec)


def test_track_features_are_taken_last_as_in_conda(tmp_path: Path, channel: str) -> None:
    assert _solve(tmp_path, channel, "blas") == {"blas": "blas-1.0-openblas_0.conda"}
    assert _solve(tmp_path, channel, "blas=*=mkl*") == {"blas": "blas-1.0-mkl_5.conda"}
    wanted = _solve(tmp_path, channel, "blas[track_features=mkl]")
    assert wanted == {"blas": "blas-1.0-mkl_5.conda"}
