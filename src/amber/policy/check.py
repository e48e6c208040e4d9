"""Judging packages against a ``Policy``: one package (what the resolver asks before it lets
the solver see a record), a license expression, and a whole lock (install, run, CI)."""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from amber.lock import Lock, LockedConda, LockedPypi
from amber.policy.findings import Finding, Severity
from amber.policy.model import Policy

__all__ = [
    "Candidate",
    "Refusal",
    "refusal",
    "evaluate_license",
    "check_lock",
    "apply_waivers",
    "purl_of",
]

_UNKNOWN = {"", "unknown", "none", "noassertion", "other", "proprietary?"}  # as no license


@dataclass(frozen=True)
class Candidate:
    """What the policy needs to know of a package the solver may see or a lock holds."""

    kind: str  # "conda" | "pypi"
    name: str
    version: str
    build: str = ""
    source: str = ""  # the channel or index URL
    timestamp: datetime.datetime | None = None  # when it was published, if known


@dataclass(frozen=True)
class Refusal:
    """Why a package is invisible to the solver: the finding's ``rule`` and a phrase that
    names the rule and quotes its reason."""

    rule: str
    says: str


def refusal(
    policy: Policy, package: Candidate, now: datetime.datetime | None = None
) -> Refusal | None:
    """The first rule (sources, bans, cooldown) that refuses ``package``, or ``None``."""
    if package.source:
        rule = policy.source_refusal(package.kind, package.source)
        if rule is not None:
            return Refusal("source", f"source rule `{rule.id}` (reason: {rule.reason})")
    ban = policy.ban_of(package.kind, package.name, package.version, package.build)
    if ban is not None:
        return Refusal(f"ban:{ban.id}", ban.describe())
    cooldown = policy.cooldown
    if cooldown.days and package.timestamp is not None:
        now = now or datetime.datetime.now(datetime.UTC)
        cutoff = cooldown.cutoff(now)
        stamp = package.timestamp
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=datetime.UTC)
        if (
            cutoff is not None
            and stamp > cutoff
            and not cooldown.exempt(package.kind, package.name, package.source)
        ):
            why = f"; reason: {cooldown.reason}" if cooldown.reason else ""
            return Refusal(
                "cooldown",
                f"cooldown ({cooldown.days} days{why}; published {stamp.date().isoformat()})",
            )
    return None


def purl_of(package: LockedConda | LockedPypi, platform: str = "") -> str:
    """The package URL a finding carries (``amber.policy.identity.purl_of``):
    ``pkg:pypi/name@version``, ``pkg:conda/name@version?build=&channel=&subdir=&type=``."""
    from amber.policy import identity  # noqa: PLC0415 - packageurl: only once a finding is named

    return identity.purl_of(package)


# -- licenses -----------------------------------------------------------------------------

_VERDICTS = ("allow", "review", "deny")


def _listed(license_id: str, patterns: Sequence[str]) -> bool:
    """Whether a license key (``X WITH E`` also by its ``X``) matches one of ``patterns``
    (SPDX ids, normalised alike, or globs: ``GPL-*``), case-insensitively as SPDX compares."""
    from amber.policy.identity import spdx_key  # noqa: PLC0415 - see _judge

    base = license_id.split(" WITH ", 1)[0]
    for pattern in patterns:
        p = spdx_key(pattern).lower()
        if fnmatch.fnmatch(license_id.lower(), p) or fnmatch.fnmatch(base.lower(), p):
            return True
    return False


def _judge(policy: Policy, expression: str) -> str:
    """``allow``, ``review`` or ``deny`` of an SPDX expression (``license-expression`` parses
    it): ``OR`` takes its best operand, ``AND`` its worst; a key in ``deny`` is denied, in
    ``review`` reviewed, outside a non-empty ``allow`` denied."""
    # license-expression costs ~90 ms to import and ~300 ms to load SPDX's keys: only for a
    # policy with license rules, never for `amber lock` of a conda spec.
    from amber.policy.identity import LicenseTree, license_tree  # noqa: PLC0415

    rules = policy.licenses

    def leaf(key: str) -> int:
        if _listed(key, rules.deny):
            return 2
        if _listed(key, rules.review):
            return 1
        return 2 if rules.allow and not _listed(key, rules.allow) else 0

    def fold(tree: LicenseTree) -> int:
        if isinstance(tree, str):
            return leaf(tree)
        op, operands = tree
        verdicts = [fold(t) for t in operands]
        return min(verdicts) if op == "OR" else max(verdicts)

    try:
        return _VERDICTS[fold(license_tree(expression))]
    except RecursionError:  # an absurdly nested expression: judged as one name
        return _VERDICTS[leaf(expression.strip())]


def evaluate_license(
    policy: Policy,
    expression: str | None,
    *,
    package: str = "",
    version: str = "",
    kind: str = "",
    purl: str = "",
    platform: str = "",
) -> Finding | None:
    """The finding of ``[licenses]`` for a package licensed ``expression``, or ``None``.

    ``OR``: one allowed alternative suffices; ``AND``: every id must be allowed. An id in
    ``deny`` refuses (error), in ``review`` warns, outside a non-empty ``allow`` refuses;
    no license, or ``unknown``/``NOASSERTION``, follows ``unknown``."""
    rules = policy.licenses
    if not (rules.allow or rules.review or rules.deny or rules.line):
        return None
    who = f"{package} {version}".strip() or "the package"
    why = f" (reason: {rules.reason})" if rules.reason else ""

    def finding(severity: Severity, message: str) -> Finding:
        return Finding(
            rule="license", severity=severity, message=message, package=package,
            version=version, kind=kind,  # type: ignore[arg-type]
            platform=platform, purl=purl, reason=rules.reason or None,
            details=(("license", expression or ""),),
        )  # fmt: skip

    if expression is None or expression.strip().lower() in _UNKNOWN:
        if rules.unknown == "allow":
            return None
        severity: Severity = "error" if rules.unknown == "error" else "warning"
        return finding(severity, f"{who} has no known license{why}")
    best = _judge(policy, expression)
    if best == "allow":
        return None
    if best == "review":
        return finding("warning", f"{who} is licensed {expression}, which needs review{why}")
    return finding("error", f"{who} is licensed {expression}, which the policy denies{why}")


