"""An audit's findings as a SARIF 2.1.0 log, the format code-scanning tools read.

One rule per finding kind (an advisory id, ``license``, ``ban:<id>``...), one result per
finding, located at the lock file (a lock has no lines worth pointing at: the package is
named by its purl in the result's properties and logical location). ``security-severity``
carries the CVSS score, as GitHub code scanning ranks by it.
"""

from __future__ import annotations

from typing import Any

from amber._version import __version__
from amber.inspect.audit import AuditReport
from amber.policy import Finding

__all__ = ["SCHEMA", "to_sarif"]

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}
# SARIF's security-severity for an advisory without a CVSS score, by its named level.
_NAMED_SCORE = {"critical": "9.0", "high": "7.0", "medium": "4.0", "low": "0.1"}


def to_sarif(report: AuditReport, location: str) -> dict[str, Any]:
    """The SARIF log of ``report``; ``location`` is the lock file's URI (relative to the
    repository root where the caller knows it)."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in report.findings:
        if finding.rule not in rules:
            rules[finding.rule] = _rule(finding)
        results.append(_result(finding, location, list(rules).index(finding.rule)))
    driver = {
        "name": "amber",
        "version": __version__,
        "informationUri": "https://github.com/amber-env/amber",
        "rules": list(rules.values()),
    }
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "results": results,
                "properties": {"target": report.target, "osv": report.source},
            }
        ],
    }


def _rule(finding: Finding) -> dict[str, Any]:
    details = dict(finding.details)
    rule_id = finding.rule
    short = rule_id.split(":", 1)[-1]
    properties: dict[str, Any] = {"tags": ["security" if short != rule_id else "policy"]}
    score = details.get("cvss") or _NAMED_SCORE.get(details.get("level", ""))
    if rule_id.startswith("vulnerability:") and score:
        properties["security-severity"] = score
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": short,
        "shortDescription": {"text": (finding.reason or short)[:200]},
        "properties": properties,
    }
    if details.get("url"):
        rule["helpUri"] = details["url"]
    return rule


def _result(finding: Finding, location: str, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": location}},
                "logicalLocations": [
                    {
                        "name": finding.package,
                        "fullyQualifiedName": finding.purl or finding.package,
                        "kind": "package",
                    }  # fmt: skip
                ],
            }
        ],
        "partialFingerprints": {"amberFinding/v1": f"{finding.rule}|{finding.purl}"},
        "properties": {
            "purl": finding.purl,
            "package": finding.package,
            "version": finding.version,
            "kind": finding.kind,
            "platforms": finding.platform,
            **dict(finding.details),
        },
    }
    if finding.waived_by is not None:
        result["suppressions"] = [{"kind": "external", "justification": finding.waived_by}]
    return result
