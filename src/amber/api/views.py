"""The JSON form of what Amber shows: one function per answer, shared by the CLI's ``--json``
and the dashboard's endpoints (``amber ui``), so that both say the same thing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amber.api.show import EnvDetails
    from amber.inspect.diff import Change
    from amber.inspect.tree import Branch, Chain, Graph
    from amber.remote import TagInfo
    from amber.store import EnvRecord, RunRecord, TagRecord

__all__ = [
    "env_record",
    "env_details",
    "local_tags",
    "remote_tags",
    "run_record",
    "changes",
    "dependency_tree",
    "why",
]


def env_record(e: EnvRecord) -> dict[str, Any]:
    """One row of ``amber env list --json``."""
    return {
        "full_id": e.full_id,
        "name": e.name,
        "path": str(e.path),
        "size": e.size,
        "created": e.created,
        "last_used": e.last_used,
    }


def env_details(details: EnvDetails) -> dict[str, Any]:
    """``amber env show --json``: the env, its spec, activation and packages."""
    env, lock, record = details.env, details.lock, details.record
    head = (
        env_record(record)
        if record is not None
        else {"full_id": env.full_id, "name": None, "path": str(env.path), "size": None,
              "created": None, "last_used": None}
    )  # fmt: skip
    return {
        **head,
        "req_id": lock.req_id,
        "spec": lock.spec.canonical(),
        "activation": {
            "set": dict(details.activation.set),
            "path_prepend": list(details.activation.path_prepend),
            "scripts": list(details.activation.scripts),
        },
        "platforms": lock.to_dict()["platforms"],
    }


def local_tags(rows: Sequence[TagRecord], sizes: Mapping[str, int]) -> list[dict[str, Any]]:
    """``amber env tags --json``: each tag, its env's size where it is hydrated here (from
    ``sizes``, by full_id), who set it and when."""
    return [
        {"name": t.name, "tag": t.tag, "full_id": t.full_id, "size": sizes.get(t.full_id),
         "author": t.author, "created": t.created} for t in rows
    ]  # fmt: skip


def remote_tags(tags: Sequence[TagInfo]) -> list[dict[str, Any]]:
    """``amber remote ls --json``: each tag with who set it (``author``, ``host``) and when."""
    return [
        {"name": t.name, "tag": t.tag, "full_id": t.full_id, "pushed_at": t.pushed_at,
         "host": t.host, "author": t.author} for t in tags
    ]  # fmt: skip


def run_record(run: RunRecord, remote: bool = False) -> dict[str, Any]:
    """``amber runs show --json`` (and one row of ``amber runs list --json``)."""
    return {
        "run_id": run.run_id,
        "remote": remote,
        "started": run.started,
        "host": run.host,
        "command": run.command,
        "steps": [
            {
                "step": s.step,
                "full_id": s.full_id,
                "started": s.started,
                "ended": s.ended,
                "status": s.status,
                "traceback": s.traceback,
            }  # fmt: skip
            for s in run.steps
        ],
    }


def changes(found: Sequence[Change]) -> list[dict[str, Any]]:
    """``amber diff --json``: one dict per change, with its ``action``."""
    return [
        {
            "platform": c.platform,
            "kind": c.kind,
            "name": c.name,
            "old": c.old,
            "new": c.new,
            "action": c.action,
        }
        for c in found
    ]


def _branch(branch: Branch) -> dict[str, Any]:
    node = branch.node
    return {
        "name": node.name,
        "version": node.version or None,
        "kind": node.kind,
        "requested": branch.requested,
        "repeated": branch.repeated,
        "dependencies": [_branch(c) for c in branch.children],
    }


def dependency_tree(g: Graph, branches: Sequence[Branch], inverted: bool) -> dict[str, Any]:
    """``amber tree --json`` (``--invert``: the dependents instead)."""
    key = "dependents" if inverted else "dependencies"
    return {"platform": g.platform, "inverted": inverted, key: [_branch(b) for b in branches]}


def why(g: Graph, name: str, chains: Sequence[Chain]) -> dict[str, Any]:
    """``amber why --json``: every chain from a requested package down to ``name``."""
    return {
        "platform": g.platform,
        "package": name,
        "chains": [
            {
                "requested": c.requested,
                "packages": [
                    {"name": n.name, "version": n.version or None, "kind": n.kind} for n in c.nodes
                ],
            }
            for c in chains
        ],
    }
