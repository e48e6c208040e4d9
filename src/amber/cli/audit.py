"""``amber audit``: vulnerabilities (OSV) and licenses of a lock or an env."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import click

from amber.api.audit import OSV_API, audit_lock
from amber.api.policy import policy_for
from amber.cli import render
from amber.cli._shared import edge
from amber.errors import AuditFailed
from amber.inspect.audit import LEVELS, AuditedPackage
from amber.inspect.sarif import to_sarif
from amber.policy import Finding
from amber.policy.check import evaluate_license

__all__ = ["audit_cmd"]


@click.command("audit")
@click.argument("target", metavar="[LOCK|ENV|BUNDLE]", required=False, default="amber.lock")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True, help="Output: an aligned table, JSON or SARIF 2.1.0.")  # fmt: skip
@click.option("--osv", default=OSV_API, show_default=True, metavar="DIR|ZIP|URL",
              help="Advisories: a directory or zip of OSV records, or the OSV API.")  # fmt: skip
@click.option("--fail-on", type=click.Choice(LEVELS), default=None,
              help="Exit 1 for a vulnerability at or above this CVSS level (or of unknown "
                   "severity); default: the policy's `fail-on`, else low.")  # fmt: skip
@click.option("--ignore", "ignored", multiple=True, metavar="ID",
              help="An advisory id or alias reported as ignored (repeatable).")  # fmt: skip
@click.option("--policy", "policy_ref", metavar="PATH|URL",
              help="The project's policy (default: amber-policy.toml by the lock).")  # fmt: skip
def audit_cmd(
    target: str,
    fmt: str,
    osv: str,
    fail_on: str | None,
    ignored: tuple[str, ...],
    policy_ref: str | None,
) -> None:
    """Match the packages of LOCK (default ./amber.lock), ENV or BUNDLE against OSV advisories
    and show their licenses; exit 1 when a vulnerability reaches --fail-on.

    \b
      amber audit --osv ./osv-records/          # offline, a directory (or zip) of OSV records
      amber audit myenv --format sarif > amber.sarif
    """
    session = edge(quiet=True)
    near = Path(target) if os.path.isfile(target) else None
    policy = policy_for(session, near, policy_ref)
    ignores = {i: "ignored with --ignore" for i in ignored}
    license_check = None
    if policy is not None:
        # The policy's [vulnerabilities] and [licenses] hold unless the command line says
        # otherwise; an expired ignore no longer lets its advisory pass.
        today = datetime.date.today()
        for entry in policy.vulnerabilities.ignore:
            if entry.expires is None or entry.expires >= today:
                ignores.setdefault(entry.id, f"policy ({policy.source}): {entry.reason}")
        fail_on = fail_on or policy.vulnerabilities.fail_on

        def license_check(package: AuditedPackage) -> list[Finding]:
            found = evaluate_license(
                policy, package.license, package=package.name, version=package.version,
                kind=package.kind, purl=package.purl,
            )  # fmt: skip
            return [found] if found is not None else []

    fail_on = fail_on or "low"
    report = audit_lock(
        target,
        osv=osv,
        fail_on=fail_on,
        ignored=ignores,
        license_check=license_check,
        session=session,
    )
    location = os.path.relpath(target) if os.path.isfile(target) else target
    render.audited(report, fmt, to_sarif(report, location) if fmt == "sarif" else None)
    if report.blocking:
        blocking = [f for f in report.findings if f.blocking]
        raise AuditFailed(f"{len(blocking)} finding(s) at or above --fail-on {fail_on} in {target}")
