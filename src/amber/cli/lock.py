"""``amber lock``, ``amber add`` and the git merge driver for ``amber.lock``."""

from __future__ import annotations

from pathlib import Path

import click

from amber import api
from amber.api.files import LockRequest, lock_file
from amber.cli import render
from amber.cli._shared import (
    PathType,
    edge,
    environment_option,
    file_option,
    policy_option,
    python_option,
    quiet_option,
    spec_file,
)
from amber.errors import AmberError

__all__ = ["lock_cmd", "add_cmd", "merge_driver_cmd"]


@click.command("lock")
@file_option
@click.option(
    "-o", "--output", type=PathType(path_type=Path), help="Default: amber.lock beside the spec."
)
@click.option(
    "-p", "--platform", "platforms", multiple=True, metavar="PLATFORM",
    help="Target platform (repeatable): linux-64, linux-aarch64, osx-64, osx-arm64, win-64.",
)  # fmt: skip
@click.option("--as-of", "as_of", metavar="DATE", help="Ignore anything published after DATE.")
@click.option(
    "--update", "update", multiple=True, metavar="PKG",
    help="Let only PKG (repeatable) and what it forces move; keep every other pin.",
)  # fmt: skip
@click.option(
    "--check", is_flag=True, help="Exit 1 if the lock is stale or inconsistent (no solve)."
)
@click.option("--merge", is_flag=True, help="Re-create a lock that has git conflict markers.")
@click.option(
    "--category", "categories", multiple=True, metavar="NAME",
    help="conda-lock file: import main and category NAME (repeatable; default: main and dev).",
)  # fmt: skip
@click.option(
    "--channel-priority", "channel_priority",
    type=click.Choice(["strict", "flexible", "disabled"], case_sensitive=False),
    help="As conda's channel_priority (default: the settings', else flexible).",
)  # fmt: skip
@click.option(
    "-t", "--tag", "tags", multiple=True, metavar="NAME[:TAG]",
    help="Tag the lock's env so (repeatable): `amber run --env NAME` hydrates it on first use.",
)  # fmt: skip
@environment_option
@python_option
@policy_option
@quiet_option
def lock_cmd(
    file: Path | None,
    output: Path | None,
    platforms: tuple[str, ...],
    as_of: str | None,
    update: tuple[str, ...],
    check: bool,
    merge: bool,
    channel_priority: str | None,
    categories: tuple[str, ...],
    tags: tuple[str, ...],
    environment: str | None,
    python: str | None,
    policy: str | None,
    quiet: bool,
) -> None:
    """Resolve a spec into a lock file (or check, update or merge one).

    \b
      amber lock -f environment.yml -p linux-64 -p osx-arm64
      amber lock --update numpy            # only numpy (and what it forces) moves
      amber lock --check                   # CI: is amber.lock current?
      amber lock --merge                   # after a git conflict in amber.lock
      amber lock --tag mlp/metaflow/numpy_env:v1   # and name its env (team/project/env:tag)
    """
    if sum(map(bool, (check, merge, update))) > 1:
        raise AmberError("--check, --merge and --update go one at a time")
    if tags and check:
        raise AmberError("--tag names the env a lock resolves to, and --check resolves nothing")
    for ref in tags:
        api.parse_tag(ref)  # a bad tag is refused before the solve
    session = edge(quiet, policy)
    request = LockRequest(
        output,
        platforms,
        as_of,
        update,
        check,
        merge,
        python,
        channel_priority,
        categories,
        environment,
    )
    result = lock_file(spec_file(file), request, session.store, session.progress, session=session)
    tagged = api.tag_lock(result.lock, tags, session=session) if tags else []
    if not quiet:
        render.locked(result)
        for name, tag in tagged:
            render.tagged_lock(name, tag, result.lock.full_id)


@click.command("add")
@click.argument("requirement")
@file_option
@click.option("--pypi", is_flag=True, help="A PyPI requirement (default: a conda match spec).")
@python_option
@policy_option
@quiet_option
def add_cmd(
    requirement: str,
    file: Path | None,
    pypi: bool,
    python: str | None,
    policy: str | None,
    quiet: bool,
) -> None:
    """Add REQUIREMENT to the spec file and its lock, moving as little as possible.

    \b
      amber add "numpy>=1.26"
      amber add --pypi "rich>=13"
    """
    path = spec_file(file)
    previous, result, target = api.add(
        path, requirement, pypi=pypi, python=python, session=edge(quiet, policy)
    )
    if not quiet:
        render.added(requirement, path, target, previous, result)


@click.command("merge-driver", hidden=True)
@click.argument("base", type=PathType(exists=True, path_type=Path))
@click.argument("ours", type=PathType(exists=True, path_type=Path))
@click.argument("theirs", type=PathType(exists=True, path_type=Path))
def merge_driver_cmd(base: Path, ours: Path, theirs: Path) -> None:
    """git merge driver for amber.lock: `amber merge-driver %O %A %B`."""
    api.merge_driver(base, ours, theirs, edge().store)
