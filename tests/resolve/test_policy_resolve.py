"""Resolving within a policy: banned, refused-source and too-new conda packages are invisible
to the solver, and when that makes a request unsatisfiable the error says which rule
removed which needed package."""

from __future__ import annotations

import time
from pathlib import Path

import condapkgs
import pytest

from amber.errors import ResolveError
from amber.lock import Lock
from amber.policy import read_policy
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec

P = condapkgs.CondaPackage
NOW_MS = int(time.time() * 1000)
DAY_MS = 86_400_000

BAN = """\
[[bans]]
id = "openssl-3"
name = "openssl"
version = ">=3"
kind = "conda"
reason = "our FIPS module is certified for 1.1 only"
"""


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("policy-channel")
    condapkgs.build_channel(
        root / "chan",
        [
            P("openssl", "1.1.1"),
            P("openssl", "3.0.1"),
            P("curl", "8.0", depends=("openssl",)),
            P("pandas", "1.4.4", depends=("openssl >=3.0",)),
            P("fresh", "1.0"),
            P("fresh", "2.0", timestamp=NOW_MS - DAY_MS),
        ],
    )
    return (root / "chan").as_uri()


@pytest.fixture
def caches(tmp_path: Path) -> ResolveCaches:
    return ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")


def _versions(lock: Lock) -> dict[str, str]:
    return {p.name: p.version for p in lock.for_platform("linux-64").conda}


def _spec(channel: str, *deps: str) -> Spec:
    return Spec.create(conda=list(deps), channels=[channel], platforms=["linux-64"])


def test_banned_versions_are_invisible(channel: str, caches: ResolveCaches) -> None:
    spec = _spec(channel, "curl")
    assert _versions(resolve(spec, caches))["openssl"] == "3.0.1"
    policy = read_policy(BAN, "amber-policy.toml")
    lock = resolve(spec, caches, policy=policy)
    assert _versions(lock)["openssl"] == "1.1.1"
    assert lock.policy == policy.digest
    assert Lock.loads(lock.dumps()).policy == policy.digest


def test_unsatisfiable_says_which_rule_removed_what(channel: str, caches: ResolveCaches) -> None:
    policy = read_policy(BAN, "/org/amber-policy.toml")
    with pytest.raises(ResolveError) as info:
        resolve(_spec(channel, "pandas"), caches, policy=policy)
    said = str(info.value)
    assert "pandas 1.4.4 needs openssl >=3.0" in said, said
    assert "ban `openssl-3`" in said and "certified for 1.1 only" in said, said
    assert "/org/amber-policy.toml" in said


def test_cooldown_hides_new_packages_unless_exempt(channel: str, caches: ResolveCaches) -> None:
    spec = _spec(channel, "fresh")
    assert _versions(resolve(spec, caches))["fresh"] == "2.0"
    cool = read_policy('[cooldown]\ndays = 7\nreason = "let it settle"\n', "p")
    assert _versions(resolve(spec, caches, policy=cool))["fresh"] == "1.0"
    exempt = read_policy('[cooldown]\ndays = 7\nexempt-packages = ["conda:fresh"]\n', "p")
    assert _versions(resolve(spec, caches, policy=exempt))["fresh"] == "2.0"
    with pytest.raises(ResolveError, match=r"cooldown \(7 days; reason: let it settle"):
        resolve(_spec(channel, "fresh >=2"), caches, policy=cool)


def test_refused_channel(channel: str, caches: ResolveCaches) -> None:
    text = '[[sources]]\nid = "mirror-only"\nallow = ["https://conda.example.org/*"]\n'
    policy = read_policy(text + 'reason = "use the mirror"\n', "p")
    with pytest.raises(ResolveError, match=r"source rule `mirror-only` \(reason: use the mirror"):
        resolve(_spec(channel, "curl"), caches, policy=policy)
    allowed = read_policy(f'[[sources]]\nallow = ["{channel}"]\nreason = "ours"\n', "p")
    assert "curl" in _versions(resolve(_spec(channel, "curl"), caches, policy=allowed))
