"""conda's channel_priority: strict, flexible (conda's default) and disabled.

No conda runs on these machines (it is not installable from PyPI or apt here), so the
expected outcomes are conda's documented behaviour, from its classic solver
(``conda/resolve.py``, ``Resolve.version_key``): with flexible priority a package's
channel rank counts before its version, so a higher-priority channel wins over a newer
build elsewhere, and a lower-priority channel is used only for the packages the higher
one cannot satisfy ("the solver may reach into lower priority channels to fulfill
dependencies, rather than raising an unsatisfiable error"); strict never looks past the
first channel that has a name; disabled takes the highest version wherever it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import condapkgs
import pytest
from helpers import PIXI, SNAPSHOT, write

from amber.errors import ResolveError, SpecError
from amber.lock import Lock
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec

P = condapkgs.CondaPackage


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(high, low): the high-priority channel has the old builds, the low one the new."""
    root = tmp_path_factory.mktemp("priority")
    high = condapkgs.build_channel(
        root / "high",
        [
            P("libfoo", "1.0"),
            P("otherlib", "1.0"),
            P("app", "1.0", depends=("libfoo >=2",)),
            P("needy", "1.0", depends=("otherlib >=2",)),
        ],
    )
    low = condapkgs.build_channel(root / "low", [P("libfoo", "2.0"), P("otherlib", "2.0")])
    return high.as_uri(), low.as_uri()


@pytest.fixture
def caches(tmp_path: Path) -> ResolveCaches:
    return ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")


def _origin(lock: Lock, channels: tuple[str, str]) -> dict[str, tuple[str, str]]:
    """{name: (version, "high" | "low")} of the linux-64 packages."""
    names = {channels[0]: "high", channels[1]: "low"}
    body = lock.for_platform("linux-64")
    return {p.name: (p.version, names[p.channel.rstrip("/")]) for p in body.conda}


def _lock(caches: ResolveCaches, channels: tuple[str, str], deps: list[str], priority=None):
    spec = Spec.create(conda=deps, channels=channels, platforms=["linux-64"])
    return resolve(spec.with_channel_priority(priority), caches)


def test_flexible_reaches_into_a_lower_channel_only_where_it_must(caches, channels) -> None:
    with pytest.raises(ResolveError):
        _lock(caches, channels, ["libfoo >=2", "otherlib"], "strict")
    flexible = _lock(caches, channels, ["libfoo >=2", "otherlib"])
    assert _origin(flexible, channels) == {
        "libfoo": ("2.0", "low"),
        "otherlib": ("1.0", "high"),  # the higher channel still wins over a newer build
    }
    disabled = _lock(caches, channels, ["libfoo >=2", "otherlib"], "disabled")
    assert _origin(disabled, channels) == {"libfoo": ("2.0", "low"), "otherlib": ("2.0", "low")}


def test_flexible_is_strict_when_strict_solves_and_finds_dependencies_lower(
    caches, channels
) -> None:
    assert _origin(_lock(caches, channels, ["otherlib"]), channels) == {"otherlib": ("1.0", "high")}
    assert _origin(_lock(caches, channels, ["otherlib"], "disabled"), channels) == {
        "otherlib": ("2.0", "low")
    }
    # A package of the high channel whose dependency only the low one satisfies.
    assert _origin(_lock(caches, channels, ["app"]), channels) == {
        "app": ("1.0", "high"),
        "libfoo": ("2.0", "low"),
    }
    with pytest.raises(ResolveError, match="libfoo"):
        _lock(caches, channels, ["app"], "strict")


def test_flexible_relaxes_a_name_two_requirements_disagree_on(caches, channels) -> None:
    """``otherlib`` is asked for as is (its first channel has 1.0) and, through ``needy``,
    as ``>=2`` (only the low channel): rattler's strict priority, which picks a channel per
    requirement, finds no solution; conda's flexible takes otherlib 2.0 from the low one."""
    assert _origin(_lock(caches, channels, ["otherlib", "needy"]), channels) == {
        "needy": ("1.0", "high"),
        "otherlib": ("2.0", "low"),
    }


