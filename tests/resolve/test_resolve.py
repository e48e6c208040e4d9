"""resolve on its own: a Spec against a real local channel (and PyPI) becomes a Lock."""

from __future__ import annotations

from pathlib import Path

import condapkgs
import pytest

from amber.errors import ResolveError
from amber.lock import Lock
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec


@pytest.fixture
def caches(tmp_path: Path) -> ResolveCaches:
    return ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")


def _versions(lock: Lock, platform: str = "linux-64") -> dict[str, str]:
    body = lock.for_platform(platform)
    return {p.name: p.version for p in (*body.conda, *body.pypi)}


def test_dependencies_and_run_exports_are_followed(caches: ResolveCaches, conda_channel_url: str):
    lock = resolve(Spec.create(conda=["footool"], channels=[conda_channel_url]), caches)
    assert _versions(lock) == {"footool": "1.0", "libfoo": "2.0"}
    [body] = lock.platforms.values()
    assert all(len(c.sha256) == 64 and c.url.startswith(conda_channel_url) for c in body.conda)


def test_the_same_request_however_written_is_one_lock(
    caches: ResolveCaches, conda_channel_url: str
) -> None:
    one = Spec.create(conda=["footool", "greetlib", "python"], channels=[conda_channel_url])
    two = Spec.create(conda=["python", "greetlib ", "footool"], channels=[conda_channel_url])
    assert one.req_id == two.req_id
    assert resolve(one, caches).dumps() == resolve(two, caches).dumps()


def test_pins_are_kept_unless_updated(
    caches: ResolveCaches, tmp_path: Path, conda_packages: list[condapkgs.CondaPackage]
) -> None:
    channel = condapkgs.build_channel(tmp_path / "ch", conda_packages)
    url = channel.as_uri()
    spec = Spec.create(conda=["libfoo"], channels=[url])
    first = resolve(spec, caches)
    assert _versions(first)["libfoo"] == "2.0"
    condapkgs.build_channel(channel, [condapkgs.libfoo_package("2.5")])  # a newer release
    fresh = ResolveCaches(tmp_path / "repodata2", caches.uv, caches.conda_pkgs)
    assert _versions(resolve(spec, fresh, previous=first))["libfoo"] == "2.0"
    assert _versions(resolve(spec, fresh, previous=first, update=["libfoo"]))["libfoo"] == "2.5"


def test_an_unsatisfiable_request_names_what_conflicts(
    caches: ResolveCaches, conda_channel_url: str
) -> None:
    spec = Spec.create(conda=["footool", "oldlib"], channels=[conda_channel_url])
    with pytest.raises(ResolveError, match="libfoo"):
        resolve(spec, caches)
    with pytest.raises(ResolveError, match="no-such-package"):
        resolve(Spec.create(conda=["no-such-package"], channels=[conda_channel_url]), caches)


def test_several_platforms_in_one_lock(caches: ResolveCaches, conda_channel_url: str) -> None:
    spec = Spec.create(
        conda=["datafiles"], channels=[conda_channel_url], platforms=["linux-64", "osx-arm64"]
    )
    lock = resolve(spec, caches)
    assert sorted(lock.platforms) == ["linux-64", "osx-arm64"]
    assert _versions(lock, "osx-arm64") == {"datafiles": "0.1"}  # noarch: every platform


def test_pypi_packages_are_pinned_with_hashes(caches: ResolveCaches) -> None:
    lock = resolve(Spec.create(pypi=["six==1.17.0"], python="3.11"), caches)
    [six] = lock.for_platform(next(iter(lock.platforms))).pypi
    assert (six.name, six.version, len(six.sha256)) == ("six", "1.17.0", 64)
    assert six.url.startswith("https://files.pythonhosted.org/")
