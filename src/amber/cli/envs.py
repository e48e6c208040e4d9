"""``amber install`` and ``amber env``: hydrated envs, listed, shown, tagged and removed."""

from __future__ import annotations

from pathlib import Path

import click

from amber import api
from amber.api.files import install_file
from amber.api.show import list_envs, show_env
from amber.cli import render
from amber.cli._shared import (
    PathType,
    edge,
    environment_option,
    file_option,
    json_option,
    policy_option,
    python_option,
    quiet_option,
    spec_file,
)
from amber.errors import AmberError
from amber.store.refs import parse_prefix

__all__ = ["install_cmd", "env_group"]


@click.command("install")
@click.argument("source", required=False, type=PathType(path_type=Path), metavar="[FILE]")
@file_option
@environment_option
@python_option
@click.option("-p", "--prefix", type=click.Path(path_type=Path),
              help="Build the env at this path (as conda's -p), tracked by the store; "
                   "default: the file's prefix:, else the store.")  # fmt: skip
@policy_option
@quiet_option
def install_cmd(
    source: Path | None,
    file: Path | None,
    environment: str | None,
    python: str | None,
    prefix: Path | None,
    policy: str | None,
    quiet: bool,
) -> None:
    """Hydrate the env of a spec, a lock or a bundle (or reuse it); prints its path.

    \b
      amber install -f environment.yml
      amber install -f environment.yml --prefix ./env   # as `conda env create -p ./env`
      amber install bundle.tar        # made by `amber pack --packages`: no network needed
    """
    if source is not None and file is not None:
        raise click.UsageError("give the file once: FILE or -f FILE")
    session = edge(quiet, policy)
    render.paths(
        install_file(
            spec_file(source or file),
            session.store,
            session.progress,
            python=python,
            prefix=prefix,
            environment=environment,
            session=session,
        )
    )


@click.group("env")
def env_group() -> None:
    """List, show and remove hydrated envs."""


@env_group.command("list")
@json_option
def env_list(as_json: bool) -> None:
    """List the envs in the store, most recently used first."""
    render.env_list(list_envs(edge().store), as_json)


@env_group.command("show")
@click.argument("env_ref", metavar="ENV")
@json_option
def env_show(env_ref: str, as_json: bool) -> None:
    """Show an env: its spec, packages and activation."""
    render.env_show(show_env(env_ref, edge().store), as_json)


@env_group.command("rm")
@click.argument("env_refs", metavar="ENV...", nargs=-1, required=True)
def env_rm(env_refs: tuple[str, ...]) -> None:
    """Remove envs (their locks stay in the store, so they can be hydrated again)."""
    store = edge().store
    for ref in env_refs:
        env = api.find_env(ref, store)
        api.remove_env(env, store)
        render.removed_env(env)


@env_group.command("tag")
@click.argument("env_ref", metavar="ENV")
@click.argument("tag_ref", metavar="NAME[:TAG]")
def env_tag(env_ref: str, tag_ref: str) -> None:
    """Name an env: NAME:TAG (TAG defaults to latest). Only mutable tags ever move."""
    api.parse_tag(tag_ref)  # a bad tag is the first thing to say, whatever the env
    store = edge().store
    env = api.find_env(env_ref, store)
    name, tag = api.tag_env(env, tag_ref, store)
    render.tagged(name, tag, env)


@env_group.command("tags")
@click.argument("name", required=False, metavar="[NAME | PREFIX/]")
@json_option
def env_tags(name: str | None, as_json: bool) -> None:
    """List tags: all, NAME's, or with PREFIX/ those of every name under it.

    \b
      amber env tags
      amber env tags mlp/metaflow/          # every name under mlp/metaflow/
    """
    store = edge().store
    rows = store.tag_records(None if name is None else parse_prefix(name))
    sizes = {e.full_id: e.size for e in store.envs() if e.size is not None}
    render.env_tags(rows, sizes, as_json)


@env_group.command("untag")
@click.argument("tag_ref", metavar="NAME[:TAG]")
def env_untag(tag_ref: str) -> None:
    """Remove a local tag (the env stays)."""
    name, tag = api.parse_tag(tag_ref)
    if not edge().store.untag(name, tag):
        raise AmberError(f"no tag {name}:{tag}: `amber env tags` lists them")
    render.untagged(name, tag)


@env_group.command("get")
@click.option("--run", "run_ref", required=True, help="A run id (or a unique prefix of one).")
@click.option("--step", "step_name", required=True, help="The step's name.")
@quiet_option
def env_get(run_ref: str, step_name: str, quiet: bool) -> None:
    """Re-hydrate the exact env a past step ran in; prints its path."""
    render.paths([api.env_of_step(run_ref, step_name, session=edge(quiet))])