# -- a whole lock -------------------------------------------------------------------------


def check_lock(
    policy: Policy,
    lock: Lock,
    *,
    today: datetime.date | None = None,
    extra: Iterable[Finding] = (),
) -> list[Finding]:
    """Every finding of ``policy`` on ``lock`` (sources, bans, licenses of conda records,
    cooldown of dated conda records), with ``extra`` (an audit's), waivers applied."""
    now = datetime.datetime.combine(today, datetime.time(), datetime.UTC) if today else None
    findings: list[Finding] = []
    seen: set[tuple[str, str, str, str]] = set()
    for platform, body in sorted(lock.platforms.items()):
        for c in body.conda:
            stamp = (
                datetime.datetime.fromtimestamp(c.timestamp / 1000, datetime.UTC)
                if c.timestamp
                else None
            )
            candidate = Candidate("conda", c.name, c.version, c.build, c.channel, stamp)
            findings += _package(policy, candidate, c, platform, now, seen)
            lic = evaluate_license(
                policy, c.license, package=c.name, version=c.version, kind="conda",
                platform=platform,
            )  # fmt: skip
            if lic is not None and ("license", c.name, c.version, "conda") not in seen:
                seen.add(("license", c.name, c.version, "conda"))
                findings.append(replace(lic, purl=purl_of(c)))
        for p in body.pypi:
            candidate = Candidate("pypi", p.name, p.version)
            findings += _package(policy, candidate, p, platform, now, seen)
    for spec_source, kind in _spec_sources(lock):
        rule = policy.source_refusal(kind, spec_source)
        if rule is not None:
            findings.append(
                Finding(
                    rule="source", severity="error",
                    message=f"the lock's {kind} source {spec_source} is refused by source rule "
                    f"`{rule.id}` (reason: {rule.reason})",
                    reason=rule.reason, kind=kind,  # type: ignore[arg-type]
                )
            )  # fmt: skip
    return apply_waivers(policy, [*findings, *extra], today=today)


def _spec_sources(lock: Lock) -> list[tuple[str, str]]:
    spec = lock.spec
    found = [(c, "conda") for c in spec.channels if "://" in c]
    found += [(u, "pypi") for u in (spec.index_url, *spec.extra_index_urls) if u]
    return found


def _package(
    policy: Policy,
    candidate: Candidate,
    locked: LockedConda | LockedPypi,
    platform: str,
    now: datetime.datetime | None,
    seen: set[tuple[str, str, str, str]],
) -> list[Finding]:
    found = refusal(policy, candidate, now)
    if found is None:
        return []
    key = (found.rule, candidate.name, candidate.version, candidate.kind)
    if key in seen:
        return []
    seen.add(key)
    reason = _reason_of(policy, found.rule)
    what = f"{candidate.kind} package {candidate.name} {candidate.version}"
    return [
        Finding(
            rule=found.rule, severity="error", message=f"{what} is refused by {found.says}",
            package=candidate.name, version=candidate.version,
            kind=candidate.kind,  # type: ignore[arg-type]
            platform=platform, purl=purl_of(locked), reason=reason,
        )
    ]  # fmt: skip


def _reason_of(policy: Policy, rule: str) -> str | None:
    if rule.startswith("ban:"):
        ban = next((b for b in policy.bans if b.id == rule[4:]), None)
        return ban.reason if ban else None
    if rule == "cooldown":
        return policy.cooldown.reason or None
    return None


def apply_waivers(
    policy: Policy, findings: Sequence[Finding], *, today: datetime.date | None = None
) -> list[Finding]:
    """``findings`` with those a live waiver covers marked waived, plus a finding for every
    expired waiver (an error: its finding blocks again) and every unused one (a warning)."""
    today = today or datetime.date.today()
    used: set[int] = set()
    result = []
    for finding in findings:
        waiver = next(
            (
                (i, w)
                for i, w in enumerate(policy.waivers)
                if finding.package and w.covers(finding.rule, finding.package)
            ),
            None,
        )
        if waiver is not None:
            used.add(waiver[0])
            if waiver[1].expires >= today:
                finding = replace(finding, waived_by=waiver[1].reason)
        result.append(finding)
    for i, w in enumerate(policy.waivers):
        where = f"{policy.source}:{w.line}" if w.line else policy.source
        if w.expires < today:
            result.append(
                Finding(
                    rule="waiver", severity="error", package=w.package, reason=w.reason,
                    message=f"the waiver of {w.rule} for {w.package} ({where}; reason: "
                    f"{w.reason}) expired on {w.expires}",
                )
            )  # fmt: skip
        elif i not in used:
            result.append(
                Finding(
                    rule="waiver", severity="warning", package=w.package, reason=w.reason,
                    message=f"the waiver of {w.rule} for {w.package} ({where}; reason: "
                    f"{w.reason}) covers nothing: remove it",
                )
            )  # fmt: skip
    return result
