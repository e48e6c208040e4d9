"""``amber config``: the settings Amber reads (``.condarc``, its own TOML file, ``$CONDA_*``)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from amber import condarc
from amber.cli import render
from amber.cli._shared import edge, json_option
from amber.errors import AmberError

__all__ = ["config_group"]


@click.group("config")
def config_group() -> None:
    """Show and change the channel settings: `.condarc` as conda reads it, Amber's settings
    file (TOML) and `$CONDA_*` variables.

    \b
      amber config list
      amber config get channel-alias
      amber config set channel-alias https://mirror.example.com/conda
      amber config set custom-channels.internal https://conda.example.com
      amber config set mirrors.https://conda.anaconda.org/conda-forge https://proxy/cf
    """


@config_group.command("list")
@json_option
def config_list(as_json: bool) -> None:
    """Every setting, its effective value and where it came from; then what uv's
    environment gets from them (`uv.HTTPS_PROXY`...)."""
    conda = edge(quiet=True).conda
    render.settings([*condarc.settings(conda), *condarc.uv_settings(conda, os.environ)], as_json)


@config_group.command("get")
@click.argument("key")
@json_option
def config_get(key: str, as_json: bool) -> None:
    """One setting's value and where it came from (`uv.NAME`: what uv gets)."""
    conda = edge(quiet=True).conda
    if key.startswith("uv."):
        rows = [r for r in condarc.uv_settings(conda, os.environ) if r.key == key]
        if not rows:
            raise AmberError(
                f"unknown setting {key!r}: uv's are "
                f"{', '.join('uv.' + name for name in condarc.UV_VARIABLES)}"
            )
        render.settings(rows, as_json)
        return
    render.settings([condarc.setting(conda, key)], as_json)


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--user", "where", flag_value="user", default=True,
              help="In the user's file, ~/.config/amber/config.toml (default).")  # fmt: skip
@click.option("--project", "where", flag_value="project",
              help="In the project's file, .amber/config.toml here (or a parent's).")  # fmt: skip
def config_set(key: str, value: str, where: str) -> None:
    """Set KEY to VALUE in Amber's settings file (a list: comma-separated; one entry of a
    table: KEY.NAME)."""
    path = _target(where)
    condarc.set_value(path, key, value)
    render.setting_written(path, key)


def _target(where: str) -> Path:
    if where == "project":
        return condarc.project_config_file(Path.cwd()) or Path.cwd() / ".amber" / "config.toml"
    path = condarc.user_config_file(os.environ)
    if path is None:
        raise AmberError("no home directory ($HOME) for the user's settings file: use --project")
    return path
