"""``amber run``: a command inside an env (the plain forms take ``amber.cli._fast`` instead)."""

from __future__ import annotations

from pathlib import Path

import click

from amber.api.files import env_to_run
from amber.api.show import verify
from amber.cli._shared import (
    edge,
    environment_option,
    file_option,
    prefix_ref,
    python_option,
    quiet_option,
    spec_file,
)
from amber.cli.inspect import verify_or_fail
from amber.errors import EnvNotFoundError
from amber.run import exec_in_env

__all__ = ["run_cmd"]

_ATTEMPTS = 3  # an env removed under `amber run` this many times in a row: an error


@click.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@file_option
@click.option("--env", "env_ref", help="An existing env: full_id, a unique prefix of one, or name.")
@click.option("-p", "--prefix", type=click.Path(path_type=Path),
              help="The env at this path (`amber install --prefix`).")  # fmt: skip
@click.option("--verify", "verify_first", is_flag=True,
              help="Check the env's files first (see verify).")  # fmt: skip
@environment_option
@python_option
@quiet_option
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def run_cmd(
    file: Path | None,
    env_ref: str | None,
    prefix: Path | None,
    verify_first: bool,
    environment: str | None,
    python: str | None,
    quiet: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND inside an env (locking and hydrating it first if needed).

    \b
      amber run -f environment.yml -- python train.py
      amber run --env 3f2a9c -- pytest
      amber run --prefix ./env -- python -V
    """
    env_ref = prefix_ref(env_ref, prefix)
    session = edge(quiet)
    store = session.store
    given = file if env_ref else spec_file(file)
    for attempt in range(_ATTEMPTS):
        env = env_to_run(
            given, env_ref, store, session.progress, python=python, environment=environment
        )
        if verify_first:
            verify_or_fail(verify(env, store), as_json=False)
        store.touch_env(env.full_id)
        store.close()
        try:
            exec_in_env(env, list(command), store.in_use_lock(env.path, env.full_id))
        except EnvNotFoundError:
            # Removed (amber gc, env rm) between the lookup and the lock: build it again.
            if env_ref or attempt == _ATTEMPTS - 1:
                raise