def test_the_priority_is_part_of_the_request(channels) -> None:
    spec = Spec.create(conda=["otherlib"], channels=channels)
    assert spec.with_channel_priority("flexible").req_id == spec.req_id  # conda's default
    strict = spec.with_channel_priority("strict")
    assert strict.req_id != spec.req_id
    again = Spec.from_canonical(strict.canonical())
    assert (again.channel_priority, again.req_id) == ("strict", strict.req_id)
    with pytest.raises(SpecError, match="'sticky'"):
        spec.with_channel_priority("sticky")


def test_cli_flag_over_settings_over_default(amber, channels, tmp_path: Path) -> None:
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{channels[0]}', '{channels[1]}']\ndependencies: ['libfoo >=2', otherlib]\n",
    )
    amber("lock", "-f", spec, check=True)  # flexible, conda's default
    config = write(tmp_path / "amber.toml", 'channel-priority = "strict"\n')
    strict = amber("lock", "-f", spec, "-o", tmp_path / "s.lock", env={"AMBER_CONFIG": config})
    assert strict.returncode == 2 and "libfoo" in strict.stderr, strict
    assert "Traceback" not in strict.stderr and not (tmp_path / "s.lock").exists()
    amber(
        "lock", "-f", spec, "--channel-priority", "disabled", "-o", tmp_path / "d.lock",
        env={"AMBER_CONFIG": str(config)}, check=True,
    )  # fmt: skip
    disabled = Lock.read(tmp_path / "d.lock")
    assert disabled.spec.channel_priority == "disabled"
    assert _origin(disabled, channels)["otherlib"] == ("2.0", "low")
    # `amber install` reads the same settings: the lock made under them is current.
    amber("lock", "-f", spec, "--check", check=True)
    conda_env = {"CONDA_CHANNEL_PRIORITY": "disabled"}
    stale = amber("lock", "-f", spec, "--check", env=conda_env)
    assert stale.returncode == 1, stale


@pytest.mark.skipif(not SNAPSHOT.is_dir(), reason="../shared/data is not beside us")
def test_flexible_on_the_defaults_snapshot(caches, tmp_path: Path) -> None:
    """A higher-priority mirror of defaults-2018 without the numpy builds >= 1.14 (a team's
    curated channel) over the full snapshot: only numpy comes from the full one."""
    high = tmp_path / "curated"
    for subdir in ("linux-64", "noarch"):
        data = json.loads((SNAPSHOT / subdir / "repodata.json").read_text())
        for key in ("packages", "packages.conda"):
            data[key] = {
                f: r
                for f, r in data.get(key, {}).items()
                if not (r["name"] == "numpy" and _at_least(r["version"], (1, 14)))
            }
        write(high / subdir / "repodata.json", json.dumps(data))
    both = (high.as_uri(), SNAPSHOT.as_uri())
    deps = ["python 3.6.*", "numpy >=1.14", "pandas"]
    with pytest.raises(ResolveError):
        _lock(caches, both, deps, "strict")
    lock = _lock(caches, both, deps)
    origin = {p.name: p.channel.rstrip("/") for p in lock.for_platform("linux-64").conda}
    assert origin.pop("numpy") == SNAPSHOT.as_uri()
    assert len(origin) > 10 and set(origin.values()) == {high.as_uri()}, origin
    versions = {p.name: p.version for p in lock.for_platform("linux-64").conda}
    assert _at_least(versions["numpy"], (1, 14))


@pytest.mark.skipif(not PIXI.is_dir(), reason="../shared/data is not beside us")
def test_pixi_dummy_channels_name_the_same_package(caches) -> None:
    """pixi's own test channels: dummy-b is in both, dummy-g (channel 1) depends on it."""
    first, second = (PIXI / "dummy_channel_2").as_uri(), (PIXI / "dummy_channel_1").as_uri()
    for priority in ("strict", None):
        lock = _lock(caches, (first, second), ["dummy-g"], priority)
        origin = {p.name: p.channel.rstrip("/") for p in lock.for_platform("linux-64").conda}
        assert origin == {"dummy-g": second, "dummy-b": first}, (priority, origin)
    # disabled: the same version in both; conda would take the first channel's, rattler
    # either (README: "Coming from conda").
    lock = _lock(caches, (first, second), ["dummy-g"], "disabled")
    assert {p.name for p in lock.for_platform("linux-64").conda} == {"dummy-g", "dummy-b"}


def _at_least(version: str, floor: tuple[int, int]) -> bool:
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= floor
    except (ValueError, IndexError):
        return False
