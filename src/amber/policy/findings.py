"""A finding: one package that breaks (or nearly breaks) one rule, and why.

Policy checks (sources, bans, licenses, cooldown, waivers) and audits (vulnerabilities)
both produce these, so that one renderer prints them as text, JSON or SARIF and one exit
code rule applies (as ``amber lock --check``: 1 when any finding is an error).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Finding", "Severity"]

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Finding:
    """``rule`` is the rule's kind and id: ``source``, ``ban:<id>``, ``license``,
    ``vulnerability:<advisory id>``, ``cooldown``, ``waiver`` (an expired or unused one)."""

    rule: str
    severity: Severity
    message: str  # one line, naming the package and quoting the rule's reason
    package: str = ""  # the package's name ("" for a finding about the policy itself)
    version: str = ""
    kind: Literal["conda", "pypi", ""] = ""
    platform: str = ""
    purl: str = ""  # pkg:conda/... or pkg:pypi/..., as conda tools and pip-audit write them
    reason: str | None = None  # the rule's own reason, quoted by ``message``
    waived_by: str | None = None  # the waiver's reason, when one covers this finding
    details: tuple[tuple[str, str], ...] = ()  # e.g. (("cvss", "7.5"), ("fixed", "2.20.0"))

    @property
    def blocking(self) -> bool:
        return self.severity == "error" and self.waived_by is None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = dict(self.details)
        return data
