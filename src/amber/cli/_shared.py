"""What every command group shares: the common options and what a command needs to run."""

from __future__ import annotations

import os
from pathlib import Path

import click

from amber.api import Session
from amber.errors import AmberError
from amber.run._hotpath import spec_file
from amber.store.env import Env

__all__ = [
    "PathType",
    "edge",
    "spec_file",
    "file_option",
    "quiet_option",
    "python_option",
    "environment_option",
    "policy_option",
    "prefix_ref",
]

_FILE_HELP = (
    "environment.yml, requirements.txt, pyproject.toml or an amber lock "
    "(default: one in the current dir)"
)


class PathType(click.Path):
    """``click.Path`` that refuses a NUL in a path as a usage error (click's own ``os.stat``
    raises ``ValueError`` on one, a traceback)."""

    def convert(
        self,
        value: str | os.PathLike[str],
        param: click.Parameter | None,
        ctx: click.Context | None,
    ) -> str | bytes | os.PathLike[str]:
        if isinstance(value, str) and "\x00" in value:
            self.fail("a path cannot hold a NUL character", param, ctx)
        return super().convert(value, param, ctx)


file_option = click.option("-f", "--file", "file", type=PathType(path_type=Path), help=_FILE_HELP)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
environment_option = click.option(
    "--environment", metavar="NAME",
    help="The environment of a pixi.lock, pixi.toml or [tool.pixi] pyproject.toml "
         "(default: default).",
)  # fmt: skip
python_option = click.option(
    "--python", help="Python version of a PyPI-only env (default: the one running amber)."
)
remote_option = click.option(
    "--remote", "remote_url", envvar="AMBER_REMOTE", metavar="URL",
    help="The remote store: s3://, gs://, az://, file:// (default: $AMBER_REMOTE).",
)  # fmt: skip
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
policy_option = click.option(
    "--policy", "policy", metavar="PATH|URL",
    help="The project's amber-policy.toml (default: the one beside the spec), over the "
    "organisation's ($AMBER_POLICY, the settings' policy).",
)  # fmt: skip


def edge(quiet: bool = False, policy: str | None = None) -> Session:
    """The one place a command opens its session (settings, store, remote store, progress)."""
    session = Session.open(quiet=quiet)
    session.policy_ref = policy
    return session


def prefix_ref(env_ref: str | None, prefix: Path | None) -> str | None:
    """``--prefix DIR`` as the env reference it stands for (the env at that path)."""
    if prefix is None:
        return env_ref
    if env_ref:
        raise click.UsageError("give the env once: ENV (or --env) or --prefix DIR")
    if not Env.at(prefix):
        raise AmberError(
            f"{prefix} is not an env Amber made (no complete env there): "
            f"`amber install -f FILE --prefix {prefix}` builds one"
        )
    return os.path.abspath(prefix)
