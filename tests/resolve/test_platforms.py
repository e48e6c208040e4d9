"""Every platform rattler knows, on the PyPI side: the right wheel tags, or a clear refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from amber.errors import ResolveError
from amber.resolve import ResolveCaches, resolve
from amber.resolve.wheels import wheel_tags
from amber.spec import Spec


@pytest.mark.parametrize(
    ("platform", "best"),
    [
        ("linux-ppc64le", "cp311-cp311-manylinux_2_28_ppc64le"),
        ("linux-s390x", "cp311-cp311-manylinux_2_28_s390x"),
        ("linux-aarch64", "cp311-cp311-manylinux_2_28_aarch64"),
        ("win-arm64", "cp311-cp311-win_arm64"),
        ("win-32", "cp311-cp311-win32"),
    ],
)
def test_wheel_tags_are_the_platforms_own(platform: str, best: str) -> None:
    ranks = wheel_tags("3.11", platform, {})
    assert str(min(ranks, key=ranks.__getitem__)) == best
    assert not any("x86_64" in str(tag) or "amd64" in str(tag) for tag in ranks)


def test_a_platform_uv_cannot_target_is_refused_for_pypi(tmp_path: Path) -> None:
    spec = Spec.create(pypi=["six"], python="3.11", platforms=["linux-ppc64le"])
    caches = ResolveCaches(tmp_path / "r", tmp_path / "u", tmp_path / "p")
    with pytest.raises(ResolveError, match="uv cannot resolve PyPI packages for linux-ppc64le"):
        resolve(spec, caches)
