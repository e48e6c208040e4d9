"""``amber verify``, ``amber diff``, ``amber du`` and ``amber gc``: looking at what exists."""

from __future__ import annotations

import re
from pathlib import Path

import click

from amber import api
from amber.api.show import Verified, verify
from amber.cli import VerifyFailed, render
from amber.cli._shared import PathType, edge, json_option, prefix_ref, spec_file
from amber.errors import AmberError
from amber.inspect.diff import diff_locks, markdown_rows
from amber.inspect.tree import graph, inverted, platform_of, tree, why
from amber.lock import Lock
from amber.store.du import disk_usage
from amber.store.gc import collect

__all__ = [
    "verify_cmd", "diff_cmd", "du_cmd", "gc_cmd", "verify_or_fail", "tree_cmd", "why_cmd",
]  # fmt: skip


def verify_or_fail(done: Verified, as_json: bool) -> None:
    """Render ``verify``'s answer; differences end the command with exit code 1."""
    render.verified(done, as_json)
    if not done.result.ok:
        hint = (
            "" if done.repaired else
            f"; `amber verify --repair {done.env.path}` restores it from the package caches"
        )  # fmt: skip
        raise VerifyFailed(done.result.summary() + hint, prefix=done.env.path)


@click.command("verify")
@click.argument("env_ref", metavar="ENV", required=False)
@click.option("-p", "--prefix", type=click.Path(path_type=Path),
              help="The env at this path (`amber install --prefix`).")  # fmt: skip
@click.option("--repair", is_flag=True,
              help="Restore what differs: link damaged packages again, remove strays.")  # fmt: skip
@json_option
def verify_cmd(env_ref: str | None, prefix: Path | None, repair: bool, as_json: bool) -> None:
    """Check every file of ENV against its packages' records; exit 1 listing differences."""
    env_ref = prefix_ref(env_ref, prefix)
    if env_ref is None:
        raise click.UsageError("name the env: ENV or --prefix DIR")
    session = edge()
    verify_or_fail(
        verify(env_ref, session.store, repair_env=repair, progress=session.progress), as_json
    )


@click.command("diff")
@click.argument("old", metavar="A")
@click.argument("new", metavar="B")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default=None, help="text (the default), json (= --json), or markdown: a "
              "table for a pull request, requested packages apart.")  # fmt: skip
@json_option
def diff_cmd(old: str, new: str, fmt: str | None, as_json: bool) -> None:
    """What changed from A to B: two lock files or envs (full_id, prefix or name)."""
    if as_json and fmt not in (None, "json"):
        raise click.UsageError(f"--json and --format {fmt} contradict each other")
    store = edge().store
    a, b = api.lock_of(old, store), api.lock_of(new, store)
    changes = diff_locks(a, b)
    if fmt == "markdown":
        render.print_diff_markdown(markdown_rows(a, b, changes))
    else:
        render.diff(changes, as_json or fmt == "json")


def _lock_to_show(ref: str | None, file: Path | None) -> Lock:
    """The lock of REF (a lock file, an env) or of FILE (a spec: the lock beside it, made
    when missing or stale), else of the spec file in the current directory."""
    if ref is not None and file is not None:
        raise click.UsageError("give LOCK|ENV or -f FILE, not both")
    session = edge()
    return api.lock_for_ref(ref or str(spec_file(file)), session=session)


_platform_option = click.option(
    "--platform", metavar="PLATFORM",
    help="The platform to show (default: this machine's, or the lock's only one).",
)  # fmt: skip
_file_option = click.option(
    "-f", "--file", "file", type=PathType(path_type=Path),
    help="A spec file: the lock beside it (locked first if missing or stale).",
)  # fmt: skip


@click.command("tree")
@click.argument("ref", metavar="[LOCK|ENV]", required=False)
@_file_option
@click.option("-i", "--invert", metavar="PKG", help="Show what depends on PKG, up to the requests.")
@click.option("--depth", type=click.IntRange(min=0), metavar="N",
              help="Show N levels below the top ones.")  # fmt: skip
@_platform_option
@json_option
def tree_cmd(
    ref: str | None,
    file: Path | None,
    invert: str | None,
    depth: int | None,
    platform: str | None,
    as_json: bool,
) -> None:
    """The dependency tree of a lock, from the requested packages down; (*): shown above."""
    lock = _lock_to_show(ref, file)
    g = graph(lock, platform_of(lock, platform))
    branches = inverted(g, invert, depth) if invert is not None else tree(g, depth)
    render.dependency_tree(g, branches, as_json, invert is not None)


@click.command("why")
@click.argument("package", metavar="PKG")
@click.argument("ref", metavar="[LOCK|ENV]", required=False)
@_file_option
@_platform_option
@json_option
def why_cmd(
    package: str, ref: str | None, file: Path | None, platform: str | None, as_json: bool
) -> None:
    """Why PKG is in the lock: the chain from each requested package that pulls it in."""
    lock = _lock_to_show(ref, file)
    g = graph(lock, platform_of(lock, platform))
    render.why(g, package, why(g, package), as_json)


@click.command("du")
@json_option
def du_cmd(as_json: bool) -> None:
    """Disk usage: per env its apparent size and the bytes only it holds, caches, total."""
    render.du(disk_usage(edge().store), as_json)


@click.command("gc")
@click.option("--older-than", default="30d", show_default=True, metavar="AGE",
              help="Remove envs not used for AGE (e.g. 30d, 12h).")  # fmt: skip
@click.option("--keep", type=int, help="Always keep the N most recently used envs.")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@json_option
def gc_cmd(older_than: str, keep: int | None, dry_run: bool, as_json: bool) -> None:
    """Remove unused, untagged envs, then cache entries nothing needs; print what it frees.

    An env a running process uses, and a tagged env, are never removed.
    """
    report = collect(edge().store, older_than=_duration(older_than), keep=keep, dry_run=dry_run)
    render.gc(report, dry_run, as_json)


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match:
        raise AmberError(f"invalid duration {text!r}: e.g. 30d, 12h, 90m")
    factor = {"": 86400, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    return float(match.group(1)) * factor
