"""A policy at realistic scale: the data-science request on the biggest repodata snapshot
(Anaconda's 2018 defaults, 5,600 records) resolved within bans, a cooldown and license
rules. Every record the solver sees has passed the policy; what the policy removed is
named when it makes the request unsatisfiable; the licenses of the lock are judged."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from helpers import SNAPSHOT

from amber.errors import ResolveError
from amber.lock import Lock
from amber.policy import check_lock, read_policy
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec

REQUEST = ["python=3.6", "numpy", "pandas", "scipy", "matplotlib", "jupyter", "bokeh", "dask"]
CUTOFF = datetime.datetime(2018, 3, 1, tzinfo=datetime.UTC)  # "as if it were March 2018"

pytestmark = pytest.mark.skipif(not SNAPSHOT.is_dir(), reason="../shared/data is not beside us")


def _policy(extra: str = "") -> str:
    days = (datetime.datetime.now(datetime.UTC) - CUTOFF).days  # a rolling window, in days
    return f"""\
[[bans]]
id = "no-mkl"
name = "mkl"
reason = "we ship OpenBLAS builds only"
use-instead = "nomkl"

[[bans]]
id = "old-tornado"
name = "tornado"
version = "<4.5"
kind = "conda"
reason = "tornado before 4.5 is out of support"

[cooldown]
days = {days}
exempt-packages = ["conda:ca-certificates"]
reason = "nothing newer than March 2018 is vetted"

[licenses]
deny = ["GPL-3*", "AGPL-*"]
review = ["LGPL*"]
unknown = "warn"
reason = "LEGAL-9"
{extra}"""


@pytest.fixture
def caches(tmp_path: Path) -> ResolveCaches:
    return ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")


def _spec(*deps: str) -> Spec:
    return Spec.create(conda=list(deps), channels=[SNAPSHOT.as_uri()], platforms=["linux-64"])


def test_the_data_science_request_resolves_within_the_policy(caches: ResolveCaches) -> None:
    policy = read_policy(_policy(), "org.toml")
    free = resolve(_spec(*REQUEST), caches)
    held = resolve(_spec(*REQUEST), caches, policy=policy)
    records = held.for_platform("linux-64").conda
    assert len(records) > 80 and held.policy == policy.digest
    names = {r.name: r for r in records}
    assert "mkl" not in names and "mkl" in {r.name for r in free.for_platform("linux-64").conda}
    assert tuple(int(x) for x in names["tornado"].version.split(".")[:2]) >= (4, 5)
    late = [
        f"{r.name} {r.version}" for r in records
        if r.timestamp and r.name != "ca-certificates"
        and datetime.datetime.fromtimestamp(r.timestamp / 1000, datetime.UTC) > CUTOFF
    ]  # fmt: skip
    assert not late, late
    # Without the cooldown it takes newer releases: the cooldown is what held them back.
    assert _versions(free)["numpy"] > _versions(held)["numpy"]
    # The lock passes its own policy's package rules. Licenses are judged on the lock, not
    # by the solver: matplotlib's Qt binding brings sip, GPL-3.0, which install refuses.
    findings = check_lock(policy, held)
    assert not [f for f in findings if f.rule != "license"], findings
    assert [f.message for f in findings if f.blocking] == [
        "sip 4.18.1 is licensed GPL-3.0, which the policy denies (reason: LEGAL-9)"
    ]
    sip = next(f for f in findings if f.blocking)
    assert (
        sip.purl.startswith("pkg:conda/sip@4.18.1?build=") and "channel=defaults-2018" in sip.purl
    )


def test_a_request_the_policy_makes_unsatisfiable_names_the_rule(caches: ResolveCaches) -> None:
    policy = read_policy(_policy(), "org.toml")
    with pytest.raises(ResolveError) as raised:
        resolve(_spec("python=3.6", "mkl"), caches, policy=policy)
    message = str(raised.value)
    assert "mkl" in message and "ban `no-mkl`" in message and "OpenBLAS" in message


def _versions(lock: Lock) -> dict[str, str]:
    return {p.name: p.version for p in lock.for_platform("linux-64").conda}
