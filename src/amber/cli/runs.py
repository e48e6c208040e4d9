"""``amber runs`` and ``amber steps``: pipeline runs and the steps of a module."""

from __future__ import annotations

from pathlib import Path

import click

from amber.api.runs import list_runs, show_run
from amber.cli import render
from amber.cli._shared import PathType, edge, json_option, quiet_option
from amber.pipeline.describe import describe_steps

__all__ = ["runs_group", "steps_cmd"]


@click.group("runs")
def runs_group() -> None:
    """Pipeline runs: which step ran in which env."""


@runs_group.command("list")
@json_option
def runs_list(as_json: bool) -> None:
    """List pipeline runs, newest first."""
    render.runs(list_runs(session=edge()), as_json)


@runs_group.command("show")
@click.argument("run_ref", metavar="RUN")
@json_option
def runs_show(run_ref: str, as_json: bool) -> None:
    """Show a run's step calls and the env each ran in."""
    record, remote = show_run(run_ref, session=edge())
    render.run(record, as_json, remote=remote)


@click.command("steps")
@click.argument("module", type=PathType(exists=True, dir_okay=False, path_type=Path))
@click.option("--prepare", "do_prepare", is_flag=True, help="Resolve and hydrate every env.")
@json_option
@quiet_option
def steps_cmd(module: Path, do_prepare: bool, as_json: bool, quiet: bool) -> None:
    """List the steps of a Python module with their envs (without running them)."""
    rows = describe_steps(module, edge().store, prepare=do_prepare, quiet=quiet)
    render.steps(rows, module, as_json)
