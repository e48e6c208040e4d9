"""What may go into an environment, and what is in one: the policy and its findings.

An organisation's ``amber-policy.toml`` says which sources, packages, licenses,
vulnerabilities and ages are allowed (``amber.policy.model``, read by
``amber.policy.read``); the rules hold where the pipeline runs: the resolver sees only
what the policy allows (``amber.resolve`` takes a ``Policy``), install and run refuse a
lock that breaks it, and ``amber audit`` (``amber.inspect.audit``) reports against it.
Every rule carries a ``reason`` that every message quotes.

This package sits between ``amber.resolve`` (which applies it) and ``amber.lock`` (which it
judges); it reads no settings and opens no network: the API loads a policy (and the OSV
data an audit needs) and passes it down.
"""

from __future__ import annotations

from amber.policy.check import (
    Candidate,
    Refusal,
    apply_waivers,
    check_lock,
    evaluate_license,
    purl_of,
    refusal,
)
from amber.policy.findings import Finding, Severity
from amber.policy.model import POLICY_NAME, Policy, read_policy

__all__ = [
    "Candidate",
    "Finding",
    "POLICY_NAME",
    "Policy",
    "Refusal",
    "Severity",
    "apply_waivers",
    "check_lock",
    "evaluate_license",
    "purl_of",
    "read_policy",
    "refusal",
]
