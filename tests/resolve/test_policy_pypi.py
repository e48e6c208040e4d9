"""The PyPI side of resolving within a policy, against the real PyPI and real upload dates
(six 1.15.0: 2020-05-21, 1.16.0: 2021-05-05, 1.17.0: 2024-12-04)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from amber.errors import ResolveError
from amber.policy import read_policy
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec

# A rolling cooldown that, today, ends between six 1.16.0 and 1.17.0.
_DAYS = (datetime.date.today() - datetime.date(2024, 9, 1)).days


@pytest.fixture
def caches(tmp_path: Path) -> ResolveCaches:
    return ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")


def _six(spec: Spec, caches: ResolveCaches, policy_text: str) -> str:
    lock = resolve(spec, caches, policy=read_policy(policy_text, "amber-policy.toml"))
    return {p.name: p.version for p in lock.for_platform("linux-64").pypi}["six"]


SIX = Spec.create(pypi=["six"], python="3.11", platforms=["linux-64"])


def test_cooldown_and_its_exemption(caches: ResolveCaches) -> None:
    assert _six(SIX, caches, f"[cooldown]\ndays = {_DAYS}\n") == "1.16.0"
    exempt = f'[cooldown]\ndays = {_DAYS}\nexempt-packages = ["pypi:six"]\n'
    assert _six(SIX, caches, exempt) == "1.17.0"
    conda_only = f'[cooldown]\ndays = {_DAYS}\nexempt-packages = ["conda:six"]\n'
    assert _six(SIX, caches, conda_only) == "1.16.0"


def test_bans_one_comparison_and_ranges(caches: ResolveCaches) -> None:
    ban = '[[bans]]\nname = "six"\nkind = "pypi"\nversion = "{}"\nreason = "r"\n'
    assert _six(SIX, caches, ban.format(">=1.16")) == "1.15.0"
    # Two clauses are no single uv constraint: the banned pick is excluded and uv asked again.
    assert _six(SIX, caches, ban.format(">=1.17,<1.18")) == "1.16.0"
    assert _six(SIX, caches, ban.format("==1.17.0").replace("pypi", "conda")) == "1.17.0"


def test_unsatisfiable_names_the_rule(caches: ResolveCaches) -> None:
    spec = Spec.create(pypi=["six>=1.17"], python="3.11", platforms=["linux-64"])
    with pytest.raises(ResolveError) as info:
        _six(spec, caches, f'[cooldown]\ndays = {_DAYS}\nreason = "let releases settle"\n')
    said = str(info.value)
    assert "the request needs six 1.17.0, which cooldown" in said, said
    assert "let releases settle" in said and "published 2024-12-04" in said, said
    ban = '[[bans]]\nid = "no-six"\nname = "six"\nreason = "vendored in our base image"\n'
    with pytest.raises(ResolveError, match=r"six 1\.17\.0, which ban `no-six` .*vendored"):
        _six(spec, caches, ban)


def test_refused_index(caches: ResolveCaches) -> None:
    deny = '[[sources]]\nid = "mirror"\nkind = "pypi"\ndeny = ["https://pypi.org/*"]\n'
    with pytest.raises(ResolveError, match=r"https://pypi.org/simple is refused by source rule"):
        _six(SIX, caches, deny + 'reason = "use the internal mirror"\n')
