"""amber-policy.toml: reading it (every error names the file and line), extends, waivers,
and the rules' verdicts on packages and license expressions."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amber.errors import PolicyError
from amber.lock import Lock, LockedConda, PlatformLock
from amber.policy import Candidate, check_lock, evaluate_license, read_policy, refusal
from amber.spec import Spec

TODAY = datetime.date(2026, 6, 1)

FULL = """\
max-waiver-days = 90

[[sources]]
id = "internal-only"
kind = "conda"
allow = ["https://conda.example.org/*", "file://*"]
reason = "packages come from our mirror"

[[sources]]
id = "no-test-pypi"
kind = "pypi"
deny = ["https://test.pypi.org/*"]
reason = "test.pypi.org is not a release index"

[[bans]]
id = "openssl-3"
name = "openssl"
version = ">=3,<4"
kind = "conda"
reason = "our FIPS module is certified for 1.1 only"
use-instead = "openssl 1.1.*"

[[bans]]
name = "requests"
version = "<2.20"
kind = "pypi"
reason = "CVE-2018-18074"

[licenses]
allow = ["MIT", "BSD-*", "Apache-2.0", "PSF-2.0"]
review = ["LGPL-*"]
deny = ["GPL-*", "AGPL-*"]
unknown = "error"
reason = "legal's list of 2026-01"

[vulnerabilities]
fail-on = "high"
ignore = [{ id = "GHSA-x84v-xcm2-53pg", reason = "not reachable", expires = 2026-07-01 }]

[cooldown]
days = 7
exempt-packages = ["pypi:certifi", "ca-certificates"]
exempt-channels = ["https://conda.example.org/security/*"]
reason = "let the community find bad releases first"

