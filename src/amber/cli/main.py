"""The ``amber`` click group: every command group registered, and ``main``."""

from __future__ import annotations

import sys

import click

from amber.cli import envs, formats, inspect, kernel, lock, remote, run, runs, ship
from amber.errors import AmberError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="amber-env", prog_name="amber")
def cli() -> None:
    """Amber: reproducible conda + PyPI environments.

    Resolve a spec into a hashed lock, hydrate environments from a
    content-addressed store, reuse identical ones, and run commands in them.
    The store lives in $AMBER_HOME.
    """


for command in (
    lock.lock_cmd,
    lock.add_cmd,
    lock.merge_driver_cmd,
    envs.install_cmd,
    envs.env_group,
    run.run_cmd,
    remote.push_cmd,
    remote.pull_cmd,
    remote.remote_group,
    inspect.verify_cmd,
    inspect.diff_cmd,
    inspect.du_cmd,
    inspect.gc_cmd,
    ship.pack_cmd,
    ship.unpack_cmd,
    formats.export_cmd,
    formats.import_cmd,
    runs.runs_group,
    runs.steps_cmd,
    kernel.kernel_group,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``AmberError`` becomes one message and its exit code, never a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=argv, prog_name="amber", standalone_mode=False)
    except AmberError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
