"""Which policy holds, read once at the edge, and holding a lock to it.

The organisation's policy (``$AMBER_POLICY``, else ``policy =`` in Amber's settings files)
holds everywhere; a project's (``--policy``, else ``amber-policy.toml`` beside the spec)
adds its own rules over it (it can narrow what the organisation allows, never widen it).
conda's ``allowlist_channels`` / ``denylist_channels`` hold as one more source rule.
Policies name others in ``extends``: paths (beside the file naming them), URLs (read
through fsspec, as the remote store is) and ``remote:KEY`` (an object in the remote store).
"""

from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from amber import _hot
from amber._hot import POLICY_NAME
from amber._urls import redact
from amber.api.session import Session
from amber.channels import CondaConfig
from amber.errors import AmberError, PolicyError, PolicyViolation
from amber.lock import Lock

if TYPE_CHECKING:
    from amber.policy import Finding, Policy
    from amber.policy.model import SourceRule

# amber.policy (its model, checks, TOML reader) is loaded only where a policy holds: most
# installs and locks have none, and they must not pay for its import.

__all__ = ["policy_for", "check", "enforce", "read_reference"]


def policy_for(
    session: Session, near: Path | None = None, explicit: str | None = None
) -> Policy | None:
    """The policy in force for a spec or lock at ``near`` (its file), or ``None``: the
    organisation's, with the project's (``explicit``, else beside ``near``) over it."""
    explicit = explicit or session.policy_ref
    key = (str(near.resolve().parent) if near else "", explicit or "")
    cache = session.policies
    if key in cache:
        return cache[key]
    conda = session.conda
    reads: list[tuple[str, str, str]] = []
    org_ref, org_base = _organisation(session, conda)
    policy = read_reference(session, org_ref, org_base, reads) if org_ref else None
    project: str | None = explicit
    if project is None and near is not None:
        beside = near.parent / POLICY_NAME
        project = str(beside) if beside.is_file() else None
    if project is not None:
        from amber.policy.model import merged  # noqa: PLC0415 - see the top

        own = read_reference(session, project, str(Path.cwd()), reads)
        policy = own if policy is None else merged(policy, own)
    condarc = _condarc_rule(conda)
    if condarc is not None:
        from amber.policy import Policy  # noqa: PLC0415 - see the top

        base = policy or Policy(source=conda.origin("allowlist_channels"))
        policy = replace(base, sources=(*base.sources, condarc))
    if policy is not None:
        policy = replace(policy, inputs=tuple(dict.fromkeys(reads)))
    cache[key] = policy
    return policy


def _organisation(session: Session, conda: CondaConfig) -> tuple[str | None, str]:
    if session.settings.policy:
        return session.settings.policy, str(Path.cwd())
    if conda.policy:
        # "FILE: policy": a relative path is beside the settings file that names it.
        origin = conda.origin("policy").split(": ", 1)[0]
        return conda.policy, str(Path(origin).parent) if origin else str(Path.cwd())
    return None, str(Path.cwd())


def _condarc_rule(conda: CondaConfig) -> SourceRule | None:
    """conda's allow/deny lists as a source rule (for locks made elsewhere: a spec's channels
    are refused by them before any solve)."""
    if not conda.allowlist_channels and not conda.denylist_channels:
        return None
    from amber.policy.model import SourceRule  # noqa: PLC0415 - see the top

    def urls(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(u for n in names for u in conda.expand(n))

    origins = [conda.origin(k) for k in ("allowlist_channels", "denylist_channels")]
    return SourceRule(
        id="condarc",
        allow=urls(conda.allowlist_channels),
        deny=urls(conda.denylist_channels),
        kind="conda",
        reason=f"allowlist_channels/denylist_channels of {'; '.join(o for o in origins if o)}",
    )


def read_reference(
    session: Session, ref: str, base: str, reads: list[tuple[str, str, str]] | None = None
) -> Policy:
    """The policy at ``ref`` (a path relative to ``base``, a URL, ``remote:KEY``) with what
    it extends; each file read is added to ``reads`` (see ``Policy.inputs``)."""
    reads = [] if reads is None else reads

    def fetch(reference: str, source: str) -> tuple[str, str]:
        return _text(session, reference, _base_of(source), reads)

    from amber.policy import read_policy  # noqa: PLC0415 - see the top

    text, source = _text(session, ref, base, reads)
    return read_policy(text, source, fetch=fetch)


def _base_of(source: str) -> str:
    if "://" in source or source.startswith("remote:"):
        return source.rsplit("/", 1)[0] if "/" in source else source
    return str(Path(source).parent)


def _text(
    session: Session, ref: str, base: str, reads: list[tuple[str, str, str]]
) -> tuple[str, str]:
    if (
        "://" in ref.removeprefix("file://")
        or ref.startswith("remote:")
        or ("://" in base and not base.startswith("file://"))
    ):
        reads.append((redact(ref), "", ""))  # no memo can watch it: read at every run
    if ref.startswith("remote:"):
        remote = session.remote
        if remote is None:
            raise PolicyError(f"{ref}: a policy in the remote store, but no remote store is set")
        data = remote.objects.read(ref.removeprefix("remote:").lstrip("/"))
        if data is None:
            raise PolicyError(f"{ref}: no such object in the remote store {remote.where('')}")
        return _decoded(data, ref), ref
    if "://" in ref and not ref.startswith("file://"):
        return _by_url(ref), redact(ref)
    if "://" in base and not base.startswith("file://"):
        return _by_url(f"{base.rstrip('/')}/{ref}"), redact(f"{base.rstrip('/')}/{ref}")
    path = Path(ref.removeprefix("file://")).expanduser()
    if not path.is_absolute():
        path = Path(base.removeprefix("file://")) / path
    if not os.path.isfile(path):
        raise PolicyError("no such policy file", path=path)
    try:
        (where, fingerprint), *_ = _hot.fingerprints([str(path)])  # before reading it
        data = path.read_bytes()
        reads.append((where, fingerprint, hashlib.sha256(data).hexdigest()))
        return _decoded(data, str(path)), str(path)
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror}", path=path) from None


def _by_url(url: str) -> str:
    """A policy at a URL, through the remote store's fsspec machinery."""
    from amber.remote import Remote  # noqa: PLC0415 - only policies at URLs need fsspec

    folder, _, name = url.rstrip("/").rpartition("/")
    try:
        data = Remote.open(folder).objects.read(name)
    except AmberError as exc:
        raise PolicyError(f"{redact(url)}: cannot read the policy: {exc}") from None
    if data is None:
        raise PolicyError(f"{redact(url)}: no policy there")
    return _decoded(data, redact(url))


def _decoded(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("not UTF-8 text", path=source) from None


def check(lock: Lock, policy: Policy, *, today: datetime.date | None = None) -> list[Finding]:
    """Every finding of ``policy`` on ``lock``, waivers applied."""
    from amber.policy import check_lock  # noqa: PLC0415 - see the top

    return check_lock(policy, lock, today=today)


def enforce(session: Session, lock: Lock, near: Path | None = None) -> list[Finding]:
    """Refuse (``PolicyViolation``, exit 2) a lock the policy in force forbids; the other
    findings (warnings, waived) are returned for the caller to show."""
    policy = policy_for(session, near)
    if policy is None:
        return []
    findings = check(lock, policy)
    blocking = [f for f in findings if f.blocking]
    if blocking:
        raise PolicyViolation(
            f"the policy ({policy.source}) refuses this lock: "
            + "; ".join(f.message for f in blocking),
            findings=findings,
        )
    return findings
