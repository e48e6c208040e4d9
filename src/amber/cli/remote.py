"""``amber push``, ``amber pull`` and ``amber remote``: the shared object store."""

from __future__ import annotations

import click

from amber import api
from amber.api.share import push
from amber.cli import render
from amber.cli._shared import edge, json_option, quiet_option, remote_option
from amber.remote import Remote

__all__ = ["push_cmd", "pull_cmd", "remote_group"]


@click.command("push")
@click.argument("ref", metavar="ENV_OR_TAG")
@click.option("-t", "--tag", "tags", multiple=True, metavar="NAME[:TAG]", help="Also tag it so.")
@remote_option
@click.option("--verify", is_flag=True, help="Re-hash what the remote already has.")
@quiet_option
def push_cmd(
    ref: str, tags: tuple[str, ...], remote_url: str | None, verify: bool, quiet: bool
) -> None:
    """Upload an env's lock and packages to the remote store, then its tags.

    \b
      amber push analysis:v1 --remote s3://team-bucket/amber
      amber push 3f2a9c1d --tag analysis:v2
    """
    session = edge(quiet)
    done = push(ref, tags, remote_url, session.store, session.progress, verify=verify)
    if not quiet:
        render.pushed(done)


@click.command("pull")
@click.argument("ref", metavar="NAME[:TAG]")
@remote_option
@quiet_option
def pull_cmd(ref: str, remote_url: str | None, quiet: bool) -> None:
    """Fetch a tagged env's lock and packages from the remote store and hydrate it."""
    render.paths([api.pull(ref, url=remote_url, session=edge(quiet))])


@click.group("remote")
def remote_group() -> None:
    """The remote store's tags and garbage collection."""


@remote_group.command("ls")
@click.argument("name", required=False, metavar="[NAME | PREFIX/]")
@remote_option
@json_option
def remote_ls(name: str | None, remote_url: str | None, as_json: bool) -> None:
    """Tags in the remote store: all, NAME's, or with PREFIX/ those of every name under it.

    \b
      amber remote ls team/                 # every env name under team/
      amber remote ls team/project/env      # the tags of that one name
    """
    render.remote_tags(Remote.open(remote_url).ls(name), as_json)


@remote_group.command("gc")
@remote_option
@click.option("--keep-tagged/--no-keep-tagged", default=True, show_default=True,
              help="Keep everything a tag names.")  # fmt: skip
@click.option("--keep-runs-days", default=30, show_default=True, type=click.IntRange(min=0),
              help="Keep envs a run used this recently.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
def remote_gc(
    remote_url: str | None, keep_tagged: bool, keep_runs_days: int, dry_run: bool
) -> None:
    """Delete locks and packages that no tag and no recent run references."""
    result = Remote.open(remote_url).gc(
        keep_tagged=keep_tagged, keep_runs_days=keep_runs_days, dry_run=dry_run
    )
    render.remote_gc(result)
