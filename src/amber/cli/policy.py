"""``amber policy check``: the policy's findings on a lock."""

from __future__ import annotations

from pathlib import Path

import click

from amber import api
from amber.api.policy import check, policy_for
from amber.cli import render
from amber.cli._shared import PathType, edge, policy_option
from amber.errors import AmberError, PolicyViolation
from amber.lock import Lock

__all__ = ["policy_group"]


@click.group("policy")
def policy_group() -> None:
    """What the policy (amber-policy.toml) says of a lock."""


@policy_group.command("check")
@click.argument("lock", required=False, type=PathType(path_type=Path), metavar="[LOCK]")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@policy_option
def check_cmd(lock: Path | None, fmt: str, policy: str | None) -> None:
    """Print every finding of the policy on LOCK (default: ./amber.lock); exit 1 when one
    blocks (as `amber lock --check`), 0 otherwise.

    \b
      amber policy check                       # amber.lock here, amber-policy.toml beside it
      amber policy check --policy org.toml --format json build/amber.lock
    """
    path = lock or Path(api.LOCK_NAME)
    session = edge(True, policy)
    the_policy = policy_for(session, path)
    if the_policy is None:
        raise AmberError(
            f"no policy for {path}: none beside it ({path.parent / 'amber-policy.toml'}), "
            "none given (--policy), none set ($AMBER_POLICY, the settings' policy)"
        )
    findings = check(Lock.read(path), the_policy)
    render.findings(findings, as_json=fmt == "json", err=False)
    blocking = [f for f in findings if f.blocking]
    if blocking:
        raise PolicyViolation(
            f"{path}: {len(blocking)} finding{'s' * (len(blocking) != 1)} of the policy "
            f"({the_policy.source}) block",
            findings=findings,
            exit_code=1,
        )