[[waivers]]
rule = "ban:openssl-3"
package = "openssl"
reason = "ticket SEC-12: migration by June"
expires = 2026-07-15
"""


def test_full_example_reads() -> None:
    policy = read_policy(FULL, "amber-policy.toml", today=TODAY)
    assert [s.id for s in policy.sources] == ["internal-only", "no-test-pypi"]
    assert policy.bans[0].use_instead == "openssl 1.1.*" and policy.bans[1].id == "requests"
    assert policy.bans[0].line == 15
    assert policy.licenses.unknown == "error"
    assert policy.vulnerabilities.fail_on == "high"
    assert policy.vulnerabilities.ignore[0].expires == datetime.date(2026, 7, 1)
    assert policy.cooldown.days == 7 and policy.cooldown.exempt("pypi", "Certifi")
    assert not policy.cooldown.exempt("conda", "certifi")
    assert policy.waivers[0].expires == datetime.date(2026, 7, 15)
    assert len(policy.digest) == 64


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ('[[bans]]\nname = "x"\n', 1, "'reason' is required"),
        ('\n[[bans]]\nname = "x"\nreason = "r"\nkind = "npm"\n', 2, "neither 'conda' nor 'pypi'"),
        (
            '[[bans]]\nname = "a"\nreason = "r"\n[[bans]]\nname = "b"\nversion = "~~1"\n'
            + 'reason = "r"\nkind = "pypi"\n',
            4,
            "not a version spec",
        ),
        ('[licenses]\nunknown = "maybe"\n', 1, "use 'allow', 'warn' or 'error'"),
        ("x = 1\n", 1, "unknown key 'x'"),
        ('[vulnerabilities]\nfail-on = "severe"\n', 2, "fail-on"),
        (
            'max-waiver-days = 30\n[[waivers]]\nrule = "license"\npackage = "gpl-thing"\n'
            + 'reason = "r"\nexpires = 2027-01-01\n',
            2,
            "more than max-waiver-days",
        ),
        (
            '[[waivers]]\nrule = "license"\npackage = "p"\nreason = "r"\n',
            1,
            "'expires' is required",
        ),
        ('[cooldown]\ndays = "soon"\n', 1, "number of days"),
        ('[[bans]\nname = "x"\n', 1, "not valid TOML"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, says: str) -> None:
    with pytest.raises(PolicyError) as info:
        read_policy(text, "/p/amber-policy.toml", today=TODAY)
    assert info.value.line == line, str(info.value)
    assert str(info.value).startswith(f"/p/amber-policy.toml:{line}: ")
    assert says in str(info.value)


def test_extends_adds_rules_and_refuses_cycles() -> None:
    org = (
        '[[bans]]\nid = "no-telnet"\nname = "telnetlib3"\nreason = "plain text"\n'
        "[cooldown]\ndays = 3\n"
    )
    texts = {"s3://org/policy.toml": org}
    project = 'extends = ["s3://org/policy.toml"]\n[cooldown]\ndays = 2\n'
    policy = read_policy(project, "p.toml", fetch=lambda ref, _: (texts[ref], ref), today=TODAY)
    assert [b.id for b in policy.bans] == ["no-telnet"]
    assert policy.cooldown.days == 3  # a project narrows, never widens
    loop = {"a.toml": 'extends = ["b.toml"]\n', "b.toml": 'extends = ["a.toml"]\n'}
    with pytest.raises(PolicyError, match="extends itself"):
        read_policy(loop["a.toml"], "a.toml", fetch=lambda ref, _: (loop[ref], ref))
    with pytest.raises(PolicyError, match="cannot be read") as info:
        read_policy('\nextends = ["nope"]\n', "p.toml", fetch=lambda ref, _: ({}[ref], ref))
    assert info.value.line == 2


def test_license_expressions() -> None:
    policy = read_policy(FULL, "p", today=TODAY)
    assert evaluate_license(policy, "MIT") is None
    assert evaluate_license(policy, "BSD-3-Clause OR GPL-3.0-only") is None
    denied = evaluate_license(policy, "MIT AND GPL-3.0-or-later", package="x", version="1")
    assert denied is not None and denied.severity == "error" and "legal's list" in denied.message
    review = evaluate_license(policy, "LGPL-2.1-only")
    assert review is not None and review.severity == "warning"
    outside = evaluate_license(policy, "WTFPL")
    assert outside is not None and outside.blocking
    unknown = evaluate_license(policy, None, package="x")
    assert unknown is not None and unknown.severity == "error"
    warn = read_policy('[licenses]\ndeny = ["GPL-*"]\n', "p")
    assert evaluate_license(warn, "") is not None and not evaluate_license(warn, "").blocking
    assert evaluate_license(read_policy("", "p"), "GPL-3.0") is None


def test_refusals_say_which_rule() -> None:
    policy = read_policy(FULL, "p", today=TODAY)
    now = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    ssl = Candidate("conda", "openssl", "3.0.1", "h0", "https://conda.example.org/main")
    assert refusal(policy, ssl, now).rule == "ban:openssl-3"
    assert refusal(policy, Candidate("conda", "openssl", "1.1.1w", "", "file:///c"), now) is None
    other = Candidate("conda", "zlib", "1", "", "https://conda.anaconda.org/conda-forge")
    assert refusal(policy, other, now).rule == "source"
    fresh = datetime.datetime(2026, 5, 30, tzinfo=datetime.UTC)
    young = Candidate("conda", "zlib", "1", "", "file:///c", fresh)
    assert refusal(policy, young, now).rule == "cooldown"
    exempt = Candidate("conda", "ca-certificates", "1", "", "file:///c", fresh)
    assert refusal(policy, exempt, now) is None
    assert refusal(policy, Candidate("pypi", "requests", "2.19.1"), now).rule == "ban:requests"
    assert refusal(policy, Candidate("pypi", "requests", "2.20.0"), now) is None


def _lock(*conda: LockedConda) -> Lock:
    spec = Spec.create(
        conda=[c.name for c in conda], channels=["file:///c"], platforms=["linux-64"]
    )
    body = PlatformLock(platform="linux-64", conda=conda)
    return Lock(spec=spec, req_id=spec.req_id, platforms={"linux-64": body})


def _conda(name: str, version: str, license: str | None = "MIT") -> LockedConda:
    return LockedConda(
        name=name, version=version, build="0", build_number=0, subdir="linux-64",
        url=f"file:///c/linux-64/{name}-{version}-0.conda", channel="file:///c",
        sha256="0" * 64, md5="0" * 32, license=license,
    )  # fmt: skip


def test_waivers_mark_findings_and_are_findings_themselves() -> None:
    policy = read_policy(FULL, "p", today=TODAY)
    findings = check_lock(policy, _lock(_conda("openssl", "3.0.1")), today=TODAY)
    ban = next(f for f in findings if f.rule == "ban:openssl-3")
    assert ban.waived_by == "ticket SEC-12: migration by June" and not ban.blocking
    assert ban.purl == "pkg:conda/openssl@3.0.1?build=0&channel=c&subdir=linux-64&type=conda"
    later = check_lock(policy, _lock(_conda("openssl", "3.0.1")), today=datetime.date(2026, 8, 1))
    assert any(f.rule == "ban:openssl-3" and f.blocking for f in later)
    assert any(f.rule == "waiver" and "expired" in f.message and f.blocking for f in later)
    unused = check_lock(policy, _lock(_conda("zlib", "1")), today=TODAY)
    assert [f.rule for f in unused] == ["waiver"] and "covers nothing" in unused[0].message
    assert not unused[0].blocking
    gpl = check_lock(policy, _lock(_conda("readline", "8", "GPL-3.0-only")), today=TODAY)
    assert any(f.rule == "license" and f.blocking and f.package == "readline" for f in gpl)


_KEYS = st.sampled_from(
    ["sources", "bans", "licenses", "cooldown", "waivers", "vulnerabilities", "extends",
     "max-waiver-days", "days", "name", "reason", "expires", "kind", "version", "allow", "x"]
)  # fmt: skip
_VALUES = st.one_of(
    st.integers(-3, 400), st.booleans(), st.text(max_size=8),
    st.sampled_from(['"GPL-*"', "2026-01-01", '"7d"', '"conda"', '">=1"']),
)  # fmt: skip


@st.composite
def _toml(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        shape = draw(st.integers(0, 3))
        key = draw(_KEYS)
        if shape == 0:
            lines.append(f"[[{key}]]")
        elif shape == 1:
            lines.append(f"[{key}]")
        else:
            value = draw(_VALUES)
            text = value if isinstance(value, str) and value[:1] in '"2' else repr(value)
            text = {"True": "true", "False": "false"}.get(text, text)
            lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None)
@given(_toml())
def test_crafted_toml_is_read_or_refused_with_file_and_line(text: str) -> None:
    try:
        read_policy(text, "/x/amber-policy.toml", fetch=lambda r, _: ("", r), today=TODAY)
    except PolicyError as exc:
        assert str(exc).startswith("/x/amber-policy.toml"), str(exc)
        assert "\n" not in str(exc).strip() or "TOML" in str(exc)
