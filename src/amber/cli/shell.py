"""``amber shell`` (an interactive shell in an env) and ``amber shell-hook`` (text to eval)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from amber.api.files import env_to_run
from amber.cli import render
from amber.cli._shared import edge, file_option, prefix_ref, python_option, spec_file
from amber.run import exec_in_env
from amber.run.shell import SHELLS, shell_hook
from amber.store.env import Env

__all__ = ["shell_cmd", "shell_hook_cmd"]


def _env(env_ref: str | None, file: Path | None, python: str | None) -> tuple[Env, Path]:
    session = edge(quiet=True)
    given = file if env_ref else spec_file(file)
    env = env_to_run(given, env_ref, session.store, session.progress, python=python)
    session.store.touch_env(env.full_id)
    lock_path = session.store.in_use_lock(env.path, env.full_id)
    session.store.close()
    return env, lock_path


@click.command("shell")
@click.argument("env_ref", required=False, metavar="[ENV]")
@file_option
@python_option
@click.option("-p", "--prefix", type=click.Path(path_type=Path),
              help="The env at this path (`amber install --prefix`).")  # fmt: skip
def shell_cmd(
    env_ref: str | None, file: Path | None, python: str | None, prefix: Path | None
) -> None:
    """Start an interactive shell ($SHELL, else bash) inside an env; its exit code is ours.

    \b
      amber shell                 # the env of the spec file here
      amber shell 3f2a9c          # an existing env: full_id, prefix or name
      amber shell -f environment.yml
      amber shell --prefix ./env
    """
    env, lock_path = _env(prefix_ref(env_ref, prefix), file, python)
    exec_in_env(env, [os.environ.get("SHELL") or "bash"], lock_path)


@click.command("shell-hook")
@click.argument("env_ref", required=False, metavar="[ENV]")
@file_option
@python_option
@click.option("--shell", "shell", type=click.Choice(SHELLS), default="bash", show_default=True,
              help="The shell that evaluates the text.")  # fmt: skip
def shell_hook_cmd(env_ref: str | None, file: Path | None, python: str | None, shell: str) -> None:
    """Print the text that activates an env in the current shell.

    \b
      eval "$(amber shell-hook -f environment.yml)"
      amber shell-hook --shell fish | source
      amber shell-hook --shell powershell | Out-String | Invoke-Expression
    """
    env, _ = _env(env_ref, file, python)
    render.shell_hook(shell_hook(env, shell, os.environ))
