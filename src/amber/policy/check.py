"""Judging packages against a ``Policy``: one package (what the resolver asks before it lets
the solver see a record), a license expression, and a whole lock (install, run, CI)."""

from __future__ import annotations

import datetime
import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from amber.lock import Lock, LockedConda, LockedPypi
from amber.policy.findings import Finding, Severity
from amber.policy.model import Policy, normal

__all__ = [
    "Candidate",
    "Refusal",
    "refusal",
    "evaluate_license",
    "check_lock",
    "apply_waivers",
    "purl_of",
]

_UNKNOWN = {"", "unknown", "none", "noassertion", "other", "proprietary?"}


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
    """The package URL conda tools and pip-audit write: ``pkg:pypi/name@version``,
    ``pkg:conda/name@version?build=...&channel=...&subdir=...``."""
    if isinstance(package, LockedPypi):
        return f"pkg:pypi/{normal(package.name)}@{package.version}"
    channel = package.channel.rstrip("/").rsplit("/", 1)[-1]
    return (
        f"pkg:conda/{package.name}@{package.version}?build={package.build}"
        f"&channel={channel}&subdir={package.subdir}"
    )


# -- licenses -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\(|\)|\bAND\b|\bOR\b|\bWITH\b|[^\s()]+", re.IGNORECASE)


def _terms(expression: str) -> list[list[str]]:
    """An SPDX expression as OR-alternatives, each the AND-ed ids it needs (``WITH`` joins
    an exception to its license; parentheses flattened the usual way)."""
    tokens = _TOKEN.findall(expression)
    pos = 0

    def parse_or() -> list[list[str]]:
        nonlocal pos
        result = parse_and()
        while pos < len(tokens) and tokens[pos].upper() == "OR":
            pos += 1
            result = result + parse_and()
        return result

    def parse_and() -> list[list[str]]:
        nonlocal pos
        result = parse_atom()
        while pos < len(tokens) and tokens[pos].upper() == "AND":
            pos += 1
            right = parse_atom()
            result = [a + b for a in result for b in right]
        return result

    def parse_atom() -> list[list[str]]:
        nonlocal pos
        if pos >= len(tokens):
            return [[]]
        token = tokens[pos]
        pos += 1
        if token == "(":
            inner = parse_or()
            if pos < len(tokens) and tokens[pos] == ")":
                pos += 1
            return inner
        if pos + 1 < len(tokens) and tokens[pos].upper() == "WITH":
            token = f"{token} WITH {tokens[pos + 1]}"
            pos += 2
        return [[token]]

    alternatives = parse_or()
    # Text that is no expression ("GPL v3 or later", "BSD License"): judged as one name.
    if pos < len(tokens) or any(not alt for alt in alternatives):
        return [[expression.strip()]]
    return alternatives


def _listed(license_id: str, patterns: Sequence[str]) -> bool:
    base = license_id.split(" WITH ", 1)[0]
    return any(
        fnmatch.fnmatch(license_id.lower(), p.lower()) or fnmatch.fnmatch(base.lower(), p.lower())
        for p in patterns
    )


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
    verdicts = []
    for alternative in _terms(expression):
        worst = "allow"
        for license_id in alternative:
            if _listed(license_id, rules.deny):
                verdict = "deny"
            elif _listed(license_id, rules.review):
                verdict = "review"
            elif rules.allow and not _listed(license_id, rules.allow):
                verdict = "deny"
            else:
                verdict = "allow"
            worst = max(worst, verdict, key=["allow", "review", "deny"].index)
        verdicts.append(worst)
    best = min(verdicts, key=["allow", "review", "deny"].index)
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
            findings += _package(policy, candidate, purl_of(c), platform, now, seen)
            lic = evaluate_license(
                policy, c.license, package=c.name, version=c.version, kind="conda",
                purl=purl_of(c), platform=platform,
            )  # fmt: skip
            if lic is not None and ("license", c.name, c.version, "conda") not in seen:
                seen.add(("license", c.name, c.version, "conda"))
                findings.append(lic)
        for p in body.pypi:
            candidate = Candidate("pypi", p.name, p.version)
            findings += _package(policy, candidate, purl_of(p), platform, now, seen)
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
    purl: str,
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
            platform=platform, purl=purl, reason=reason,
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
